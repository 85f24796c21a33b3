// End-to-end: signed deliveries (docs/formats.md) verified the way a receiver would, with the JWKS.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>

#include "signing/signer.hpp"
#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/raw_http.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

TEST(SigningE2E, DeliveredEventsVerifyWithTheJwksAndAFlippedByteFails) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  DaemonFixture d;
  std::string out, err;
  auto key = d.dir() / "signing.pem";
  ASSERT_NO_THROW(writeEd25519Key(key).value());
  d.writeConfig("signing: {key_file: signing.pem}\nregions:\n  us:\n    webhook: {endpoint: \"" +
                receiver.url() + "\"}\n");
  ASSERT_TRUE(d.start()) << d.log();

  const std::int64_t start = nowMs() - 600'000;
  std::vector<std::string> events;
  for (int i = 0; i < 120; ++i) events.push_back(makeEvent(start + i, "s" + std::to_string(i)));
  // An event that already carries a signature is sent unchanged.
  std::string presigned = "{\"rt\":" + std::to_string(start + 500) + ",\"sig\":\"kept-as-is\"}";
  events.push_back(presigned);
  ASSERT_TRUE(d.ingest("us", events).at("ok").as_bool());
  d.call({{"op", "put_job"},
          {"region", "us"},
          {"start_at", isoMillis(start)},
          {"end_at", isoMillis(start + 1000)}});
  auto job = d.waitJobEnded("us");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->at("status").as_string(), "completed");

  auto jwks = d.call({{"op", "jwks"}});
  ASSERT_TRUE(jwks);
  const auto& keys = jwks->at("jwks").at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  const auto& jwk = keys[0].as_object();
  EXPECT_EQ(jwk.at("kty").as_string(), "OKP");
  EXPECT_EQ(jwk.at("crv").as_string(), "Ed25519");
  EXPECT_EQ(jwk.at("alg").as_string(), "EdDSA");
  EXPECT_FALSE(jwk.at("kid").as_string().empty());
  auto public_key = signing::base64UrlDecode(jwk.at("x").as_string());
  ASSERT_TRUE(public_key);

  auto received = receiver.acceptedEvents();
  ASSERT_EQ(received.size(), events.size());
  std::ofstream delivered(d.dir() / "delivered.ndjson");
  for (const auto& line : received) {
    delivered << line << "\n";
    if (line == presigned) continue;
    std::string reason;
    EXPECT_TRUE(signing::verifyJsonLine(line, *public_key, &reason)) << line << ": " << reason;
    std::string tampered = line;
    tampered[tampered.find("\"name\":\"") + 8] ^= 1;
    EXPECT_FALSE(signing::verifyJsonLine(tampered, *public_key, &reason)) << tampered;
  }
  delivered.close();
  EXPECT_NE(std::find(received.begin(), received.end(), presigned), received.end());

  // audit-replayctl verify over the delivered file, as an operator would run it.
  std::ofstream(d.dir() / "jwks.json") << json::serialize(jwks->at("jwks"));
  auto ctl = binaryPath("ctl/audit-replayctl").string();
  std::ofstream(d.dir() / "signed-only.ndjson") << [&] {
    std::string text;
    for (const auto& line : received) {
      if (line != presigned) text += line + "\n";
    }
    return text;
  }();
  auto ok = runProgram({ctl, "verify", "--jwks", (d.dir() / "jwks.json").string(),
                        (d.dir() / "signed-only.ndjson").string()},
                       &out, &err);
  EXPECT_EQ(ok.exit_code, 0) << out << err;
  std::string one_bad = received.front();
  one_bad[one_bad.find("\"name\":\"") + 8] ^= 1;
  std::ofstream(d.dir() / "bad.ndjson") << received[1] << "\n" << one_bad << "\n";
  auto bad = runProgram({ctl, "verify", "--jwks", (d.dir() / "jwks.json").string(),
                         (d.dir() / "bad.ndjson").string()},
                        &out, &err);
  EXPECT_EQ(bad.exit_code, 1) << out << err;
  EXPECT_NE((out + err).find("2"), std::string::npos);  // names the bad line
  EXPECT_EQ(d.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e

namespace audit::e2e {
namespace {

// An event signed by someone else (Konnect, say) keeps its provenance: json and cps send it
// unchanged, cef keeps its sig as origin_sig and signs the line with our key. With the
// producer's keys in signing.extra_jwks_file, every delivered line of the three formats
// verifies against the one JWKS the daemon serves.
TEST(SigningE2E, ForeignSigVerifiesAgainstTheServedJwksInEveryFormat) {
  sink::Receiver json_hook(sink::ReceiverOptions{}), cps_hook(sink::ReceiverOptions{}),
      cef_hook(sink::ReceiverOptions{});
  json_hook.start();
  cps_hook.start();
  cef_hook.start();
  DaemonFixture d;
  std::string out, err;
  ASSERT_NO_THROW(writeEd25519Key(d.dir() / "signing.pem").value());
  const auto foreign = signing::Signer::fromRawPrivateKey(std::string(32, '\x2a')).value();
  std::ofstream(d.dir() / "konnect-jwks.json") << "{\"keys\":[" << foreign->jwkJson() << "]}";
  const std::uint16_t port = freePort();
  std::ofstream(d.dir() / "tokens") << "TOKEN-sig\n";
  d.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port) +
                "\", tokens_file: tokens}\n"
                "signing: {key_file: signing.pem, extra_jwks_file: konnect-jwks.json}\n"
                "regions:\n"
                "  j:\n    webhook: {endpoint: \"" +
                json_hook.url() +
                "\", log_format: json}\n"
                "  p:\n    webhook: {endpoint: \"" +
                cps_hook.url() +
                "\", log_format: cps}\n"
                "  c:\n    webhook: {endpoint: \"" +
                cef_hook.url() + "\", log_format: cef}\n");
  ASSERT_TRUE(d.start()) << d.log();

  const std::int64_t start = nowMs() - 600'000;
  const std::string foreign_event = foreign->signJsonEvent(makeEvent(start + 1, "from-konnect"));
  const std::string plain_event = makeEvent(start + 2, "ours");
  for (const char* region : {"j", "p", "c"}) {
    ASSERT_TRUE(d.ingest(region, {foreign_event, plain_event}).at("ok").as_bool());
    d.call({{"op", "put_job"},
            {"region", region},
            {"start_at", isoMillis(start)},
            {"end_at", isoMillis(start + 1000)}});
  }
  for (const char* region : {"j", "p", "c"}) {
    auto job = d.waitJobEnded(region);
    ASSERT_TRUE(job) << region;
    ASSERT_EQ(job->at("status").as_string(), "completed") << region << d.log();
  }

  // The JWKS as served over HTTP, with no token (as Konnect): ours and the producer's.
  auto served = httpRequest(port,
                            "GET /v2/audit-log-webhook/jwks.json HTTP/1.1\r\nHost: x\r\n"
                            "Connection: close\r\n\r\n");
  ASSERT_EQ(served.status, 200) << served.head;
  std::vector<std::string> keys;
  const json::value served_set = json::parse(served.body);
  for (const auto& jwk : served_set.at("keys").as_array()) {
    auto raw = signing::base64UrlDecode(jwk.at("x").as_string());
    ASSERT_TRUE(raw);
    keys.push_back(*raw);
  }
  ASSERT_EQ(keys.size(), 2u) << served.body;
  EXPECT_EQ(keys[1], foreign->publicKey());
  auto verifies = [&](const std::string& line, bool cef) {
    for (const auto& key : keys) {
      if (cef ? signing::verifyCefLine(line, key, nullptr)
              : signing::verifyJsonLine(line, key, nullptr)) {
        return true;
      }
    }
    return false;
  };

  const auto json_lines = json_hook.acceptedEvents();
  ASSERT_EQ(json_lines.size(), 2u);
  EXPECT_EQ(json_lines[0], foreign_event);  // unchanged: the producer's sig
  EXPECT_TRUE(verifies(json_lines[0], false)) << json_lines[0];
  EXPECT_TRUE(verifies(json_lines[1], false)) << json_lines[1];

  const auto cps_lines = cps_hook.acceptedEvents();
  ASSERT_EQ(cps_lines.size(), 2u);
  EXPECT_EQ(cps_lines[0], "{\"event\":" + foreign_event + "}");
  EXPECT_TRUE(verifies(cps_lines[0], false)) << cps_lines[0];
  EXPECT_TRUE(verifies(cps_lines[1], false)) << cps_lines[1];

  const auto cef_lines = cef_hook.acceptedEvents();
  ASSERT_EQ(cef_lines.size(), 2u);
  const std::string foreign_sig(json::parse(foreign_event).at("sig").as_string());
  EXPECT_NE(cef_lines[0].find(" origin_sig=" + foreign_sig + " sig="), std::string::npos)
      << cef_lines[0];
  EXPECT_TRUE(verifies(cef_lines[0], true)) << cef_lines[0];
  EXPECT_TRUE(verifies(cef_lines[1], true)) << cef_lines[1];
  // A flipped byte fails: the check above can fail.
  std::string tampered = cef_lines[0];
  tampered[tampered.find("from-konnect")] ^= 1;
  EXPECT_FALSE(verifies(tampered, true));

  // audit-replayctl jwks prints the same set.
  auto ctl = runProgram(
      {binaryPath("ctl/audit-replayctl").string(), "--socket", d.socket().string(), "jwks"}, &out,
      &err);
  ASSERT_EQ(ctl.exit_code, 0) << err;
  EXPECT_EQ(json::parse(out), json::parse(served.body));
  EXPECT_EQ(d.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
