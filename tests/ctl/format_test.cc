#include "ctl/format.hpp"

#include <gtest/gtest.h>

#include "ctl/job_view.hpp"
#include "fake_daemon.hpp"

namespace audit::ctl {
namespace {

using std::chrono::seconds;

TEST(Format, GroupsThousands) {
  EXPECT_EQ(groupThousands(0), "0");
  EXPECT_EQ(groupThousands(999), "999");
  EXPECT_EQ(groupThousands(1000), "1,000");
  EXPECT_EQ(groupThousands(64000), "64,000");
  EXPECT_EQ(groupThousands(1234567), "1,234,567");
}

TEST(Format, PrintsBinarySizes) {
  EXPECT_EQ(formatBytes(512), "512 B");
  EXPECT_EQ(formatBytes(1536), "1.5 KiB");
  EXPECT_EQ(formatBytes(41'000'000), "39.1 MiB");
  EXPECT_EQ(formatBytes(3ull << 30), "3.0 GiB");
}

TEST(Format, PrintsClockDurations) {
  EXPECT_EQ(formatClock(seconds(2)), "0:02");
  EXPECT_EQ(formatClock(seconds(754)), "12:34");
  EXPECT_EQ(formatClock(seconds(3723)), "1:02:03");
  EXPECT_EQ(formatClock(seconds(-5)), "0:00");
  EXPECT_EQ(formatUptime(seconds(11723)), "3h 15m");
  EXPECT_EQ(formatUptime(seconds(90)), "1m 30s");
  EXPECT_EQ(formatUptime(seconds(4 * 86400)), "4d 0h");
}

TEST(Format, SaysHowLongAgo) {
  const EpochMillis now = 1'800'000'000'000;
  EXPECT_EQ(formatAgo(now, now), "just now");
  EXPECT_EQ(formatAgo(now, now + 3000), "just now");  // a clock slightly ahead
  EXPECT_EQ(formatAgo(now, now - 42'000), "42 s ago");
  EXPECT_EQ(formatAgo(now, now - 12 * 60'000 - 59'000), "12 min ago");
  EXPECT_EQ(formatAgo(now, now - 5 * 3'600'000), "5 h ago");
  EXPECT_EQ(formatAgo(now, now - 47 * 3'600'000), "47 h ago");
  EXPECT_EQ(formatAgo(now, now - 3 * 86'400'000), "3 d ago");
  EXPECT_EQ(formatAgo(now, ""), "-");
  EXPECT_EQ(formatAgo(now, "garbage"), "garbage");
}

TEST(Format, AlignsTableColumns) {
  Table t;
  t.addRow({"REGION", "STATUS", "X"});
  t.addRow({"us", "running", ""});
  t.addRow({"eu-west", "ok", "last"});
  EXPECT_EQ(t.render(),
            "REGION   STATUS   X\n"
            "us       running\n"
            "eu-west  ok       last\n");
}

TEST(JobView, RendersTheStatusTable) {
  const EpochMillis now = 1'795'000'000'000;
  auto job = parseJob(test::jobObject("us", "running", 64000, 120000));
  job.updated_at = "2026-11-18T10:54:00Z";  // 12 min 40 s before now
  auto other = parseJob(test::jobObject("eu", "pending", 0, 0, "job-2"));
  other.updated_at = "";
  EXPECT_EQ(
      formatJobTable({job, other}, now),
      "REGION  STATUS   PROGRESS        RANGE                                         UPDATED\n"
      "us      running  64,000/120,000  2026-11-20T20:00:00Z .. 2026-11-21T20:00:00Z  12 min ago\n"
      "eu      pending  0/?             2026-11-20T20:00:00Z .. 2026-11-21T20:00:00Z  -\n");
}

TEST(JobView, DetailsIncludeTheError) {
  auto object = test::jobObject("us", "failed", 64000, 120000);
  object["error"] = {{"reason", "webhook answered 400"}, {"last_response_code", 400}};
  auto job = parseJob(object);
  std::string details = formatJobDetails(job, 1'795'000'000'000);
  EXPECT_NE(details.find("status:      failed\n"), std::string::npos) << details;
  EXPECT_NE(details.find("progress:    64,000/120,000 events (53%), 64 batches, 39.1 MiB\n"),
            std::string::npos)
      << details;
  EXPECT_NE(details.find("error:       webhook answered 400 (last response code 400)\n"),
            std::string::npos)
      << details;
  EXPECT_EQ(formatJobOutcome(job),
            "failed: webhook answered 400 (last response code 400) after 64,000/120,000 events");
}

TEST(JobView, SummarisesACompletedJob) {
  auto job = parseJob(test::jobObject("us", "completed", 120000, 120000));
  EXPECT_EQ(formatJobOutcome(job), "completed: 120,000 events in 120 batches (73.2 MiB)");
  EXPECT_EQ(formatJobLine(job),
            "job job-1  region us  completed  2026-11-20T20:00:00Z .. 2026-11-21T20:00:00Z");
}

TEST(JobView, ToleratesMissingFields) {
  auto job = parseJob(boost::json::object{{"status", "accepted"}});
  EXPECT_EQ(job.status, "accepted");
  EXPECT_EQ(job.events_total, 0u);
  EXPECT_FALSE(job.error_reason);
  EXPECT_EQ(formatProgressCount(job), "0/?");
}

TEST(JobView, PrintsStats) {
  boost::json::object stats{{"uptime_seconds", 11723},  {"events_ingested", 1234567},
                            {"events_sent", 1000},      {"batches_sent", 2},
                            {"bytes_sent", 41'000'000}, {"retries", 3},
                            {"store_bytes", 2048}};
  boost::json::object us{{"job", test::jobObject("us", "running", 64000, 120000)},
                         {"webhook", {{"webhook_enabled", true}, {"webhook_status", "active"}}}};
  boost::json::object eu{{"job", nullptr},
                         {"webhook", {{"webhook_enabled", false}, {"webhook_status", "active"}}}};
  stats["regions"] = {{"eu", eu}, {"us", us}, {"odd", 5}};
  EXPECT_EQ(formatStats(stats),
            "uptime:           3h 15m\n"
            "events ingested:  1,234,567\n"
            "events sent:      1,000\n"
            "batches sent:     2\n"
            "bytes sent:       39.1 MiB\n"
            "retries:          3\n"
            "store size:       2.0 KiB\n"
            "regions:\n"
            "  REGION  JOB      PROGRESS        WEBHOOK\n"
            "  eu      -        -               active (disabled)\n"
            "  us      running  64,000/120,000  active\n"
            "  odd: 5\n");
}

}  // namespace
}  // namespace audit::ctl
