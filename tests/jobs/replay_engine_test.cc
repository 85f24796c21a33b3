// The job engine on a real store whose job records can be refused on demand, delivering to a
// real receiver on 127.0.0.1, in simulated time (tests/jobs/simulated_engine.hpp): every wait
// of the engine (backoffs, retries of the store) ends as soon as it starts, so a schedule of
// seconds runs in microseconds.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/rfc3339.hpp"
#include "common/simulated_scheduler.hpp"
#include "config/config.hpp"
#include "jobs/engine.hpp"
#include "jobs/replay_service.hpp"
#include "jobs/runtime.hpp"
#include "sink/receiver.hpp"
#include "store/event_store.hpp"
#include "tests/fakes/refusing_store.hpp"
#include "tests/jobs/simulated_engine.hpp"

namespace audit::jobs {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

class ReplayEngine : public SimulatedEngine {
 protected:
  void SetUp() override {
    SimulatedEngine::SetUp();
    if (HasFatalFailure()) return;
    startService();
  }

  store::Store& engineStore() override {
    store_ = std::make_unique<fakes::RefusingStore>(*real_store_);
    return *store_;
  }

  void startService() {
    service_ = std::make_unique<ReplayService>(*runtime_);
    std::string error;
    ASSERT_TRUE(onLoop<bool>([&]() -> asio::awaitable<bool> {
      const Expected<> started = co_await service_->start();
      if (!started) error = started.message();
      co_return started.has_value();
    })) << error;
  }

  /** Stops every job at its checkpoint, as the daemon does on SIGTERM. */
  void stopService() {
    onLoop<bool>([&]() -> asio::awaitable<bool> {
      co_await service_->shutdown();
      co_return true;
    });
    service_.reset();
  }

  void TearDown() override {
    if (service_)
      onLoop<bool>([&]() -> asio::awaitable<bool> {
        co_await service_->shutdown();
        co_return true;
      });
    SimulatedEngine::TearDown();
  }

  Outcome<JobRecord> putJob(EpochMillis first, EpochMillis last) {
    ReplayRequest request;
    request.region = "us";
    request.start_at = formatRfc3339Millis(first);
    request.end_at = formatRfc3339Millis(last);
    return onLoop<Outcome<JobRecord>>([&]() -> asio::awaitable<Outcome<JobRecord>> {
      co_return co_await service_->putJob(request);
    });
  }

  JobSnapshot job() {
    return onLoop<JobSnapshot>([&]() -> asio::awaitable<JobSnapshot> {
      co_return service_->getJob(std::string("us")).value();
    });
  }

  std::string jobStatus() {
    auto snapshot = job();
    return std::string(snapshot.record ? toString(snapshot.record->status) : "unconfigured");
  }

  void ingest(int n, EpochMillis first) {
    std::vector<std::string> lines;
    for (int i = 0; i < n; ++i) {
      lines.push_back("{\"rt\":" + std::to_string(first + i) + ",\"n\":" + std::to_string(i) + "}");
    }
    IngestRequest request;
    request.region = "us";
    request.events.assign(lines.begin(), lines.end());
    auto report = onLoop<Outcome<source::IngestReport>>(
        [&]() -> asio::awaitable<Outcome<source::IngestReport>> {
          co_return co_await service_->ingest(request);
        });
    ASSERT_TRUE(report);
    ASSERT_EQ(report->ingested, static_cast<std::size_t>(n));
  }

  /** The simulated time of each request the receiver got, in ms since the test began. */
  std::vector<std::int64_t> arrivals() {
    std::lock_guard lock(arrivals_mutex_);
    return arrivals_;
  }
  /** Answers every request with `reply`, noting its simulated arrival time. */
  void answerEveryRequest(sink::Reply reply) {
    const MonoTime began = scheduler_.clock().monotonicNow();
    receiver_.setScript([this, reply, began](const sink::ReceivedRequest&, std::size_t) {
      std::lock_guard lock(arrivals_mutex_);
      arrivals_.push_back(
          std::chrono::duration_cast<Millis>(scheduler_.clock().monotonicNow() - began).count());
      return reply;
    });
  }

  std::unique_ptr<fakes::RefusingStore> store_;
  std::mutex arrivals_mutex_;
  std::vector<std::int64_t> arrivals_;
  std::unique_ptr<ReplayService> service_;
};

TEST_F(ReplayEngine, AStatusThatCannotBeStoredHoldsTheJobUntilTheStoreTakesItAgain) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  ingest(100, now - 60'000);
  store_->job_writes_left = 0;
  auto put = putJob(now - 120'000, now - 1'000);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, 500) << "the accepted record itself cannot be stored";

  // The accepted record is stored; the `pending` status cannot be.
  store_->job_writes_left = 1;
  put = putJob(now - 120'000, now - 1'000);
  ASSERT_TRUE(put) << put.error().reason;
  ASSERT_TRUE(waitUntil([&] { return store_->refused >= 4; }, 10s))
      << "the job keeps trying to store its next status";
  EXPECT_EQ(jobStatus(), "accepted") << "only a stored status is shown";
  EXPECT_EQ(receiver_.stats().events, 0u) << "the job went no further than its stored status";

  store_->job_writes_left = -1;
  ASSERT_TRUE(waitUntil([&] { return jobStatus() == "completed"; }, 20s)) << jobStatus();
  EXPECT_EQ(receiver_.stats().events, 100u);
  auto stored = real_store_->getRecord(store::RecordKind::Job, "us");
  ASSERT_TRUE(stored && *stored);
  EXPECT_NE((*stored)->find("\"completed\""), std::string::npos) << **stored;
}

// A 503 with Retry-After: 7 is retried every 7 s of the region's time until
// retry.max_elapsed (60 s) is spent; the last wait is cut to what is left of it. The minute
// of retries takes milliseconds.
TEST_F(ReplayEngine, RetryAfterSetsEachWaitAndMaxElapsedEndsTheJob) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  ingest(5, now - 60'000);
  answerEveryRequest(sink::Reply{sink::Reply::Kind::Respond, 503, "busy", {{"Retry-After", "7"}}});
  ASSERT_TRUE(putJob(now - 120'000, now - 1'000));
  ASSERT_TRUE(waitUntil([&] { return jobStatus() == "failed"; }, 20s)) << jobStatus();

  const std::vector<std::int64_t> at = arrivals();
  ASSERT_GE(at.size(), 3u);
  for (std::size_t i = 1; i + 1 < at.size(); ++i) {
    EXPECT_EQ(at[i] - at[i - 1], 7'000) << "attempt " << i;
  }
  EXPECT_LE(at.back() - at.front(), 60'000) << "no attempt after the budget";
  EXPECT_GE(at.back() - at.front(), 56'000) << "the budget is used up to its end";
  const JobSnapshot failed = job();
  ASSERT_TRUE(failed.record && failed.record->error);
  EXPECT_EQ(failed.record->error->last_response_code, 503);
  EXPECT_EQ(failed.record->progress.events_sent, 0u);
}

// A cancel while a batch waits to be retried ends the wait at once: the job is failed
// (canceled) without its wait running out and without another attempt.
TEST_F(ReplayEngine, ACancelDuringARetryWaitEndsTheJobAtOnce) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  ingest(5, now - 60'000);
  hold_time_ = true;
  answerEveryRequest(sink::Reply{sink::Reply::Kind::Respond, 503, "busy", {{"Retry-After", "30"}}});
  ASSERT_TRUE(putJob(now - 120'000, now - 1'000));
  ASSERT_TRUE(waitUntil([&] { return job().retry.has_value(); }, 10s)) << jobStatus();
  const MonoTime waiting_since = scheduler_.clock().monotonicNow();
  EXPECT_EQ(job().retry->last_response_code, 503);

  auto canceled = onLoop<Outcome<JobRecord>>([&]() -> asio::awaitable<Outcome<JobRecord>> {
    co_return co_await service_->cancelJob(std::string("us"));
  });
  ASSERT_TRUE(canceled) << canceled.error().reason;
  EXPECT_EQ(canceled->status, JobStatus::Failed);
  ASSERT_TRUE(canceled->error);
  EXPECT_EQ(canceled->error->reason, "canceled");
  EXPECT_EQ(scheduler_.clock().monotonicNow(), waiting_since) << "no time passed";
  EXPECT_EQ(scheduler_.pendingWaits(), 0u) << "the retry wait ended with the cancel";
  EXPECT_EQ(arrivals().size(), 1u) << "no attempt after the cancel";
  hold_time_ = false;
}

// A job stopped at shutdown resumes from its checkpoint when the engine starts again: the
// batches delivered before are not sent twice, and the rest arrive.
TEST_F(ReplayEngine, AResumedJobStartsAtItsCheckpoint) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  ingest(100, now - 60'000);
  // Three batches of 10 are taken, then the webhook answers 503 until the restart.
  std::atomic<bool> open{false};
  receiver_.setScript([&open](const sink::ReceivedRequest&, std::size_t n) {
    if (n < 3 || open) return sink::Reply{};
    return sink::Reply{sink::Reply::Kind::Respond, 503, "down", {{"Retry-After", "1"}}};
  });
  ASSERT_TRUE(putJob(now - 120'000, now - 1'000));
  ASSERT_TRUE(waitUntil([&] { return job().retry.has_value(); }, 10s)) << jobStatus();
  EXPECT_EQ(receiver_.stats().events, 30u);
  stopService();

  open = true;
  startService();
  ASSERT_TRUE(waitUntil([&] { return jobStatus() == "completed"; }, 20s)) << jobStatus();
  const std::vector<std::string> events = receiver_.acceptedEvents();
  EXPECT_EQ(events.size(), 100u) << "each event once: the first 30 were not sent again";
  std::set<std::string> distinct(events.begin(), events.end());
  EXPECT_EQ(distinct.size(), 100u);
  EXPECT_EQ(job().record->progress.events_sent, 100u);
}

}  // namespace
}  // namespace audit::jobs
