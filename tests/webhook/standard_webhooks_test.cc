#include "webhook/standard_webhooks.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "signing/ed25519.hpp"
#include "sink/receiver.hpp"
#include "tests/webhook/run_awaitable.hpp"
#include "webhook/encoder.hpp"
#include "webhook/http_client.hpp"

namespace audit::webhook {
namespace {

using namespace std::chrono_literals;

// The Standard Webhooks specification's published example.
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTimestamp = 1614265330;
constexpr std::string_view kPayload = R"({"test": 2432232314})";
constexpr std::string_view kExpected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(StandardWebhooks, MatchesThePublishedTestVector) {
  auto key = standardWebhooksKey(kSecret);
  ASSERT_TRUE(key);
  EXPECT_EQ(standardWebhooksV1(*key, kMsgId, kTimestamp, kPayload), kExpected);
  StandardWebhooksSigner signer(*key);
  auto h = signer.sign(kMsgId, kTimestamp, kPayload);
  EXPECT_EQ(h.id, kMsgId);
  EXPECT_EQ(h.timestamp, "1614265330");
  EXPECT_EQ(h.signature, kExpected);
}

TEST(StandardWebhooks, AnyChangeOfIdTimestampOrBodyChangesTheSignature) {
  auto key = *standardWebhooksKey(kSecret);
  EXPECT_NE(standardWebhooksV1(key, "msg_other", kTimestamp, kPayload), kExpected);
  EXPECT_NE(standardWebhooksV1(key, kMsgId, kTimestamp + 1, kPayload), kExpected);
  EXPECT_NE(standardWebhooksV1(key, kMsgId, kTimestamp, R"({"test": 2432232315})"), kExpected);
}

TEST(StandardWebhooks, SecretsThatDoNotDecodeAreRefused) {
  EXPECT_FALSE(standardWebhooksKey("whsec_"));
  EXPECT_FALSE(standardWebhooksKey("whsec_abc"));                        // not a multiple of 4
  EXPECT_FALSE(standardWebhooksKey("whsec_ab!d"));                       // not base64
  EXPECT_TRUE(standardWebhooksKey("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));  // bare base64
  EXPECT_EQ(standardWebhooksKey("whsec_YWI=")->size(), 2u);
}

TEST(StandardWebhooks, Base64RoundTrips) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = base64Decode(base64Encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
}

TEST(StandardWebhooks, AsymmetricSignaturesVerifyWithThePublicKey) {
  auto signer = signing::Signer::fromRawPrivateKey(std::string(32, '\x07')).value();
  std::string header = standardWebhooksV1a(*signer, kMsgId, kTimestamp, kPayload);
  ASSERT_EQ(header.rfind("v1a,", 0), 0u);
  auto raw = base64Decode(header.substr(4));
  ASSERT_TRUE(raw);
  const std::string content = std::string(kMsgId) + ".1614265330." + std::string(kPayload);
  EXPECT_TRUE(signing::ed25519Verify(signer->publicKey(), content, *raw));
  EXPECT_FALSE(signing::ed25519Verify(signer->publicKey(), content + " ", *raw));
}

// The client signs the bytes it sends: the gzip body, not the events inside it.
TEST(StandardWebhooks, TheClientSignsTheCompressedBytesWithTheIdempotencyKeyAsId) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  ClientOptions settings;
  settings.endpoint = receiver.url();
  settings.timeout = 5s;
  settings.standard_webhooks = StandardWebhooksOptions{std::string(kSecret), false};
  boost::asio::io_context io;
  auto created = WebhookClient::create(io.get_executor(), settings);
  ASSERT_TRUE(created) << created.message();
  WebhookClientPtr client = std::move(*created);

  EventBatch batch;
  batch.add(R"({"rt":1,"name":"a"})", 1);
  batch.add(R"({"rt":2,"name":"b"})", 2);
  EncodedBody body = encodeBatch(batch, {});  // JSON, gzip
  ASSERT_TRUE(body.gzip);
  for (int i = 0; i < 2; ++i) {
    auto r = testing::runAwaitable(io, client->post(body, "job-1-batch-7"));
    ASSERT_FALSE(r.error) << r.step << ": " << r.error.message();
  }
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  auto key = *standardWebhooksKey(kSecret);
  for (const auto& req : requests) {
    EXPECT_EQ(req.headers.at("webhook-id"), "job-1-batch-7");  // the same on a resend
    EXPECT_EQ(req.headers.at("idempotency-key"), "job-1-batch-7");
    const std::int64_t ts = std::stoll(req.headers.at("webhook-timestamp"));
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    EXPECT_LE(std::abs(now - ts), 60);
    EXPECT_EQ(req.headers.at("webhook-signature"),
              standardWebhooksV1(key, "job-1-batch-7", ts, body.bytes));
  }
}

TEST(StandardWebhooks, AsymmetricWithoutASignerIsRefused) {
  ClientOptions settings;
  settings.endpoint = "http://127.0.0.1:9/";
  settings.standard_webhooks = StandardWebhooksOptions{std::string(kSecret), true};
  boost::asio::io_context io;
  auto client = WebhookClient::create(io.get_executor(), settings);
  ASSERT_FALSE(client);
  EXPECT_NE(client.message().find("signing.key_file"), std::string::npos) << client.message();
}

}  // namespace
}  // namespace audit::webhook
