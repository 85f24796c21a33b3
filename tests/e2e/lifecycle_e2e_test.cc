// End-to-end: crash safety, shutdown, --once, store locking and configuration checks.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <set>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/receiver_scripts.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

std::string usRegion(const std::string& endpoint, int max_events = 50) {
  return "regions:\n"
         "  us:\n"
         "    webhook: {endpoint: \"" +
         endpoint +
         "\", timeout: 2s}\n"
         "    batch: {max_events: " +
         std::to_string(max_events) +
         "}\n"
         "    retry: {initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 3, max_elapsed: "
         "10s}\n";
}

std::vector<std::string> manyEvents(std::int64_t start, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(makeEvent(start + i, "ev" + std::to_string(i)));
  return out;
}

void ingestAll(DaemonFixture& d, const std::vector<std::string>& events) {
  for (std::size_t i = 0; i < events.size(); i += 1000) {
    std::vector<std::string> chunk(events.begin() + i,
                                   events.begin() + std::min(events.size(), i + 1000));
    ASSERT_TRUE(d.ingest("us", chunk).at("ok").as_bool());
  }
}

TEST(LifecycleE2E, Kill9MidJobThenRestartCompletesWithNothingMissing) {
  sink::Receiver receiver(sink::ReceiverOptions{}, slowly(std::chrono::milliseconds(20)));
  receiver.start();
  DaemonFixture d;
  d.writeConfig(usRegion(receiver.url()));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = manyEvents(start, 5000);
  ingestAll(d, events);
  d.call({{"op", "put_job"},
          {"region", "us"},
          {"start_at", isoMillis(start)},
          {"end_at", isoMillis(start + 5000)}});
  ASSERT_TRUE(receiver.waitFor([](const sink::ReceiverStats& s) { return s.events >= 1500; }, 30s));
  d.kill9();
  std::uint64_t before_restart = receiver.stats().events;
  EXPECT_LT(before_restart, 5000u);

  receiver.setScript({});
  ASSERT_TRUE(d.start()) << d.log();
  auto job = d.waitJobEnded("us");
  ASSERT_TRUE(job) << d.log();
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
  auto got = receiver.acceptedEvents();
  std::set<std::string> unique(got.begin(), got.end());
  std::set<std::string> want(events.begin(), events.end());
  EXPECT_EQ(unique, want);  // at-least-once: nothing of the range is missing
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(LifecycleE2E, SigtermStopsWithin10sAndTheJobResumes) {
  sink::Receiver receiver(sink::ReceiverOptions{}, slowly(std::chrono::milliseconds(50)));
  receiver.start();
  DaemonFixture d;
  d.writeConfig(usRegion(receiver.url()));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = manyEvents(start, 3000);
  ingestAll(d, events);
  d.call({{"op", "put_job"},
          {"region", "us"},
          {"start_at", isoMillis(start)},
          {"end_at", isoMillis(start + 3000)}});
  ASSERT_TRUE(receiver.waitFor([](const sink::ReceiverStats& s) { return s.events >= 200; }, 30s));
  auto began = std::chrono::steady_clock::now();
  auto result = d.stop(SIGTERM, std::chrono::seconds(10));
  auto took = std::chrono::steady_clock::now() - began;
  EXPECT_TRUE(result.exited) << d.log();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_LT(took, std::chrono::seconds(10));

  receiver.setScript({});
  ASSERT_TRUE(d.start()) << d.log();
  auto job = d.waitJobEnded("us");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->at("status").as_string(), "completed");
  auto got = receiver.acceptedEvents();
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
            std::set<std::string>(events.begin(), events.end()));
}

TEST(LifecycleE2E, OnceExitsZeroWhenEveryJobCompletes) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  DaemonFixture d;
  const std::int64_t start = (nowMs() / 1000 - 1800) * 1000;
  d.writeConfig(usRegion(receiver.url()));
  ASSERT_TRUE(d.start()) << d.log();
  ingestAll(d, manyEvents(start, 300));
  ASSERT_EQ(d.stop().exit_code, 0);

  d.writeConfig(usRegion(receiver.url()) + "jobs:\n  - {region: us, start_at: \"" +
                isoMillis(start) + "\", end_at: \"" + isoMillis(start + 299) + "\"}\n");
  d.launch({"--once"});
  auto result = d.process().wait(60s);
  EXPECT_TRUE(result.exited) << d.log();
  EXPECT_EQ(result.exit_code, 0) << d.log();
  EXPECT_EQ(receiver.stats().events, 300u);
}

TEST(LifecycleE2E, OnceExitsOneWhenAJobFails) {
  sink::Receiver receiver(sink::ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    sink::Reply r;
    r.status = 403;
    return r;
  });
  receiver.start();
  DaemonFixture d;
  const std::int64_t start = nowMs() - 1'800'000;
  d.writeConfig(usRegion(receiver.url()));
  ASSERT_TRUE(d.start()) << d.log();
  ingestAll(d, manyEvents(start, 10));
  ASSERT_EQ(d.stop().exit_code, 0);
  d.writeConfig(usRegion(receiver.url()) + "jobs:\n  - {region: us, start_at: \"" +
                isoMillis(start) + "\", end_at: \"" + isoMillis(start + 100) + "\"}\n");
  d.launch({"--once"});
  auto result = d.process().wait(60s);
  EXPECT_TRUE(result.exited);
  EXPECT_EQ(result.exit_code, 1) << d.log();
}

// A region whose webhook is unconfigured: a valid daemon with nothing to send.
constexpr const char* kIdleRegion = "regions: {us: {}}\n";

TEST(LifecycleE2E, SecondDaemonOnTheSameDataDirExits3) {
  DaemonFixture d;
  d.writeConfig(kIdleRegion);
  ASSERT_TRUE(d.start()) << d.log();
  std::string out, err;
  auto other_config = d.dir() / "other.yaml";
  std::ofstream(other_config)
      << "data_dir: data\ncontrol: {socket: run/other.sock, spool_dir: spool2}\n"
      << kIdleRegion;
  auto result =
      runProgram({binaryPath("daemon/audit-replayd").string(), "--config", other_config.string()},
                 &out, &err, {}, 20s);
  EXPECT_EQ(result.exit_code, 3) << err;
  EXPECT_NE(err.find("lock"), std::string::npos) << err;
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(LifecycleE2E, LiveSocketIsNotDisplacedButAStaleOneIsReplaced) {
  DaemonFixture d;
  d.writeConfig(kIdleRegion);
  ASSERT_TRUE(d.start()) << d.log();
  auto other_config = d.dir() / "other.yaml";
  std::ofstream(other_config)
      << "data_dir: data2\ncontrol: {socket: run/control.sock, spool_dir: spool2}\n"
      << kIdleRegion;
  std::string err;
  auto result =
      runProgram({binaryPath("daemon/audit-replayd").string(), "--config", other_config.string()},
                 nullptr, &err, {}, 20s);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  d.kill9();  // leaves a stale socket file behind
  ASSERT_TRUE(std::filesystem::exists(d.socket()));
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(LifecycleE2E, CheckConfigExitCodes) {
  DaemonFixture d;
  d.writeConfig("regions:\n  us:\n    webhook: {endpoint: \"http://127.0.0.1:9/x\"}\n");
  std::string out, err;
  auto good = runProgram({binaryPath("daemon/audit-replayd").string(), "--config",
                          d.configFile().string(), "--check-config"},
                         &out, &err);
  EXPECT_EQ(good.exit_code, 0) << err;
  EXPECT_NE(out.find("OK"), std::string::npos);
  d.writeConfig("regions:\n  us:\n    retry: {max_backoff: soon}\n");
  auto bad = runProgram({binaryPath("daemon/audit-replayd").string(), "--config",
                         d.configFile().string(), "--check-config"},
                        &out, &err);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(err.find("regions.us.retry.max_backoff"), std::string::npos) << err;
  auto version = runProgram({binaryPath("daemon/audit-replayd").string(), "--version"}, &out);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(out.find("audit-replayd"), std::string::npos);
  // A bad config when starting for real: exit 2 and nothing started.
  auto start =
      runProgram({binaryPath("daemon/audit-replayd").string(), "--config", d.configFile().string()},
                 &out, &err);
  EXPECT_EQ(start.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(d.dir() / "data"));
}

TEST(LifecycleE2E, NoConfigFileIsAnErrorNeverASilentStart) {
  if (std::filesystem::exists("/etc/audit-replay/config.yaml")) {
    GTEST_SKIP() << "this host has /etc/audit-replay/config.yaml";
  }
  DaemonFixture d;
  const std::string daemon = binaryPath("daemon/audit-replayd").string();
  std::string out, err;
  // From an empty working folder, without --config: the packaged path, which is missing.
  auto none =
      runProgram({"/bin/sh", "-c", "cd '" + d.dir().string() + "' && exec '" + daemon + "'"}, &out,
                 &err, {}, 20s);
  EXPECT_EQ(none.exit_code, 2) << err;
  EXPECT_NE(err.find("/etc/audit-replay/config.yaml"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(d.dir() / "var")) << "started on built-in paths";
  auto missing = runProgram({daemon, "--config", (d.dir() / "nope.yaml").string()}, &out, &err);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(err.find("nope.yaml"), std::string::npos) << err;
  // A file without a region is refused too.
  d.writeConfig("retention: 7d\n");
  auto no_region = runProgram({daemon, "--config", d.configFile().string()}, &out, &err);
  EXPECT_EQ(no_region.exit_code, 2);
  EXPECT_NE(err.find("regions: at least one region is required"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(d.dir() / "data"));
}

TEST(LifecycleE2E, ConfigOutputNeverShowsAUrlPassword) {
  DaemonFixture d;
  const std::string daemon = binaryPath("daemon/audit-replayd").string();
  std::string out, err;
  d.writeConfig(
      "regions:\n  us:\n    webhook: {endpoint: \"https://ops:pw-s3cret@siem.example/a\"}\n");
  auto bad =
      runProgram({daemon, "--config", d.configFile().string(), "--check-config"}, &out, &err);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(err.find("https://ops:***@siem.example/a"), std::string::npos) << err;
  EXPECT_EQ((out + err).find("pw-s3cret"), std::string::npos) << out << err;
  d.writeConfig(
      "regions:\n  us:\n    webhook: {endpoint: \"http://127.0.0.1:9/x\", log_format: cef}\n");
  auto good =
      runProgram({daemon, "--config", d.configFile().string(), "--check-config"}, &out, &err);
  EXPECT_EQ(good.exit_code, 0) << err;
  EXPECT_NE(out.find("  region us: webhook http://127.0.0.1:9/x, cef\n"), std::string::npos) << out;
}

TEST(LifecycleE2E, SighupAppliesValidConfigAndKeepsOldOnErrors) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  DaemonFixture d;
  d.writeConfig(usRegion(receiver.url()));
  ASSERT_TRUE(d.start()) << d.log();
  d.writeConfig("regions: [this is not right\n");
  d.process().signal(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return d.log().find("reload refused") != std::string::npos; }, 10s));
  auto hook = d.call({{"op", "webhook_status"}, {"region", "us"}});
  ASSERT_TRUE(hook);
  EXPECT_TRUE(hook->at("ok").as_bool());
  d.writeConfig(usRegion(receiver.url()) + "  eu:\n    webhook: {endpoint: \"" + receiver.url() +
                "\"}\n");
  d.process().signal(SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] {
        auto eu = d.call({{"op", "webhook_status"}, {"region", "eu"}});
        return eu && eu->at("ok").as_bool();
      },
      10s))
      << d.log();
  EXPECT_EQ(d.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
