#pragma once
// Forwards one region's events to its webhook in arrival order, as they are stored
// (docs/forwarding.md). Never gives up and never skips: while the webhook fails the events
// wait in the store and the batch is retried with the region's backoff; a non-retryable
// answer pauses forwarding with the reason until resume() or a reload. The position (what
// the webhook has acknowledged) is stored at least once a second while it moves.
//
// Shares the read → encode pipeline of replay jobs; has its own connection. All methods run
// on the event loop.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/backoff.hpp"
#include "common/rate_limit.hpp"
#include "common/scheduler.hpp"
#include "jobs/batch_pipeline.hpp"
#include "jobs/forward_record.hpp"
#include "jobs/job_observer.hpp"
#include "jobs/runtime.hpp"
#include "source/event_source.hpp"
#include "webhook/batch_sender.hpp"

namespace audit::jobs {

class Forwarder : public std::enable_shared_from_this<Forwarder>,
                  private webhook::DeliveryObserver {
 public:
  /** `source` null: the region cannot forward, for `unusable`'s reason. */
  Forwarder(Runtime& runtime, JobObserver& observer, std::string region,
            source::EventSourcePtr source, std::string unusable = {});

  /** Loads the stored position (or fixes the start) and forwards until stop(). Spawn once. */
  boost::asio::awaitable<void> run();
  /** Completes when run() has returned. */
  boost::asio::awaitable<void> waitFinished();

  /** Events were stored for the region: look for them now rather than at the next poll. */
  void wake();
  /** Shutdown or the region no longer forwards: store the position and end run(). */
  void stop();
  /** A reload happened: new settings from the next batch, and a pause by a non-retryable
   *  answer ends. */
  void settingsChanged();

  /** The operator's pause: stored, kept across restarts until resume(). */
  boost::asio::awaitable<bool> pause();
  /** Ends any pause, the operator's or a non-retryable answer's. */
  boost::asio::awaitable<bool> resume();

  /** Reads how much waits after the position (off the loop) for status(). */
  boost::asio::awaitable<void> refreshBacklog();
  ForwardStatus status() const;

  const std::string& region() const { return region_; }
  bool finished() const { return finished_; }

 private:
  boost::asio::awaitable<bool> loadOrStart();
  boost::asio::awaitable<bool> persist();
  boost::asio::awaitable<void> forward();
  boost::asio::awaitable<void> openReader();
  /** Waits for wake(), or `timeout`; false when stopped. */
  boost::asio::awaitable<void> waitForWork(Millis timeout);
  /** Waits the source's backoff after a failure to read or store. */
  boost::asio::awaitable<void> backOff(const std::string& why);
  bool prepareSettings();
  std::optional<std::string> unusableReason() const;
  void noteGap(const source::Skipped& skipped);
  void onDelivered(const PreparedBatch& batch);
  void interrupt();

  // webhook::DeliveryObserver, for the forwarder's own sender.
  void attempted(const webhook::AttemptResult& attempt) override;
  void retryScheduled(unsigned attempts, const webhook::AttemptResult& last, Millis wait,
                      const std::string& reason) override;
  void retrySent() override;

  Runtime& runtime_;
  JobObserver& observer_;
  const std::string region_;
  source::EventSourcePtr source_;
  std::string unusable_;  // why the source cannot forward; empty: it can

  ForwardRecord record_;  // position: what the webhook has acknowledged
  bool loaded_ = false;
  bool dirty_ = false;        // record_ moved since it was last stored
  std::string pause_reason_;  // a non-retryable answer's; empty: none
  bool caught_up_ = false;    // the last read found nothing more stored
  std::optional<RetryState> retry_;
  source::ArrivalBacklog backlog_;

  BatchPipeline pipeline_;
  std::uint64_t generation_ = ~0ull;  // settings the pipeline and sender were made with
  webhook::BatchSenderPtr sender_;
  std::shared_ptr<RateLimiter> rate_;  // the region's rate_limit; null: unlimited
  std::optional<Backoff> backoff_;     // the source's and the store's failures
  bool reopen_reader_ = true;

  WaitTimerPtr timer_;       // backoffs and rate-limit turns; interrupt() cancels it
  WaitTimerPtr idle_timer_;  // waits for work: wake() and interrupt() cancel it
  bool wake_pending_ = false;
  struct StoredText;  // the latest serialized record, written in order by persist()
  std::shared_ptr<StoredText> stored_;
  bool stop_requested_ = false;
  MonoTime last_persist_;
  bool finished_ = false;
  boost::asio::steady_timer finished_signal_;
};
using ForwarderPtr = std::shared_ptr<Forwarder>;

}  // namespace audit::jobs
