#pragma once
// Runs one replay job through accepted → pending → running → completed | failed.
//
// Batches come from a BatchPipeline (read on a strand, encoded on any worker, a few
// prepared ahead). Deliveries are strictly in order; the checkpoint advances only after a
// 2xx. All methods run on the event loop.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "common/backoff.hpp"
#include "common/rate_limit.hpp"
#include "common/scheduler.hpp"
#include "jobs/batch_pipeline.hpp"
#include "jobs/job.hpp"
#include "jobs/job_observer.hpp"
#include "jobs/runtime.hpp"
#include "source/event_source.hpp"
#include "store/signature_cache.hpp"
#include "webhook/batch_sender.hpp"
#include "webhook/encoder.hpp"

namespace audit::jobs {

class ReplayJob : public std::enable_shared_from_this<ReplayJob>,
                  private webhook::DeliveryObserver {
 public:
  /** `observer` (the service) outlives the job and hears what it reports. */
  ReplayJob(Runtime& runtime, JobObserver& observer, JobRecord record,
            source::EventSourcePtr source);

  /** Drives the job until it ends or stop() is called. Spawn once. */
  boost::asio::awaitable<void> run();

  /** Operator cancel: the job fails with reason "canceled". */
  void cancel();
  /** Shutdown: checkpoint and leave the job active, to resume at the next start. */
  void stop();
  /** A reload happened: new settings from the next batch, or fail if the webhook is gone. */
  void settingsChanged();

  /** Completes when run() has returned. */
  boost::asio::awaitable<void> waitFinished();

  /** The job as shown: statuses appear once durable, progress live. */
  const JobRecord& record() const { return visible_; }
  bool finished() const { return finished_; }
  /** While a batch waits to be retried: attempts so far, the last answer, when the next
   *  attempt is due and why; nullopt otherwise. */
  std::optional<RetryState> retryState() const;

 private:
  void setStatus(JobStatus status, std::optional<JobError> error = {});
  /**
   * Stores the status set by setStatus() (synced), then makes it visible. While the store
   * refuses, waits with the region's backoff and tries again; false only when the daemon
   * stops, or a cancel abandons a step on the way (the working copy must then go back to
   * what is stored).
   */
  boost::asio::awaitable<bool> transition();
  boost::asio::awaitable<bool> persist();
  boost::asio::awaitable<bool> size();
  boost::asio::awaitable<void> deliverAll();
  boost::asio::awaitable<void> openReader();
  void prepareSettings();
  std::optional<JobError> checkRegion() const;
  void onDelivered(const PreparedBatch& batch);
  /** The range is moving: the source's retry budget starts again. */
  void noteProgress();
  /**
   * docs/kafka.md: a source that is unreachable (source::Errc::busy — brokers down, a fetch that
   * timed out) is tried again with the region's backoff. Waits the next backoff and returns
   * true, or false once retry.max_elapsed would pass without progress (or on interrupt).
   */
  boost::asio::awaitable<bool> backOffFromSource(const std::string& why);
  bool interrupted() const;
  void interrupt();

  // webhook::DeliveryObserver, for the job's sender.
  void attempted(const webhook::AttemptResult& attempt) override;
  void retryScheduled(unsigned attempts, const webhook::AttemptResult& last, Millis wait,
                      const std::string& reason) override;
  void retrySent() override;

  struct RetryWait {
    unsigned attempts = 0;
    int last_status = 0;  // 0: no answer
    EpochMillis next_ms = 0;
    std::string reason;
  };

  Runtime& runtime_;
  JobObserver& observer_;
  std::optional<RetryWait> retry_wait_;  // the batch in flight waits to be retried
  JobRecord record_;                     // the working copy, ahead of the store
  JobRecord visible_;                    // what was last stored, with live progress
  source::EventSourcePtr source_;

  // The store as it was when the job entered `pending` (null after a restart: the resumed
  // job reads what is stored then, from its checkpoint).
  std::shared_ptr<const source::SourceView> view_;
  BatchPipeline pipeline_;
  std::uint64_t generation_ = ~0ull;  // settings the pipeline was configured with
  webhook::BatchSenderPtr sender_;
  std::string sender_error_;

  int last_response_code_ = 0;  // of the last delivery attempt; 0: none or no HTTP answer
  bool cancel_requested_ = false;
  bool stop_requested_ = false;
  std::optional<JobError> abort_error_;

  MonoTime last_checkpoint_;
  MonoTime last_progress_;
  std::optional<Backoff> source_backoff_;
  WaitTimerPtr retry_timer_;  // the source's and the store's retries, the rate limit's turns;
                              // interrupt() cancels it
  std::shared_ptr<RateLimiter> rate_;  // the region's rate_limit; null: unlimited
  bool reopen_reader_ = false;
  bool finished_ = false;
  boost::asio::steady_timer finished_signal_;
};
using ReplayJobPtr = std::shared_ptr<ReplayJob>;

}  // namespace audit::jobs
