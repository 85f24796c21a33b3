// The real program against a fake daemon: requests sent, output printed, exit codes.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <fstream>

#include "common/rfc3339.hpp"
#include "fake_daemon.hpp"
#include "process.hpp"

namespace audit::ctl::test {
namespace {

namespace json = boost::json;

json::object parseLine(const std::string& text) {
  auto value = json::parse(text);
  return value.as_object();
}

std::string str(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

TEST(CtlProcess, UsageErrorsExit2) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"status", "--bogus"},
           {"replay", "--since", "2h"},
           {"replay", "--region", "us", "--start", "soon", "--end", "2026-11-21T20:00:00Z"},
           {"replay", "--region", "us", "--since", "2 hours"},
           {"ingest", "--region", "us"},
           {"verify", "events.ndjson"},
       }) {
    auto r = runCtl(args);
    EXPECT_EQ(r.exit_code, 2) << (args.empty() ? "" : args[0]) << ": " << r.err;
    EXPECT_NE(r.err.find("audit-replayctl: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CtlProcess, HelpAndVersionExit0) {
  auto r = runCtl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: audit-replayctl"), std::string::npos);
  r = runCtl({"replay", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--since"), std::string::npos);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  r = runCtl({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("audit-replayctl ", 0), 0u);
}

TEST(CtlProcess, UnreachableDaemonExits3) {
  auto r = runCtl({"--socket", "/nonexistent/ctl-test/control.sock", "status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot reach audit-replayd at /nonexistent/ctl-test/control.sock: No such "
                       "file or directory"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("is it running?"), std::string::npos) << r.err;
}

TEST(CtlProcess, PermissionDeniedNamesTheGroupToJoin) {
  FakeDaemon daemon([](const json::object&) { return okAnswer(); });
  // The socket's folder closed to the caller, as /run/audit-replay is to users outside the
  // service's group. root passes permission checks, so as root the program runs as nobody.
  std::vector<std::string> argv;
  if (::geteuid() == 0) {
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  }
  argv.push_back(ctlBinary());
  for (const char* arg : {"--socket", "", "ping"}) argv.emplace_back(arg);
  argv[argv.size() - 2] = daemon.socketPath();
  ASSERT_EQ(::chmod(daemon.dir().c_str(), 0), 0);
  auto r = runProgram(argv);
  ASSERT_EQ(::chmod(daemon.dir().c_str(), 0700), 0);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot open " + daemon.socketPath() +
                       ": permission denied: add yourself to group audit-replay"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("is it running"), std::string::npos) << r.err;
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(CtlProcess, WithoutAReadableConfigTheSocketIsThePackagesOne) {
  if (::access("/etc/audit-replay/config.yaml", R_OK) == 0) {
    GTEST_SKIP() << "/etc/audit-replay/config.yaml is readable here; it names the socket";
  }
  auto r = runCtl({"ping"});
  if (r.exit_code == 0) GTEST_SKIP() << "a daemon answers at /run/audit-replay/control.sock";
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(" /run/audit-replay/control.sock: "), std::string::npos) << r.err;
}

TEST(CtlProcess, DaemonHangingUpExits3) {
  FakeDaemon daemon([](const json::object&) { return hangUp(); });
  auto r = runCtl({"--socket", daemon.socketPath(), "stats"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("lost connection to audit-replayd at " + daemon.socketPath() +
                       ": the daemon closed the connection"),
            std::string::npos)
      << r.err;
}

TEST(CtlProcess, AnswerWithoutOkIsARefusal) {
  FakeDaemon daemon([](const json::object&) { return json::object{{"code", 500}}; });
  auto r = runCtl({"--socket", daemon.socketPath(), "stats"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("request refused (code 500)"), std::string::npos) << r.err;
}

TEST(CtlProcess, ReplaySendsPutJobAndPrintsTheJob) {
  FakeDaemon daemon([](const json::object& req) {
    auto job = jobObject(str(req, "region"), "accepted", 0, 0, "9b2c");
    job["start_at"] = req.at("start_at");
    job["end_at"] = req.at("end_at");
    return json::object{{"ok", true}, {"code", 202}, {"job", job}};
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "replay", "--region", "us", "--start",
                   "2026-11-20T20:00:00Z", "--end", "2026-11-21T20:00:00Z", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto printed = parseLine(r.out);
  EXPECT_EQ(printed.at("code").as_int64(), 202);
  EXPECT_EQ(str(printed.at("job").as_object(), "id"), "9b2c");

  auto sent = daemon.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], (json::object{{"op", "put_job"},
                                   {"region", "us"},
                                   {"start_at", "2026-11-20T20:00:00Z"},
                                   {"end_at", "2026-11-21T20:00:00Z"}}));

  r = runCtl({"--socket", daemon.socketPath(), "replay", "--region", "eu", "--start",
              "2026-11-20T20:00:00Z", "--end", "2026-11-21T20:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "job 9b2c  region eu  accepted  2026-11-20T20:00:00Z .. 2026-11-21T20:00:00Z\n");
}

TEST(CtlProcess, ReplaySinceSendsARangeEndingNow) {
  FakeDaemon daemon([](const json::object& req) {
    return json::object{
        {"ok", true}, {"code", 202}, {"job", jobObject(str(req, "region"), "accepted")}};
  });
  auto before = std::chrono::system_clock::now();
  auto r = runCtl({"--socket", daemon.socketPath(), "replay", "--region", "us", "--since", "2h"});
  auto after = std::chrono::system_clock::now();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto sent = daemon.requests("put_job");
  ASSERT_EQ(sent.size(), 1u);
  auto start = parseRfc3339(str(sent[0], "start_at"));
  auto end = parseRfc3339(str(sent[0], "end_at"));
  ASSERT_TRUE(start && end);
  auto ms = [](auto tp) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  };
  EXPECT_GE(end->ms, ms(before) - 1000);
  EXPECT_LE(end->ms, ms(after));
  EXPECT_EQ(end->ms - start->ms, 7'200'000);
}

TEST(CtlProcess, RefusedRequestExits1WithTheReason) {
  FakeDaemon daemon(
      [](const json::object&) { return errorAnswer(409, "the job of region us is running"); });
  auto r = runCtl({"--socket", daemon.socketPath(), "replay", "--region", "us", "--since", "1h"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the job of region us is running (code 409)"), std::string::npos) << r.err;

  r = runCtl({"--socket", daemon.socketPath(), "cancel", "--region", "us", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(parseLine(r.out).at("code").as_int64(), 409);
}

TEST(CtlProcess, StatusPrintsATableOrOneJob) {
  FakeDaemon daemon([](const json::object& req) {
    if (str(req, "op") == "list_jobs") {
      return okAnswer({{"jobs", json::array{jobObject("us", "running", 64000, 120000),
                                            jobObject("eu", "completed", 10, 10, "job-2")}}});
    }
    if (str(req, "region") == "nowhere") return errorAnswer(404, "no job for region nowhere");
    auto job = jobObject(str(req, "region"), "failed", 5, 10);
    job["error"] = {{"reason", "webhook answered 401"}, {"last_response_code", 401}};
    return okAnswer({{"job", job}});
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("REGION  STATUS     PROGRESS        RANGE"), 0u) << r.out;
  EXPECT_NE(
      r.out.find("us      running    64,000/120,000  2026-11-20T20:00:00Z .. 2026-11-21T20:00:00Z"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("eu      completed  10/10"), std::string::npos) << r.out;

  r = runCtl({"--socket", daemon.socketPath(), "status", "--region", "us"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("error:       webhook answered 401 (last response code 401)"),
            std::string::npos)
      << r.out;

  r = runCtl({"--socket", daemon.socketPath(), "status", "--region", "nowhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no job for region nowhere (code 404)"), std::string::npos) << r.err;

  EXPECT_EQ(daemon.requests("get_job").size(), 2u);
  EXPECT_EQ(daemon.requests("list_jobs").size(), 1u);
}

TEST(CtlProcess, CancelSendsCancelJob) {
  FakeDaemon daemon([](const json::object& req) {
    auto job = jobObject(str(req, "region"), "failed");
    job["error"] = {{"reason", "canceled"}, {"last_response_code", nullptr}};
    return okAnswer({{"job", job}});
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "cancel", "--region", "us"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("region us  failed"), std::string::npos) << r.out;
  EXPECT_EQ(daemon.requests("cancel_job").at(0),
            (json::object{{"op", "cancel_job"}, {"region", "us"}}));
}

json::object webhook(std::string_view region, std::string_view status) {
  return {{"region", region},
          {"webhook_enabled", true},
          {"webhook_status", status},
          {"last_attempt_at", nullptr},
          {"last_response_code", nullptr},
          {"last_response_message", nullptr}};
}

TEST(CtlProcess, WebhookStatusListsRegionsViaStatsWhenNeeded) {
  // This daemon insists on a region, so the client asks per region of `stats`.
  FakeDaemon daemon([](const json::object& req) {
    if (str(req, "op") == "stats") {
      return okAnswer({{"stats",
                        {{"uptime_seconds", 5},
                         {"regions", {{"eu", json::object{}}, {"us", json::object{}}}}}}});
    }
    if (!req.contains("region")) return errorAnswer(400, "region is required");
    return okAnswer({{"webhook", webhook(str(req, "region"), "active")}});
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "webhook-status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "REGION  ENABLED  STATUS  LAST ATTEMPT  CODE  MESSAGE\n"
            "eu      true     active  -             -     -\n"
            "us      true     active  -             -     -\n");
  r = runCtl({"--socket", daemon.socketPath(), "webhook-status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parseLine(r.out).at("webhooks").as_array().size(), 2u);
}

TEST(CtlProcess, WebhookStatusUsesTheDaemonsList) {
  FakeDaemon daemon([](const json::object& req) {
    if (req.contains("region"))
      return okAnswer({{"webhook", webhook(str(req, "region"), "inactive")}});
    return okAnswer({{"webhooks", json::array{webhook("us", "inactive")}}});
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "webhook-status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("us      true     inactive"), std::string::npos) << r.out;
  EXPECT_EQ(daemon.requests("stats").size(), 0u);
  r = runCtl({"--socket", daemon.socketPath(), "webhook-status", "--region", "us"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status:         inactive"), std::string::npos) << r.out;
}

TEST(CtlProcess, StatsPingAndJwks) {
  FakeDaemon daemon([](const json::object& req) {
    std::string op = str(req, "op");
    if (op == "stats")
      return okAnswer({{"stats", {{"uptime_seconds", 90}, {"events_ingested", 1234}}}});
    if (op == "jwks") {
      return okAnswer(
          {{"jwks", {{"keys", json::array{{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}}}}}});
    }
    return okAnswer();
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "uptime:           1m 30s\nevents ingested:  1,234\n");
  r = runCtl({"--socket", daemon.socketPath(), "stats", "--json"});
  EXPECT_EQ(parseLine(r.out).at("stats").at("events_ingested").as_int64(), 1234);
  r = runCtl({"--socket", daemon.socketPath(), "ping"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = runCtl({"--socket", daemon.socketPath(), "jwks"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]})"
                   "\n");
  EXPECT_EQ(daemon.requests("jwks").at(0), (json::object{{"op", "jwks"}}));
}

TEST(CtlProcess, ConfigFileNamesTheSocket) {
  FakeDaemon daemon([](const json::object&) { return okAnswer(); });
  std::string config = daemon.dir() + "/config.yaml";
  // The socket is relative to the file's folder; the file is a whole daemon configuration.
  std::ofstream(config) << "control:\n  socket: control.sock\nregions: {us: {}}\n";
  auto r = runCtl({"--config", config, "ping"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon.requests("ping").size(), 1u);

  std::ofstream(config) << "control:\n  sockett: x\n";
  r = runCtl({"--config", config, "ping"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("sockett"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace audit::ctl::test
