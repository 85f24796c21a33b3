// GET /metrics as rendered from the daemon's stats: per-region delivery counters, attempts by
// outcome and code, the delivery-duration histogram, build info and process metrics — in
// Prometheus's naming, checked with promtool when it is installed.

#include "api/http/metrics.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "jobs/delivery_metrics.hpp"
#include "jobs/engine.hpp"

namespace audit::api {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string render(const jobs::DeliveryMetrics& delivery) {
  jobs::Stats stats;
  stats.totals.events_sent = 3000;
  stats.delivery = delivery;
  return http::renderMetrics(&stats, HttpStats{});
}

TEST(DeliveryMetrics, CountsPerRegionAndFillsTheHistogram) {
  jobs::DeliveryMetrics m;
  webhook::AttemptResult refused;
  refused.status = 503;
  webhook::AttemptResult unanswered;  // status 0: no answer
  webhook::AttemptResult accepted;
  accepted.status = 200;
  m.attempt("us", refused);
  m.attempt("us", unanswered);
  m.attempt("us", accepted);
  m.attempt("eu", accepted);
  m.delivered("us", 1000, 4096, 0.00390625);  // in the first bucket
  m.delivered("us", 2000, 8192, 7.0);         // le=10
  m.delivered("eu", 10, 100, 1000.0);         // only +Inf

  const std::string page = render(m);
  EXPECT_TRUE(contains(page, "audit_replay_region_events_sent_total{region=\"us\"} 3000\n"))
      << page;
  EXPECT_TRUE(contains(page, "audit_replay_region_batches_sent_total{region=\"us\"} 2\n"));
  EXPECT_TRUE(contains(page, "audit_replay_region_bytes_sent_total{region=\"us\"} 12288\n"));
  EXPECT_TRUE(contains(page,
                       "audit_replay_webhook_attempts_total{region=\"us\",outcome=\"http_error\","
                       "code=\"503\"} 1\n"));
  EXPECT_TRUE(contains(page,
                       "audit_replay_webhook_attempts_total{region=\"us\",outcome=\"transport_"
                       "error\",code=\"none\"} 1\n"));
  EXPECT_TRUE(contains(page,
                       "audit_replay_webhook_attempts_total{region=\"us\",outcome=\"delivered\","
                       "code=\"200\"} 1\n"));
  EXPECT_TRUE(contains(page, "# TYPE audit_replay_delivery_duration_seconds histogram\n"));
  // Cumulative buckets.
  EXPECT_TRUE(contains(
      page, "audit_replay_delivery_duration_seconds_bucket{region=\"us\",le=\"0.005\"} 1\n"));
  EXPECT_TRUE(
      contains(page, "audit_replay_delivery_duration_seconds_bucket{region=\"us\",le=\"5\"} 1\n"));
  EXPECT_TRUE(
      contains(page, "audit_replay_delivery_duration_seconds_bucket{region=\"us\",le=\"10\"} 2\n"));
  EXPECT_TRUE(contains(
      page, "audit_replay_delivery_duration_seconds_bucket{region=\"us\",le=\"+Inf\"} 2\n"));
  EXPECT_TRUE(contains(page, "audit_replay_delivery_duration_seconds_count{region=\"us\"} 2\n"));
  EXPECT_TRUE(
      contains(page, "audit_replay_delivery_duration_seconds_sum{region=\"us\"} 7.00390625\n"));
  EXPECT_TRUE(contains(
      page, "audit_replay_delivery_duration_seconds_bucket{region=\"eu\",le=\"300\"} 0\n"));
  EXPECT_TRUE(contains(
      page, "audit_replay_delivery_duration_seconds_bucket{region=\"eu\",le=\"+Inf\"} 1\n"));
  EXPECT_TRUE(contains(page, "audit_replay_build_info{version=\"" AUDIT_REPLAY_VERSION "\"} 1\n"));
  EXPECT_TRUE(contains(page, "\nprocess_open_fds "));
  EXPECT_TRUE(contains(page, "\nprocess_start_time_seconds "));
  EXPECT_FALSE(contains(page, "audit_replay_job_events_total"));  // a gauge must not end in _total
}

TEST(DeliveryMetrics, PagePassesPromtool) {
  jobs::DeliveryMetrics m;
  webhook::AttemptResult accepted;
  accepted.status = 204;
  m.attempt("us", accepted);
  m.delivered("us", 5, 50, 0.2);
  const std::string page = render(m);
  if (::access("/usr/bin/promtool", X_OK) != 0) {
    GTEST_SKIP() << "promtool is not installed (Debian: apt-get install prometheus)";
  }
  char path[] = "/tmp/metrics-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, page.data(), page.size()), static_cast<ssize_t>(page.size()));
  ::close(fd);
  const std::string command = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = ::pclose(pipe);
  ::unlink(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out << "\n" << page;
  EXPECT_EQ(out, "") << page;
}

}  // namespace
}  // namespace audit::api
