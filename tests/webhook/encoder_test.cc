#include "webhook/encoder.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "signing/signer.hpp"
#include "webhook/cef.hpp"
#include "webhook/gzip.hpp"

namespace audit::webhook {
namespace {

EventBatch sampleBatch() {
  EventBatch batch;
  batch.add(R"({"rt":1700000000000,"src":"10.0.0.1","name":"A"})", 1700000000000);
  batch.add(R"({"rt":1700000000001,"src":"10.0.0.2","name":"B","sig":"kept"})", 1700000000001);
  batch.add(R"({})", 1700000000002);
  return batch;
}

std::vector<std::string> lines(const std::string& body) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = body.find('\n', start);
    out.push_back(body.substr(start, nl - start));
    if (nl == std::string::npos) return out;
    start = nl + 1;
  }
}

signing::SignerPtr testSigner() {
  return signing::Signer::fromRawPrivateKey(std::string(32, '\x42')).value();
}

TEST(Encoder, JsonPlainIsTheBatchItself) {
  EventBatch batch = sampleBatch();
  EncodedBody body = encodeBatch(batch, {Format::Json, Compression::None});
  EXPECT_EQ(body.bytes, batch.joined());
  EXPECT_FALSE(body.gzip);
  EXPECT_EQ(body.events, 3u);
  EXPECT_EQ(body.plain_bytes, batch.joined().size());
}

TEST(Encoder, GzipBodyInflatesToThePlainBody) {
  EventBatch batch = sampleBatch();
  EncodedBody body = encodeBatch(batch, {Format::Json, Compression::Gzip});
  EXPECT_TRUE(body.gzip);
  EXPECT_EQ(body.plain_bytes, batch.joined().size());
  auto plain = gzipDecompress(body.bytes);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, batch.joined());
}

TEST(Encoder, CpsWrapsEachEvent) {
  EventBatch batch = sampleBatch();
  EncodedBody body = encodeBatch(batch, {Format::Cps, Compression::None});
  auto got = lines(body.bytes);
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], R"({"event":)" + std::string(batch.event(i)) + "}");
    EXPECT_TRUE(boost::json::parse(got[i]).as_object().at("event").is_object());
  }
  EXPECT_EQ(body.plain_bytes, body.bytes.size());
}

TEST(Encoder, CefRendersEachEvent) {
  EventBatch batch = sampleBatch();
  EncodedBody body = encodeBatch(batch, {Format::Cef, Compression::None});
  auto got = lines(body.bytes);
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], renderCef(batch.event(i), SigRendering::AsOriginSig));
  }
  // An event's own sig keeps its provenance as origin_sig, never as a sig of the line.
  EXPECT_TRUE(got[1].ends_with(" origin_sig=kept")) << got[1];
}

TEST(Encoder, SignedJsonKeepsExistingSignatures) {
  auto signer = testSigner();
  ASSERT_TRUE(signer);
  EventBatch batch = sampleBatch();
  EncodeOptions options{Format::Json, Compression::Gzip, 1, signer.get()};
  EncodedBody body = encodeBatch(batch, options);
  auto plain = gzipDecompress(body.bytes);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(body.plain_bytes, plain->size());
  auto got = lines(*plain);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(signing::verifyJsonLine(got[0], signer->publicKey(), nullptr));
  EXPECT_EQ(got[1], batch.event(1));  // had a sig: sent as stored
  EXPECT_TRUE(signing::verifyJsonLine(got[2], signer->publicKey(), nullptr));
  EXPECT_TRUE(got[2].starts_with(R"({"sig":")"));
}

TEST(Encoder, SignedCpsSignsTheInnerEvent) {
  auto signer = testSigner();
  EventBatch batch = sampleBatch();
  EncodeOptions options{Format::Cps, Compression::None, 1, signer.get()};
  auto got = lines(encodeBatch(batch, options).bytes);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], R"({"event":)" + signer->signJsonEvent(batch.event(0)) + "}");
  std::string reason;
  EXPECT_TRUE(signing::verifyJsonLine(got[0], signer->publicKey(), &reason)) << reason;
}

TEST(Encoder, SignedCefCarriesExactlyOneVerifiableSig) {
  auto signer = testSigner();
  EventBatch batch = sampleBatch();
  EncodeOptions options{Format::Cef, Compression::None, 1, signer.get()};
  auto got = lines(encodeBatch(batch, options).bytes);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& line : got) {
    std::string reason;
    EXPECT_TRUE(signing::verifyCefLine(line, signer->publicKey(), &reason))
        << reason << ": " << line;
    EXPECT_EQ(line.find(" sig="), line.rfind(" sig=")) << line;
  }
  EXPECT_EQ(got[1].find(" sig=kept"), std::string::npos);
  EXPECT_NE(got[1].find(" origin_sig=kept sig="), std::string::npos) << got[1];
}

TEST(Encoder, EmptyBatch) {
  EventBatch batch;
  EncodedBody plain = encodeBatch(batch, {Format::Json, Compression::None});
  EXPECT_TRUE(plain.bytes.empty());
  EXPECT_EQ(plain.events, 0u);
  EncodedBody z = encodeBatch(batch, {Format::Cef, Compression::Gzip});
  EXPECT_EQ(gzipDecompress(z.bytes), std::string());
}

}  // namespace
}  // namespace audit::webhook
