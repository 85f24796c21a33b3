// End-to-end: Standard Webhooks signatures checked by the specification's reference
// verifier (the `standardwebhooks` package of the npm registry, installed at test time).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "signing/ed25519.hpp"
#include "signing/signer.hpp"
#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "webhook/standard_webhooks.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Installs the reference verifier once per build tree; nullopt when npm cannot (offline).
std::optional<std::filesystem::path> installVerifier(std::string* why) {
  const std::filesystem::path dir = std::filesystem::path(AUDIT_BINARY_DIR) / "tests" / "npm";
  if (std::filesystem::exists(dir / "node_modules" / "standardwebhooks" / "package.json"))
    return dir;
  std::filesystem::create_directories(dir);
  std::string out, err;
  auto r = runProgram({"/usr/bin/npm", "install", "--prefix", dir.string(), "--no-audit",
                       "--no-fund", "--no-save", "standardwebhooks"},
                      &out, &err, {}, 180s);
  if (r.exit_code != 0) {
    *why = "npm install standardwebhooks failed (exit " + std::to_string(r.exit_code) + "): " + err;
    return std::nullopt;
  }
  return dir;
}

// Verifies each case with Webhook.verify() and prints "ok" or "error: <message>" per line.
constexpr const char* kVerifyJs = R"JS(
const fs = require('fs');
const { Webhook } = require(process.argv[2] + '/node_modules/standardwebhooks');
const cases = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const wh = new Webhook(fs.readFileSync(process.argv[4], 'utf8').trim());
for (const c of cases) {
  try {
    wh.verify(fs.readFileSync(c.body_file), c.headers, { jsonParse: false });
    console.log('ok');
  } catch (e) {
    console.log('error: ' + e.message);
  }
}
)JS";

struct Case {
  std::map<std::string, std::string> headers;
  std::string body;
};

std::vector<std::string> runVerifier(const std::filesystem::path& npm_dir,
                                     const std::filesystem::path& work,
                                     const std::vector<Case>& cases) {
  json::array manifest;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto body_file = work / ("body-" + std::to_string(i));
    std::ofstream(body_file, std::ios::binary) << cases[i].body;
    json::object headers;
    for (const auto& [k, v] : cases[i].headers) headers[k] = v;
    manifest.push_back(json::object{{"body_file", body_file.string()}, {"headers", headers}});
  }
  std::ofstream(work / "cases.json") << json::serialize(manifest);
  std::ofstream(work / "verify.js") << kVerifyJs;
  std::ofstream(work / "secret") << kSecret << "\n";
  std::string out, err;
  auto r = runProgram({"/usr/bin/node", (work / "verify.js").string(), npm_dir.string(),
                       (work / "cases.json").string(), (work / "secret").string()},
                      &out, &err);
  EXPECT_EQ(r.exit_code, 0) << err;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(StandardWebhooksE2E, TheReferenceVerifierAcceptsEveryRequestOfAReplay) {
  std::string why;
  auto npm_dir = installVerifier(&why);
  if (!npm_dir) GTEST_SKIP() << why;

  // The first request is answered 503 with Retry-After: 1, so one batch is sent twice.
  sink::Receiver receiver(sink::ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    sink::Reply reply;
    if (n == 0) {
      reply.status = 503;
      reply.headers = {{"Retry-After", "1"}};
    }
    return reply;
  });
  receiver.start();
  DaemonFixture d;
  std::ofstream(d.dir() / "sw.secret") << kSecret << "\n";
  d.writeConfig("regions:\n  us:\n    webhook:\n      endpoint: \"" + receiver.url() +
                "\"\n      compression: none\n      standard_webhooks: {secret_file: sw.secret}\n"
                "    batch: {max_events: 10}\n"
                "    retry: {initial_backoff: 10ms, max_backoff: 2s}\n");
  ASSERT_TRUE(d.start()) << d.log();

  const std::int64_t start = nowMs() - 600'000;
  std::vector<std::string> events;
  for (int i = 0; i < 45; ++i) events.push_back(makeEvent(start + i, "sw" + std::to_string(i)));
  ASSERT_TRUE(d.ingest("us", events).at("ok").as_bool());
  d.call({{"op", "put_job"},
          {"region", "us"},
          {"start_at", isoMillis(start)},
          {"end_at", isoMillis(start + 1000)}});
  auto job = d.waitJobEnded("us");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->at("status").as_string(), "completed") << d.log();

  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 6u);  // 5 batches, the first one twice
  // The retry keeps the id and renews the timestamp.
  EXPECT_EQ(requests[0].headers.at("webhook-id"), requests[1].headers.at("webhook-id"));
  EXPECT_EQ(requests[0].headers.at("webhook-id"), requests[0].headers.at("idempotency-key"));
  EXPECT_LT(std::stoll(requests[0].headers.at("webhook-timestamp")),
            std::stoll(requests[1].headers.at("webhook-timestamp")));

  std::vector<Case> cases;
  for (const auto& req : requests) {
    EXPECT_EQ(req.headers.at("webhook-signature").rfind("v1,", 0), 0u);
    EXPECT_EQ(req.headers.count("content-encoding"), 0u);
    cases.push_back({req.headers, req.body});
  }
  // A tampered body.
  Case tampered = cases.back();
  tampered.body[tampered.body.find("sw")] ^= 1;
  cases.push_back(tampered);
  // A correctly signed request from ten minutes ago: refused for its age alone.
  Case old = cases.back();
  old.body = requests.back().body;
  const std::int64_t old_ts = std::stoll(old.headers.at("webhook-timestamp")) - 600;
  old.headers["webhook-timestamp"] = std::to_string(old_ts);
  old.headers["webhook-signature"] = webhook::standardWebhooksV1(
      *webhook::standardWebhooksKey(kSecret), old.headers.at("webhook-id"), old_ts, old.body);
  cases.push_back(old);

  auto verdicts = runVerifier(*npm_dir, d.dir(), cases);
  ASSERT_EQ(verdicts.size(), cases.size());
  for (std::size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(verdicts[i], "ok") << i;
  EXPECT_EQ(verdicts[requests.size()], "error: No matching signature found");
  EXPECT_EQ(verdicts[requests.size() + 1], "error: Message timestamp too old");
  EXPECT_EQ(d.stop().exit_code, 0);
  // The secret never reaches a log line.
  EXPECT_EQ(d.allLogs().find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string::npos);
}

}  // namespace
}  // namespace audit::e2e

namespace audit::e2e {
namespace {

TEST(StandardWebhooksE2E, AsymmetricSignaturesVerifyWithTheServedPublicKey) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  DaemonFixture d;
  std::string out, err;
  auto key = d.dir() / "signing.pem";
  ASSERT_NO_THROW(writeEd25519Key(key).value());
  std::ofstream(d.dir() / "sw.secret") << kSecret << "\n";
  d.writeConfig(
      "signing: {key_file: signing.pem}\nregions:\n  us:\n    webhook:\n"
      "      endpoint: \"" +
      receiver.url() +
      "\"\n      compression: none\n"
      "      standard_webhooks: {secret_file: sw.secret, asymmetric: true}\n"
      "    batch: {max_events: 8}\n");
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 600'000;
  std::vector<std::string> events;
  for (int i = 0; i < 20; ++i) events.push_back(makeEvent(start + i, "v1a" + std::to_string(i)));
  ASSERT_TRUE(d.ingest("us", events).at("ok").as_bool());
  d.call({{"op", "put_job"},
          {"region", "us"},
          {"start_at", isoMillis(start)},
          {"end_at", isoMillis(start + 1000)}});
  auto job = d.waitJobEnded("us");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->at("status").as_string(), "completed") << d.log();

  auto jwks = d.call({{"op", "jwks"}});
  ASSERT_TRUE(jwks);
  auto public_key =
      signing::base64UrlDecode(jwks->at("jwks").at("keys").as_array().at(0).at("x").as_string());
  ASSERT_TRUE(public_key);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& req : requests) {
    const std::string& sig = req.headers.at("webhook-signature");
    ASSERT_EQ(sig.rfind("v1a,", 0), 0u) << sig;
    auto raw = webhook::base64Decode(sig.substr(4));
    ASSERT_TRUE(raw);
    const std::string content =
        req.headers.at("webhook-id") + "." + req.headers.at("webhook-timestamp") + "." + req.body;
    EXPECT_TRUE(signing::ed25519Verify(*public_key, content, *raw));
    EXPECT_FALSE(signing::ed25519Verify(*public_key, content + "x", *raw));
  }
  EXPECT_EQ(d.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
