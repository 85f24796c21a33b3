// End-to-end: what an operator's tooling reads from the real daemon after a replay — the
// /metrics page as Prometheus's own checker sees it, and `log.format: json` lines as jq sees
// them (region, job, attempt, status code and endpoint as fields, not only inside msg).

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/fault_webhook.hpp"
#include "tests/e2e/raw_http.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

std::optional<std::string> findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return std::nullopt;
}

/** A daemon with the HTTP API and JSON logs, after one replay of `kEvents` events to a
 *  receiver that refused the first batch with 503. */
class OpsE2E : public ::testing::Test {
 protected:
  static constexpr int kEvents = 250;

  void SetUp() override {
    receiver_.setScript([](const sink::ReceivedRequest&, std::size_t n) {
      sink::Reply reply;
      if (n == 0) reply.status = 503;
      return reply;
    });
    receiver_.start();
    port_ = freePort();
    std::ofstream(d_.dir() / "tokens") << "TOKEN-ops\n";
    std::ofstream(d_.configFile())
        << "data_dir: data\n"
           "log: {level: trace, format: json}\n"
           "control: {socket: run/control.sock, spool_dir: spool, poll_interval: 50ms}\n"
           "http: {listen: \"127.0.0.1:"
        << port_ << "\", tokens_file: tokens, metrics_public: true}\n"
        << usRegionYaml(receiver_.url());
    ASSERT_TRUE(d_.start()) << d_.log();
    const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;
    ASSERT_TRUE(ingestAll(d_, rangeEvents(start, kEvents, "ops")));
    const auto put = putJob(d_, start, start + kEvents);
    ASSERT_TRUE(put.contains("job")) << json::serialize(put);
    job_id_ = std::string(put.at("job").at("id").as_string());
    const auto ended = d_.waitJobEnded("us");
    ASSERT_TRUE(ended) << d_.log();
    ASSERT_EQ(ended->at("status").as_string(), "completed") << json::serialize(*ended);
  }

  std::string scrape() {
    const auto answer =
        httpRequest(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer.status, 200) << answer.head;
    return answer.body;
  }

  sink::Receiver receiver_{sink::ReceiverOptions{}};
  DaemonFixture d_;
  std::uint16_t port_ = 0;
  std::string job_id_;
};

TEST_F(OpsE2E, LiveScrapePassesPromtoolAndCountsTheReplay) {
  const std::string page = scrape();
  // The replay shows up per region: every event once, the refused attempt by its code.
  EXPECT_NE(page.find("audit_replay_region_events_sent_total{region=\"us\"} " +
                      std::to_string(kEvents) + "\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("audit_replay_webhook_attempts_total{region=\"us\",outcome=\"http_error\","
                      "code=\"503\"} 1\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("audit_replay_delivery_duration_seconds_bucket{region=\"us\",le=\"+Inf\"}"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("audit_replay_build_info{version=\""), std::string::npos);
  for (const char* name :
       {"process_start_time_seconds ", "process_cpu_seconds_total ",
        "process_resident_memory_bytes ", "process_open_fds ", "process_max_fds "}) {
    EXPECT_NE(page.find(std::string("\n") + name), std::string::npos) << name;
  }

  const auto promtool = findProgram("promtool");
  if (!promtool) {
    GTEST_SKIP() << "promtool is not installed (Debian: apt-get install prometheus); "
                    "the page was checked for its families only";
  }
  std::string out;
  std::string err;
  const auto result = runProgram({*promtool, "check", "metrics"}, &out, &err, page);
  EXPECT_TRUE(result.exited && result.exit_code == 0)
      << "promtool check metrics: exit " << result.exit_code << "\n"
      << out << err << "\n--- page:\n"
      << page;
  EXPECT_EQ(out + err, "") << page;
}

TEST_F(OpsE2E, JsonLogLinesCarryRegionJobAndAttemptAsFields) {
  bool job_line = false;
  bool retry_line = false;
  int lines = 0;
  std::istringstream log(d_.log());
  for (std::string line; std::getline(log, line);) {
    if (line.empty() || line.front() != '{') continue;
    json::error_code ec;
    const auto value = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    const auto& obj = value.as_object();
    ++lines;
    ASSERT_TRUE(obj.contains("time") && obj.contains("level") && obj.contains("msg")) << line;
    const std::string_view level = obj.at("level").as_string();
    EXPECT_TRUE(level == "trace" || level == "debug" || level == "info" || level == "warn" ||
                level == "error" || level == "critical")
        << line;
    const auto* region = obj.if_contains("region");
    const auto* job = obj.if_contains("job");
    if (region != nullptr && job != nullptr && region->as_string() == "us" &&
        job->as_string() == job_id_) {
      job_line = true;
      const auto* code = obj.if_contains("status_code");
      if (level == "warn" && code != nullptr && code->is_int64() && code->as_int64() == 503) {
        retry_line = true;
        EXPECT_EQ(obj.at("attempt").as_int64(), 1) << line;
        EXPECT_EQ(obj.at("endpoint").as_string(), receiver_.url()) << line;
      }
    }
  }
  EXPECT_GT(lines, 0) << d_.log();
  EXPECT_TRUE(job_line) << "no line with region and job fields of job " << job_id_ << "\n"
                        << d_.log();
  EXPECT_TRUE(retry_line) << "no warn line for the refused attempt with status_code 503\n"
                          << d_.log();
}

TEST(OpsRetryE2E, GetJobShowsTheAttemptTheLastCodeAndTheNextTry) {
  sink::Receiver receiver(sink::ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    sink::Reply reply;
    reply.status = 503;
    return reply;
  });
  receiver.start();
  DaemonFixture d;
  RegionSettings region;
  region.retry = "{initial_backoff: 2s, max_backoff: 2s, max_attempts: 50, max_elapsed: 5m}";
  d.writeConfig(usRegionYaml(receiver.url(), region));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;
  ASSERT_TRUE(ingestAll(d, rangeEvents(start, 10, "retry")));
  ASSERT_TRUE(putJob(d, start, start + 10).contains("job"));
  std::optional<json::object> retry;
  ASSERT_TRUE(waitUntil([&] { return (retry = d.retryState("us")).has_value(); }, 30s)) << d.log();
  EXPECT_GE(retry->at("attempt").as_int64(), 1);
  EXPECT_EQ(retry->at("last_response_code").as_int64(), 503);
  EXPECT_TRUE(retry->at("next_attempt_at").is_string());
  EXPECT_NE(std::string(retry->at("reason").as_string()).find("503"), std::string::npos);
  // audit-replayctl status shows it.
  std::string out;
  runProgram({binaryPath("ctl/audit-replayctl").string(), "--socket", d.socket().string(), "status",
              "--region", "us"},
             &out);
  EXPECT_NE(out.find("retrying: attempt "), std::string::npos) << out;
  EXPECT_NE(out.find("last response 503"), std::string::npos) << out;
}

}  // namespace
}  // namespace audit::e2e
