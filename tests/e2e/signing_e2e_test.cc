// End-to-end: signed deliveries (SPEC §8) verified the way a receiver would, with the JWKS.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "webhook/signer.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

TEST(SigningE2E, DeliveredEventsVerifyWithTheJwksAndAFlippedByteFails) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  DaemonFixture d;
  std::string out, err;
  auto key = d.dir() / "signing.pem";
  ASSERT_EQ(
      runProgram({"/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", key.string()},
                 &out, &err)
          .exit_code,
      0)
      << err;
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
  auto public_key = webhook::base64UrlDecode(jwk.at("x").as_string());
  ASSERT_TRUE(public_key);

  auto received = receiver.acceptedEvents();
  ASSERT_EQ(received.size(), events.size());
  std::ofstream delivered(d.dir() / "delivered.ndjson");
  for (const auto& line : received) {
    delivered << line << "\n";
    if (line == presigned) continue;
    std::string reason;
    EXPECT_TRUE(webhook::verifyJsonLine(line, *public_key, &reason)) << line << ": " << reason;
    std::string tampered = line;
    tampered[tampered.find("\"name\":\"") + 8] ^= 1;
    EXPECT_FALSE(webhook::verifyJsonLine(tampered, *public_key, &reason)) << tampered;
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
