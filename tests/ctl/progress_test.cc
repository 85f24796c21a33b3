#include "ctl/progress.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "common/rfc3339.hpp"
#include "ctl/job_view.hpp"
#include "ctl/watch.hpp"

namespace audit::ctl {
namespace {

using namespace std::chrono_literals;

ProgressView running() {
  ProgressView v;
  v.done = 64000;
  v.total = 120000;
  v.rate = 41200;
  v.eta = std::chrono::seconds(2);
  v.label = "running";
  return v;
}

TEST(Progress, RendersTheTextPart) {
  EXPECT_EQ(renderProgressText(running()), "64,000/120,000  53%  41,200 ev/s  ETA 0:02  running");
  ProgressView pending;
  pending.label = "pending";
  EXPECT_EQ(renderProgressText(pending), "0/?  ETA --:--  pending");
}

TEST(Progress, BarTakesTheRestOfTheWidth) {
  // 80 columns: 79 usable, text 51, "[" "]" and two spaces 4: a 24-cell bar, 53% of it filled.
  std::string line = renderProgressLine(running(), 80);
  EXPECT_EQ(line,
            "[############............]  64,000/120,000  53%  41,200 ev/s  ETA 0:02  running");
  EXPECT_EQ(line.size(), 79u);
}

TEST(Progress, ReservedTextWidthKeepsTheBarSteady) {
  ProgressView shorter = running();
  shorter.rate = 0;
  shorter.eta.reset();
  // Without a reserve the shorter text would get a longer bar; with it the bar stays 24.
  std::string line = renderProgressLine(shorter, 80, renderProgressText(running()).size());
  EXPECT_EQ(line.find(']'), 25u);
  EXPECT_GT(renderProgressLine(shorter, 80).find(']'), 25u);
}

TEST(Progress, LiveBarKeepsOneWidthWhateverTheText) {
  const int bar = progressBarWidth(100);
  EXPECT_EQ(bar, 100 - 1 - kProgressTextRoom - 4);
  ProgressView pending;
  pending.label = "pending";
  ProgressView retrying = running();
  retrying.label = "retrying: attempt 12, last response 503, next try in 30s";
  ProgressView done = running();
  done.done = done.total;
  done.complete = true;
  done.label = "completed";
  for (const auto& view : {pending, running(), retrying, done}) {
    const std::string line = renderFixedProgressLine(view, 100, bar);
    EXPECT_EQ(line.find(']'), static_cast<std::size_t>(bar) + 1) << line;
    EXPECT_LE(line.size(), 99u) << line;
  }
  EXPECT_EQ(renderFixedProgressLine(done, 100, bar).substr(0, 3), "[##");
  EXPECT_EQ(progressBarWidth(60), 0);  // too narrow: text only
  EXPECT_EQ(renderFixedProgressLine(pending, 60, 0), "0/?  ETA --:--  pending");
  EXPECT_EQ(progressBarWidth(300), 50);
}

TEST(JobViewRetry, ShowsTheAttemptTheLastAnswerAndTheNextTry) {
  const auto answer = boost::json::parse(R"({"ok":true,"job":{"id":"j1","region":"us",
      "status":"running","progress":{"events_total":10,"events_sent":0}},
      "retry":{"attempt":3,"last_response_code":503,"next_attempt_at":"2026-11-20T20:00:02.000Z",
               "reason":"webhook answered 503"}})")
                          .as_object();
  JobView job = parseJob(answer.at("job").as_object());
  EXPECT_FALSE(job.retry);
  readRetry(answer, job);
  ASSERT_TRUE(job.retry);
  const std::int64_t now = parseRfc3339("2026-11-20T20:00:00.500Z")->ms;
  EXPECT_EQ(formatRetry(*job.retry, now), "retrying: attempt 3, last response 503, next try in 2s");
  EXPECT_NE(formatJobDetails(job, now).find("retrying: attempt 3, last response 503"),
            std::string::npos);
  job.retry->last_response_code.reset();
  EXPECT_EQ(formatRetry(*job.retry, now + 5000),
            "retrying: attempt 3, no response, next try in 0s");
}

TEST(Progress, BarIsCappedOnWideTerminals) {
  std::string line = renderProgressLine(running(), 300);
  EXPECT_EQ(line.find(']'), 51u);  // '[' + 50 cells
}

TEST(Progress, NarrowTerminalsDropTheBarThenCutTheText) {
  EXPECT_EQ(renderProgressLine(running(), 60),
            "64,000/120,000  53%  41,200 ev/s  ETA 0:02  running");
  EXPECT_EQ(renderProgressLine(running(), 21), "64,000/120,000  53% ");
  EXPECT_EQ(renderProgressLine(running(), 0), "");
}

TEST(Progress, CompleteAndUnknownTotals) {
  ProgressView done;
  done.done = 10;
  done.total = 10;
  done.complete = true;
  done.label = "completed";
  EXPECT_EQ(renderProgressLine(done, 40), "[#############]  10/10  100%  completed");
  ProgressView empty_range;
  empty_range.complete = true;
  EXPECT_EQ(renderProgressText(empty_range), "0/?  100%");
  ProgressView unknown;
  unknown.done = 5;
  EXPECT_EQ(renderProgressLine(unknown, 40), "[.....................]  5/?  ETA --:--");
}

TEST(Progress, ShowsBytes) {
  ProgressView v;
  v.bytes = true;
  v.done = 12u << 20;
  v.total = 40u << 20;
  v.rate = 4u << 20;
  v.eta = 7s;
  v.label = "sending";
  EXPECT_EQ(renderProgressText(v), "12.0 MiB/40.0 MiB  30%  4.0 MiB/s  ETA 0:07  sending");
}

TEST(RateMeter, AveragesOverTheWindow) {
  RateMeter meter(5s);
  MonoTime t0{};
  EXPECT_EQ(meter.perSecond(), 0);
  meter.add(t0, 0);
  EXPECT_EQ(meter.perSecond(), 0);
  EXPECT_FALSE(meter.eta(100));
  meter.add(t0 + 1s, 1000);
  meter.add(t0 + 2s, 2000);
  EXPECT_DOUBLE_EQ(meter.perSecond(), 1000);
  EXPECT_EQ(meter.eta(5000), std::chrono::seconds(5));
  // A burst long ago falls out of the window: only the last ~5 s count.
  meter.add(t0 + 10s, 2000);
  meter.add(t0 + 11s, 2500);
  meter.add(t0 + 15s, 4500);
  EXPECT_DOUBLE_EQ(meter.perSecond(), 500);
}

TEST(RateMeter, RestartsWhenTheCounterGoesBack) {
  RateMeter meter;
  MonoTime t0{};
  meter.add(t0, 5000);
  meter.add(t0 + 1s, 6000);
  meter.add(t0 + 2s, 100);
  EXPECT_EQ(meter.perSecond(), 0);
}

TEST(Watch, ViewOfAJobShowsRateOnlyWhileRunning) {
  RateMeter meter;
  MonoTime t0{};
  meter.add(t0, 0);
  meter.add(t0 + 1s, 1000);
  JobView job;
  job.status = "running";
  job.state = protocol::JobStatus::Running;
  job.events_sent = 1000;
  job.events_total = 3000;
  auto view = jobProgressView(job, meter);
  EXPECT_EQ(view.rate, 1000);
  EXPECT_EQ(view.eta, std::chrono::seconds(2));
  job.status = "completed";
  job.state = protocol::JobStatus::Completed;
  view = jobProgressView(job, meter);
  EXPECT_TRUE(view.complete);
  EXPECT_EQ(view.rate, 0);
}

}  // namespace
}  // namespace audit::ctl
