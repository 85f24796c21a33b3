// One ReplayJob on its own: events from an in-memory source (tests/fakes/memory_source.hpp),
// deliveries to a real receiver on 127.0.0.1, job records in a real store, simulated time,
// and an observer that keeps what the job reports. No service around it: what is checked is
// the job's own pipeline — order, batches, checkpoint, and what it tells its observer.

#include "jobs/replay_job.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/rfc3339.hpp"
#include "sink/receiver.hpp"
#include "tests/fakes/memory_source.hpp"
#include "tests/fakes/recording_job_observer.hpp"
#include "tests/jobs/simulated_engine.hpp"

namespace audit::jobs {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class ReplayJobAlone : public SimulatedEngine {
 protected:
  /** Events {"rt":first+i,"n":i}, i < n, into the in-memory source, last one first. */
  void addEvents(int n, EpochMillis first) {
    std::vector<std::string> lines;
    for (int i = n - 1; i >= 0; --i) {
      lines.push_back("{\"rt\":" + std::to_string(first + i) + ",\"n\":" + std::to_string(i) + "}");
    }
    std::vector<std::string_view> views(lines.begin(), lines.end());
    auto report = source_->ingest(views, false, 0);
    ASSERT_TRUE(report);
    ASSERT_EQ(report->ingested, static_cast<std::size_t>(n));
  }

  JobRecord record(EpochMillis first, EpochMillis last) const {
    JobRecord job;
    job.id = newJobId();
    job.region = "us";
    job.first_ms = first;
    job.last_ms = last;
    job.start_at = formatRfc3339Millis(first);
    job.end_at = formatRfc3339Millis(last);
    job.created_ms = job.updated_ms = scheduler_.clock().nowMillis();
    return job;
  }

  /** Runs `job` on the loop until it ends; @return its record as shown at the end. */
  JobRecord runToTheEnd(JobRecord job) {
    auto replay = std::make_shared<ReplayJob>(*runtime_, observer_, std::move(job), source_);
    asio::co_spawn(io_, replay->run(), asio::use_future).get();
    return asio::co_spawn(
               io_, [replay]() -> asio::awaitable<JobRecord> { co_return replay->record(); },
               asio::use_future)
        .get();
  }

  /** The "n" of each event the receiver accepted, in arrival order. */
  std::vector<int> received() const {
    std::vector<int> numbers;
    for (const std::string& event : receiver_.acceptedEvents()) {
      const auto at = event.find("\"n\":");
      numbers.push_back(std::stoi(event.substr(at + 4)));
    }
    return numbers;
  }

  std::shared_ptr<fakes::MemorySource> source_ = std::make_shared<fakes::MemorySource>();
  fakes::RecordingJobObserver observer_;
};

TEST_F(ReplayJobAlone, DeliversItsRangeInTimeOrderInBatchesAndReportsEach) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  addEvents(95, now - 60'000);
  addEvents(5, now - 120'000);  // before the range

  const JobRecord done = runToTheEnd(record(now - 60'000, now - 1'000));
  EXPECT_EQ(done.status, JobStatus::Completed);
  EXPECT_EQ(done.progress.events_total, 95u);
  EXPECT_EQ(done.progress.events_sent, 95u);
  EXPECT_EQ(done.progress.batches_sent, 10u);

  std::vector<int> expected(95);
  for (int i = 0; i < 95; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(received(), expected) << "every event of the range once, in time order";

  const auto heard = observer_.heard();
  ASSERT_EQ(heard.batches.size(), 10u);
  std::uint64_t events = 0;
  for (const auto& batch : heard.batches) events += batch.events;
  EXPECT_EQ(events, 95u);
  EXPECT_EQ(heard.attempt_statuses, std::vector<int>(10, 200));
  EXPECT_EQ(heard.retries, 0u);
}

TEST_F(ReplayJobAlone, AResumedJobStartsAfterItsCheckpoint) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  addEvents(95, now - 60'000);
  JobRecord resumed = record(now - 60'000, now - 1'000);
  resumed.status = JobStatus::Running;
  resumed.progress.events_total = 95;
  resumed.progress.events_sent = 40;
  resumed.checkpoint = "40";  // the in-memory source's position: 40 events read

  const JobRecord done = runToTheEnd(resumed);
  EXPECT_EQ(done.status, JobStatus::Completed);
  EXPECT_EQ(done.progress.events_sent, 95u);
  const std::vector<int> got = received();
  ASSERT_EQ(got.size(), 55u) << "only what follows the checkpoint";
  EXPECT_EQ(got.front(), 40);
  EXPECT_EQ(got.back(), 94);
}

TEST_F(ReplayJobAlone, ANonRetryableAnswerFailsTheJobWithoutARetry) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  addEvents(30, now - 60'000);
  receiver_.setScript([](const sink::ReceivedRequest&, std::size_t n) {
    if (n == 0) return sink::Reply{};
    return sink::Reply{sink::Reply::Kind::Respond, 400, "bad batch", {}};
  });

  const JobRecord done = runToTheEnd(record(now - 60'000, now - 1'000));
  EXPECT_EQ(done.status, JobStatus::Failed);
  ASSERT_TRUE(done.error);
  EXPECT_EQ(done.error->last_response_code, 400);
  EXPECT_EQ(done.progress.events_sent, 10u) << "the first batch was taken";
  const auto heard = observer_.heard();
  EXPECT_EQ(heard.attempt_statuses, (std::vector<int>{200, 400}));
  EXPECT_EQ(heard.retries, 0u);
  EXPECT_EQ(heard.batches.size(), 1u);
}

// rate_limit: 100 events/s with batches of 10. Each batch waits its turn in the region's
// (simulated) time, so a second of deliveries never holds more than the rate, the burst of a
// tenth of a second and one batch.
class RateLimitedReplayJob : public ReplayJobAlone {
 protected:
  RateLimitedReplayJob() { region_extra_ = "    rate_limit: {events_per_second: 100}\n"; }

  /** Accepts every request, noting its simulated arrival in ms since `began`. */
  void noteArrivals(MonoTime began) {
    receiver_.setScript([this, began](const sink::ReceivedRequest&, std::size_t) {
      std::lock_guard lock(arrivals_mutex_);
      arrivals_.push_back(
          std::chrono::duration_cast<Millis>(scheduler_.clock().monotonicNow() - began).count());
      return sink::Reply{};
    });
  }

  std::mutex arrivals_mutex_;
  std::vector<std::int64_t> arrivals_;
};

TEST_F(RateLimitedReplayJob, EachBatchWaitsItsTurnAndTheRateHolds) {
  const EpochMillis now = scheduler_.clock().nowMillis();
  addEvents(300, now - 60'000);
  noteArrivals(scheduler_.clock().monotonicNow());

  const JobRecord done = runToTheEnd(record(now - 60'000, now - 1'000));
  ASSERT_EQ(done.status, JobStatus::Completed);
  EXPECT_EQ(received().size(), 300u);

  std::lock_guard lock(arrivals_mutex_);
  ASSERT_EQ(arrivals_.size(), 30u);  // batches of 10
  // 300 events at 100/s, the first 10 at once from the full bucket: 2.9 s at least.
  EXPECT_GE(arrivals_.back() - arrivals_.front(), 2'800);
  for (std::size_t first = 0; first < arrivals_.size(); ++first) {
    std::size_t in_second = 0;
    for (std::size_t i = first; i < arrivals_.size() && arrivals_[i] - arrivals_[first] < 1'000;
         ++i) {
      ++in_second;
    }
    EXPECT_LE(in_second * 10, 100u + 10u + 10u) << "the second from batch " << first;
  }
}

}  // namespace
}  // namespace audit::jobs
