#include "webhook/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>

#include "sink/receiver.hpp"
#include "tests/fakes/temp_dir.hpp"
#include "tests/fakes/test_certs.hpp"
#include "tests/webhook/run_awaitable.hpp"
#include "webhook/encoder.hpp"

namespace audit::webhook {
namespace {

using namespace std::chrono_literals;
using sink::Receiver;
using sink::ReceiverOptions;
using sink::Reply;
using testing::runAwaitable;

EventBatch threeEvents() {
  EventBatch batch;
  batch.add(R"({"rt":1,"name":"a"})", 1);
  batch.add(R"({"rt":2,"name":"b"})", 2);
  batch.add(R"({"rt":3,"name":"c"})", 3);
  return batch;
}

config::WebhookSettings settingsFor(const std::string& url) {
  config::WebhookSettings s;
  s.endpoint = url;
  s.timeout = 5s;
  return s;
}

class HttpClientTest : public ::testing::Test {
 protected:
  WebhookClientPtr makeClient(const config::WebhookSettings& settings) {
    std::string error;
    auto client = WebhookClient::create(io_.get_executor(), settings, &error);
    EXPECT_TRUE(client) << error;
    return client;
  }

  AttemptResult post(WebhookClient& client, const EncodedBody& body, std::string key = "k-1") {
    return runAwaitable(io_, client.post(body, std::move(key)));
  }

  boost::asio::io_context io_;
  EncodedBody body_ = encodeBatch(threeEvents(), {});  // JSON, gzip
};

TEST_F(HttpClientTest, PostsTheBatchWithItsHeaders) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto settings = settingsFor(receiver.url("/audit?src=replay"));
  settings.authorization = "Bearer s3cret";
  settings.headers = {{"X-Tenant", "acme"}};
  auto client = makeClient(settings);

  AttemptResult r = post(*client, body_, "batch-42");
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 200);

  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/audit?src=replay");
  EXPECT_EQ(req.headers.at("user-agent"), userAgent());
  EXPECT_EQ(userAgent(), std::string("audit-replay/") + AUDIT_REPLAY_VERSION);
  EXPECT_EQ(req.headers.at("content-type"), "text/plain");
  EXPECT_EQ(req.headers.at("content-encoding"), "gzip");
  EXPECT_EQ(req.headers.at("authorization"), "Bearer s3cret");
  EXPECT_EQ(req.headers.at("idempotency-key"), "batch-42");
  EXPECT_EQ(req.headers.at("x-tenant"), "acme");
  EXPECT_EQ(req.wire_bytes, body_.bytes.size());
  EXPECT_EQ(req.body, threeEvents().joined());  // the receiver gunzipped it
  EXPECT_EQ(req.line_count, 3u);
}

TEST_F(HttpClientTest, SendsAPlainBodyWithoutContentEncoding) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EncodedBody plain =
      encodeBatch(threeEvents(), {config::EventFormat::Cps, config::Compression::None});
  AttemptResult r = post(*client, plain);
  EXPECT_EQ(r.status, 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.count("content-encoding"), 0u);
  EXPECT_EQ(requests[0].body, plain.bytes);
}

TEST_F(HttpClientTest, ReusesOneConnectionForSeveralPosts) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().requests, 5u);
  EXPECT_EQ(receiver.stats().connections, 1u);
}

TEST_F(HttpClientTest, ReconnectsWhenTheServerClosedTheIdleConnection) {
  auto first = std::make_unique<Receiver>(ReceiverOptions{});
  std::uint16_t port = first->start();
  auto client = makeClient(settingsFor(first->url()));
  EXPECT_EQ(post(*client, body_).status, 200);

  // The server goes away (closing the kept-alive connection) and comes back on its port.
  first.reset();
  ReceiverOptions same_port;
  same_port.port = port;
  Receiver second(same_port);
  second.start();

  AttemptResult r = post(*client, body_);
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(second.stats().requests, 1u);
  EXPECT_EQ(second.stats().connections, 1u);
}

TEST_F(HttpClientTest, ResendsOnceWhenAReusedConnectionDropsBeforeAnswering) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 1) reply.kind = Reply::Kind::CloseWithoutAnswer;
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EXPECT_EQ(post(*client, body_).status, 200);
  AttemptResult r = post(*client, body_);  // dropped, then resent on a new connection
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(receiver.stats().requests, 3u);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

TEST_F(HttpClientTest, DoesNotResendOnAFreshConnection) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::CloseWithoutAnswer;
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "read");
  EXPECT_EQ(receiver.stats().requests, 1u);
}

TEST_F(HttpClientTest, OpensANewConnectionAfterConnectionClose) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.headers = {{"Connection", "close"}};
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

TEST_F(HttpClientTest, ReportsStatusBodyAndRetryAfter) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 0) {
      reply.status = 429;
      reply.headers = {{"Retry-After", "1"}};
    } else {
      reply.status = 400;
      reply.body = "field rt is missing";
    }
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, 1000ms);
  r = post(*client, body_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_excerpt, "field rt is missing");
  EXPECT_FALSE(r.retry_after);
}

TEST_F(HttpClientTest, CutsAnOversizedAnswerAndReconnects) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 0) {
      reply.status = 503;
      reply.body = std::string(1 << 20, 'x');
    }
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_FALSE(r.error) << r.step << ": " << r.error.message();
  EXPECT_EQ(r.status, 503);
  EXPECT_LE(r.body_excerpt.size(), 512u);
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

TEST_F(HttpClientTest, CloseMidResponseIsARetryableReadError) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::CloseMidResponse;
    return reply;
  });
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "read");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(receiver.stats().requests, 1u);  // a started answer is never resent silently

  FakeClock clock;
  RetryPolicy policy(config::RetrySettings{}, clock);
  EXPECT_EQ(policy.decide(r).kind, Decision::Kind::Retry);
}

TEST_F(HttpClientTest, TimesOutWhenTheServerNeverAnswers) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::Hang;
    return reply;
  });
  receiver.start();
  auto settings = settingsFor(receiver.url());
  settings.timeout = 200ms;
  auto client = makeClient(settings);
  auto started = std::chrono::steady_clock::now();
  AttemptResult r = post(*client, body_);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.error, boost::beast::error::timeout) << r.error.message();
  EXPECT_EQ(r.step, "read");
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
}

TEST_F(HttpClientTest, ConnectionRefusedNamesTheStep) {
  std::string url;
  {
    Receiver gone(ReceiverOptions{});
    gone.start();
    url = gone.url();
  }
  auto client = makeClient(settingsFor(url));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "connect");
}

TEST_F(HttpClientTest, SpeaksIpv6) {
  ReceiverOptions options;
  options.host = "::1";
  Receiver receiver(options);
  try {
    receiver.start();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  auto client = makeClient(settingsFor(receiver.url()));
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
  EXPECT_EQ(receiver.requests().at(0).headers.at("host"),
            "[::1]:" + std::to_string(receiver.port()));
}

TEST_F(HttpClientTest, CloseDropsTheConnection) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto client = makeClient(settingsFor(receiver.url()));
  EXPECT_EQ(post(*client, body_).status, 200);
  client->close();
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver.stats().connections, 2u);
}

// ---- create() --------------------------------------------------------------------------

TEST(WebhookClientCreate, RefusesUnusableSettings) {
  boost::asio::io_context io;
  auto refused = [&](config::WebhookSettings s) {
    std::string error;
    EXPECT_FALSE(WebhookClient::create(io.get_executor(), s, &error)) << s.endpoint;
    return error;
  };
  EXPECT_NE(refused(settingsFor("ftp://example.com/x")).find("http or https"), std::string::npos);
  EXPECT_NE(refused(settingsFor("example.com/audit")).find("webhook.endpoint"), std::string::npos);
  EXPECT_NE(refused(settingsFor("http:///audit")).find("no host"), std::string::npos);

  std::string error = refused(settingsFor("https://user:hunter2@example.com/"));
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;

  auto bad_ca = settingsFor("https://example.com/");
  bad_ca.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(refused(bad_ca).find("/nonexistent/ca.pem"), std::string::npos);

  auto bad_auth = settingsFor("http://example.com/");
  bad_auth.authorization = "Bearer abc\r\nX-Evil: 1";
  error = refused(bad_auth);
  EXPECT_NE(error.find("webhook.authorization"), std::string::npos);
  EXPECT_EQ(error.find("abc"), std::string::npos) << "the secret leaked: " << error;

  auto bad_header = settingsFor("http://example.com/");
  bad_header.headers = {{"X-A", "1\n2"}};
  EXPECT_NE(refused(bad_header).find("X-A"), std::string::npos);
  bad_header.headers = {{"Content-Length", "5"}};
  EXPECT_NE(refused(bad_header).find("Content-Length"), std::string::npos);
}

TEST(WebhookClientCreate, AcceptsDefaultPortsAndQueries) {
  boost::asio::io_context io;
  std::string error;
  EXPECT_TRUE(WebhookClient::create(io.get_executor(), settingsFor("http://example.com"), &error))
      << error;
  EXPECT_TRUE(
      WebhookClient::create(io.get_executor(), settingsFor("https://example.com/a?b=c"), &error))
      << error;
  EXPECT_TRUE(WebhookClient::create(io.get_executor(), settingsFor("http://[::1]:8080/"), &error))
      << error;
}

// ---- TLS -------------------------------------------------------------------------------

class HttpsClientTest : public HttpClientTest {
 protected:
  void SetUp() override {
    pki_ = audit::testing::makeTestPki(dir_.path());
    ReceiverOptions options;
    options.tls = sink::TlsFiles{pki_.cert_chain_file.string(), pki_.key_file.string()};
    receiver_ = std::make_unique<Receiver>(options);
    receiver_->start();
  }

  audit::testing::TempDir dir_{"webhook-tls"};
  audit::testing::TestPki pki_;
  std::unique_ptr<Receiver> receiver_;
};

TEST_F(HttpsClientTest, RefusesAServerTheSystemStoreDoesNotTrust) {
  auto client = makeClient(settingsFor(receiver_->url()));
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "handshake");
  EXPECT_EQ(receiver_->stats().requests, 0u);
}

TEST_F(HttpsClientTest, DeliversWithTheCaFile) {
  auto settings = settingsFor(receiver_->url());
  settings.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  for (int i = 0; i < 3; ++i) {
    AttemptResult r = post(*client, body_);
    EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
  }
  EXPECT_EQ(receiver_->requests().at(0).body, threeEvents().joined());
  EXPECT_EQ(receiver_->stats().connections, 1u);
}

TEST_F(HttpsClientTest, ChecksTheHostNameWithSni) {
  auto settings = settingsFor("https://localhost:" + std::to_string(receiver_->port()) + "/audit");
  settings.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
}

TEST_F(HttpsClientTest, RefusesACertificateForAnotherHost) {
  // The certificate names localhost and 127.0.0.1; 127.0.0.2 reaches a server with it.
  ReceiverOptions options;
  options.host = "127.0.0.2";
  options.tls = sink::TlsFiles{pki_.cert_chain_file.string(), pki_.key_file.string()};
  Receiver other(options);
  try {
    other.start();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot listen on 127.0.0.2: " << e.what();
  }
  auto settings = settingsFor(other.url());
  settings.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.step, "handshake");
}

TEST_F(HttpsClientTest, SkipsVerificationWhenAsked) {
  auto settings = settingsFor(receiver_->url());
  settings.skip_ssl_verification = true;
  auto client = makeClient(settings);
  AttemptResult r = post(*client, body_);
  EXPECT_EQ(r.status, 200) << r.step << ": " << r.error.message();
}

TEST_F(HttpsClientTest, ClosesGracefullyAndReconnects) {
  auto settings = settingsFor(receiver_->url());
  settings.ca_file = pki_.ca_file;
  auto client = makeClient(settings);
  EXPECT_EQ(post(*client, body_).status, 200);
  client->close();
  EXPECT_EQ(post(*client, body_).status, 200);
  EXPECT_EQ(receiver_->stats().connections, 2u);
}

}  // namespace
}  // namespace audit::webhook
