// Forwarding in the job engine (docs/forwarding.md) on a real store, delivering to a real
// receiver on 127.0.0.1, in simulated time (tests/jobs/simulated_engine.hpp): minutes of
// retries and Retry-After waits run in milliseconds, so "never gives up" is checked well past
// the retry budget that ends a replay job.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobs/replay_service.hpp"
#include "tests/jobs/simulated_engine.hpp"

namespace audit::jobs {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const sink::Reply kOk{sink::Reply::Kind::Respond, 200, "ok", {}, 0ms};

class ForwardEngine : public SimulatedEngine {
 protected:
  ForwardEngine() { region_extra_ = "    forward: {enabled: true, start: oldest}\n"; }

  void SetUp() override {
    SimulatedEngine::SetUp();
    if (HasFatalFailure()) return;
    service_ = std::make_unique<ReplayService>(*runtime_);
    std::string error;
    ASSERT_TRUE(onLoop<bool>([&]() -> asio::awaitable<bool> {
      const Expected<> started = co_await service_->start();
      if (!started) error = started.message();
      co_return started.has_value();
    })) << error;
  }

  void TearDown() override {
    if (service_) {
      onLoop<bool>([&]() -> asio::awaitable<bool> {
        co_await service_->shutdown();
        co_return true;
      });
    }
    SimulatedEngine::TearDown();
  }

  /** Ingests events tagged prefix0, prefix1, … with times first, first + step, … */
  std::vector<std::string> ingest(const std::string& prefix, int n, EpochMillis first,
                                  EpochMillis step = 1) {
    std::vector<std::string> lines;
    for (int i = 0; i < n; ++i) {
      lines.push_back("{\"rt\":" + std::to_string(first + i * step) + ",\"id\":\"" + prefix +
                      std::to_string(i) + "\"}");
    }
    IngestRequest request;
    request.region = "us";
    request.events.assign(lines.begin(), lines.end());
    auto report = onLoop<Outcome<source::IngestReport>>(
        [&]() -> asio::awaitable<Outcome<source::IngestReport>> {
          co_return co_await service_->ingest(request);
        });
    EXPECT_TRUE(report && report->ingested == static_cast<std::size_t>(n));
    return lines;
  }

  ForwardStatus status() {
    return onLoop<ForwardStatus>([&]() -> asio::awaitable<ForwardStatus> {
      auto s = co_await service_->forwardStatus(std::string("us"));
      co_return s.value();
    });
  }

  Outcome<ForwardStatus> resume() {
    return onLoop<Outcome<ForwardStatus>>([&]() -> asio::awaitable<Outcome<ForwardStatus>> {
      co_return co_await service_->resumeForward(std::string("us"));
    });
  }

  /** Answers the first `n` requests with `reply`, then 200; notes each one's simulated time. */
  void answerFirst(std::size_t n, sink::Reply reply) {
    const MonoTime began = scheduler_.clock().monotonicNow();
    receiver_.setScript([this, n, reply, began](const sink::ReceivedRequest&, std::size_t i) {
      std::lock_guard lock(mutex_);
      at_ms_.push_back(
          std::chrono::duration_cast<Millis>(scheduler_.clock().monotonicNow() - began).count());
      return i < n ? reply : kOk;
    });
  }

  std::vector<std::int64_t> requestTimes() {
    std::lock_guard lock(mutex_);
    return at_ms_;
  }

  std::mutex mutex_;
  std::vector<std::int64_t> at_ms_;
  std::unique_ptr<ReplayService> service_;
};

// retry.max_elapsed is 60 s and max_attempts 12 here: a replay job would fail after them.
// Forwarding retries 30 answers of 503 + Retry-After: 10 (five minutes of the region's time)
// and then delivers everything, in the order it arrived — the late event included.
TEST_F(ForwardEngine, NeverGivesUpPastTheRetryBudgetAndDeliversInArrivalOrder) {
  answerFirst(30, sink::Reply{sink::Reply::Kind::Respond, 503, "busy", {{"Retry-After", "10"}}});
  const EpochMillis now = scheduler_.clock().nowMillis();
  std::vector<std::string> want = ingest("a", 15, now - 60'000);
  const std::vector<std::string> late = ingest("late", 1, now - 3'600'000);
  want.insert(want.end(), late.begin(), late.end());

  ASSERT_TRUE(waitUntil([&] { return receiver_.stats().events >= want.size(); }, 20s))
      << receiver_.stats().events << " of " << want.size() << " after " << requestTimes().size()
      << " requests";
  EXPECT_EQ(receiver_.acceptedEvents(), want) << "in arrival order, each once";
  const std::vector<std::int64_t> at = requestTimes();
  ASSERT_GE(at.size(), 31u);
  EXPECT_GE(at[30] - at[0], 300'000) << "30 waits of 10 s: well past retry.max_elapsed";

  ASSERT_TRUE(waitUntil([&] { return status().state == ForwardState::Following; }, 10s));
  const ForwardStatus s = status();
  EXPECT_EQ(s.record.events_forwarded, want.size());
  EXPECT_EQ(s.backlog_events, 0u);
  EXPECT_EQ(s.record.position, std::to_string(want.size()));
}

// While the webhook refuses, the status says retrying, with the last answer; events keep
// being stored and wait.
TEST_F(ForwardEngine, TheStatusShowsRetryingWithTheLastAnswerWhileEventsWait) {
  hold_time_ = true;  // the first retry wait does not end until released
  answerFirst(1, sink::Reply{sink::Reply::Kind::Respond, 503, "busy", {}});
  const EpochMillis now = scheduler_.clock().nowMillis();
  std::vector<std::string> want = ingest("a", 10, now - 1'000);
  ASSERT_TRUE(waitUntil([&] { return status().state == ForwardState::Retrying; }, 10s));
  std::vector<std::string> more = ingest("b", 5, now - 500);
  want.insert(want.end(), more.begin(), more.end());
  const ForwardStatus retrying = status();
  ASSERT_TRUE(retrying.retry);
  EXPECT_EQ(retrying.retry->last_response_code, 503);
  EXPECT_EQ(retrying.backlog_events, 15u);
  EXPECT_NE(retrying.reason.find("503"), std::string::npos) << retrying.reason;

  hold_time_ = false;
  ASSERT_TRUE(waitUntil([&] { return receiver_.stats().events >= want.size(); }, 20s));
  EXPECT_EQ(receiver_.acceptedEvents(), want);
}

// A 400 cannot be helped by retrying: forwarding pauses with the reason after one request,
// and resumeForward() continues from the same batch.
TEST_F(ForwardEngine, ANonRetryableAnswerPausesUntilResumed) {
  answerFirst(1, sink::Reply{sink::Reply::Kind::Respond, 400, "bad field", {}});
  const EpochMillis now = scheduler_.clock().nowMillis();
  const std::vector<std::string> want = ingest("a", 12, now - 1'000);
  ASSERT_TRUE(waitUntil([&] { return status().state == ForwardState::Paused; }, 10s));
  const ForwardStatus paused = status();
  EXPECT_NE(paused.reason.find("400"), std::string::npos) << paused.reason;
  EXPECT_EQ(requestTimes().size(), 1u) << "a 400 is not retried";
  EXPECT_EQ(paused.record.events_forwarded, 0u);

  ASSERT_TRUE(resume());
  ASSERT_TRUE(waitUntil([&] { return receiver_.stats().events >= want.size(); }, 20s));
  EXPECT_EQ(receiver_.acceptedEvents(), want) << "nothing skipped";
}

}  // namespace
}  // namespace audit::jobs
