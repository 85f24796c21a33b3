#include "jobs/replay_job.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/offload.hpp"
#include "common/rfc3339.hpp"
#include "common/units.hpp"
#include "jobs/webhook_options.hpp"
#include "source/error.hpp"

namespace audit::jobs {
namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

constexpr auto kCheckpointEvery = std::chrono::seconds(1);
constexpr auto kNever = asio::steady_timer::time_point::max();
}  // namespace

ReplayJob::ReplayJob(Runtime& runtime, JobObserver& observer, JobRecord record,
                     source::EventSourcePtr source)
    : runtime_(runtime),
      observer_(observer),
      record_(std::move(record)),
      visible_(record_),
      source_(std::move(source)),
      pipeline_(runtime.loop, runtime.workers),
      retry_timer_(runtime.scheduler.makeTimer(runtime.loop)),
      finished_signal_(runtime.loop, kNever) {}

asio::awaitable<void> ReplayJob::run() {
  auto self = shared_from_this();  // the job outlives every step of its own coroutine
  last_checkpoint_ = runtime_.clock.monotonicNow();
  spdlog::info("job started region={} job={} status={} range={}..{}{}", record_.region, record_.id,
               toString(record_.status), record_.start_at, record_.end_at,
               record_.webhook_endpoint.empty()
                   ? ""
                   : " endpoint=" + config::withoutPassword(record_.webhook_endpoint));

  // Each step starts only from a stored status: a transition that could not be stored
  // leaves the working copy back at the stored one (visible_).
  if (record_.status == JobStatus::Accepted && !interrupted()) {
    setStatus(JobStatus::Pending);
    if (!co_await transition()) record_ = visible_;
  }
  if (record_.status == JobStatus::Pending && !interrupted()) {
    bool sized = co_await size();
    if (sized && !interrupted()) {
      setStatus(JobStatus::Running);
      if (!co_await transition()) record_ = visible_;
    }
  }
  if (record_.status == JobStatus::Running && !interrupted()) co_await deliverAll();

  if (isActive(record_.status)) {
    if (cancel_requested_) {
      // The webhook's last answer (a 503 being retried, say) stays visible after a cancel.
      setStatus(JobStatus::Failed, JobError{"canceled", last_response_code_});
      if (!co_await transition()) record_ = visible_;  // stopped while the store refused
    } else if (abort_error_) {
      setStatus(JobStatus::Failed, *abort_error_);
      if (!co_await transition()) record_ = visible_;
    } else {
      co_await persist();  // shutdown: keep the checkpoint, resume at the next start
      spdlog::info("job paused region={} job={} events_sent={}", record_.region, record_.id,
                   record_.progress.events_sent);
    }
  }
  sender_.reset();  // closes the connection
  finished_ = true;
  finished_signal_.cancel();
}

bool ReplayJob::interrupted() const {
  return cancel_requested_ || stop_requested_ || abort_error_.has_value();
}

void ReplayJob::interrupt() {
  if (sender_) sender_->cancel();
  retry_timer_->cancel();
  pipeline_.interrupt();
}

void ReplayJob::cancel() {
  cancel_requested_ = true;
  interrupt();
}

void ReplayJob::stop() {
  stop_requested_ = true;
  interrupt();
}

void ReplayJob::settingsChanged() {
  if (auto error = checkRegion()) {
    abort_error_ = std::move(error);
    interrupt();
  }
}

asio::awaitable<void> ReplayJob::waitFinished() {
  if (!finished_) {
    co_await finished_signal_.async_wait(asio::as_tuple(use_awaitable));
  }
}

std::optional<JobError> ReplayJob::checkRegion() const {
  const config::RegionSettings* region = runtime_.region(record_.region);
  if (region == nullptr) {
    return JobError{"region " + record_.region + " was removed from the configuration", 0};
  }
  if (!record_.webhook_endpoint.empty()) return std::nullopt;  // the job's own webhook
  if (!region->webhook.configured() || !region->webhook.enabled) {
    return JobError{"webhook for region " + record_.region + " is not enabled", 0};
  }
  return std::nullopt;
}

asio::awaitable<bool> ReplayJob::persist() {
  record_.updated_ms = runtime_.clock.nowMillis();
  std::string text = serializeRecord(record_);
  auto work = [&store = runtime_.store, region = record_.region, text] {
    return store.putRecord(store::RecordKind::Job, region, text);
  };
  auto written = co_await offload(runtime_.workers, work);
  last_checkpoint_ = runtime_.clock.monotonicNow();
  if (!written) {
    spdlog::error("job record not stored region={} job={}: {}", record_.region, record_.id,
                  written.error().message());
    co_return false;
  }
  // Only what is durable becomes visible (docs/http-api.md).
  visible_ = record_;
  co_return true;
}

void ReplayJob::setStatus(JobStatus status, std::optional<JobError> error) {
  record_.status = status;
  record_.error = std::move(error);
}

asio::awaitable<bool> ReplayJob::transition() {
  const JobStatus status = record_.status;
  // A status is shown and acted on only once it is stored: until then the job goes no
  // further. It tries again with the region's backoff (a full disk, a store that recovers
  // from a background error) and gives up only when the daemon stops (the job then resumes
  // from its stored state) or, for a step on the way, when the job is canceled.
  std::optional<Backoff> backoff;
  while (!co_await persist()) {
    const bool abandon = stop_requested_ || (cancel_requested_ && status != JobStatus::Failed);
    if (abandon) co_return false;
    const config::RegionSettings* region = runtime_.region(record_.region);
    if (!backoff) {
      backoff.emplace(region ? region->retry.initial_backoff : Millis(1'000),
                      region ? region->retry.max_backoff : Millis(30'000));
    }
    const Millis wait = backoff->next();
    spdlog::error(
        "job region={} job={} holds: its {} status could not be stored; trying again "
        "in {}",
        record_.region, record_.id, toString(status), formatDuration(wait));
    co_await retry_timer_->wait(wait);
  }
  if (status == JobStatus::Failed) {
    spdlog::warn("job failed region={} job={} reason=\"{}\" last_response_code={}", record_.region,
                 record_.id, record_.error ? record_.error->reason : "",
                 record_.error ? record_.error->last_response_code : 0);
  } else {
    spdlog::info("job {} region={} job={} events_total={} events_sent={}", toString(status),
                 record_.region, record_.id, record_.progress.events_total,
                 record_.progress.events_sent);
  }
  co_return true;
}

asio::awaitable<bool> ReplayJob::size() {
  source::TimeRange range{record_.first_ms, record_.last_ms};
  // The plan also fixes what the job reads (a Kafka region: each partition's end offset,
  // docs/kafka.md). Its checkpoint is stored with the `running` transition, so a restart keeps it.
  auto work = [source = source_, range] {
    std::string detail;
    auto planned = source->plan(range, &detail);
    return std::make_pair(std::move(planned), std::move(detail));
  };
  noteProgress();
  for (;;) {
    auto sized = co_await offload(runtime_.workers, work);
    if (sized.first) {
      noteProgress();
      record_.progress.events_total = sized.first->count;
      record_.progress.events_total_exact = sized.first->exact;
      record_.checkpoint = sized.first->checkpoint;
      // What was counted is what is read: later arrivals in the range are not this job's.
      view_ = std::move(sized.first->view);
      co_return true;
    }
    const std::string why = sized.second.empty() ? sized.first.error().message() : sized.second;
    if (sized.first.error() == source::Errc::busy) {
      const bool again = co_await backOffFromSource(why);
      if (again) continue;
      if (interrupted()) co_return false;  // stopped while waiting: stays pending
    }
    abort_error_ = JobError{"store failed while sizing the range: " + why, 0};
    co_return false;
  }
}

void ReplayJob::prepareSettings() {
  const config::RegionSettings& region = *runtime_.region(record_.region);
  // rate_limit protects the region's webhook; a request's own endpoint is another receiver.
  rate_ = record_.webhook_endpoint.empty() ? runtime_.rateLimiter(record_.region) : nullptr;
  pipeline_.configure(pipelineSettings(runtime_, region));
  sender_.reset();
  config::WebhookSettings hook = region.webhook;
  if (!record_.webhook_endpoint.empty()) {
    // The request's own webhook: its endpoint and authorization, none of the region's
    // headers (they may carry the region receiver's credentials).
    hook.endpoint = record_.webhook_endpoint;
    hook.authorization = record_.webhook_authorization;
    hook.authorization_file.reset();
    hook.headers.clear();
    hook.enabled = true;
  }
  auto sender =
      webhook::BatchSender::create(runtime_.loop, clientOptions(hook), retryOptions(region.retry),
                                   runtime_.scheduler, runtime_.signer);
  sender_error_.clear();
  if (!sender) {
    sender_error_ = sender.message();
  } else {
    sender_ = std::move(*sender);
    sender_->setObserver(this);
    sender_->setLogContext("region=" + record_.region + " job=" + record_.id + " endpoint=\"" +
                           loggableEndpoint(hook.endpoint) + "\"");
  }
  generation_ = runtime_.generation;
}

asio::awaitable<void> ReplayJob::openReader() {
  source::TimeRange range{record_.first_ms, record_.last_ms};
  auto work = [source = source_, range, checkpoint = record_.checkpoint, view = view_] {
    return source->openReaderAt(range, checkpoint, view);
  };
  auto opened = co_await offload(runtime_.workers, work);
  if (!opened) {
    abort_error_ = JobError{"store failed opening the range: " + opened.error().message(), 0};
    pipeline_.setReader(nullptr);
    co_return;
  }
  pipeline_.setReader(std::shared_ptr<source::EventReader>(std::move(*opened)));
}

std::optional<RetryState> ReplayJob::retryState() const {
  if (!retry_wait_ || finished_) return std::nullopt;
  return RetryState{retry_wait_->attempts, retry_wait_->last_status, retry_wait_->next_ms,
                    retry_wait_->reason};
}

void ReplayJob::noteProgress() {
  last_progress_ = runtime_.clock.monotonicNow();
  source_backoff_.reset();
}

asio::awaitable<bool> ReplayJob::backOffFromSource(const std::string& why) {
  const config::RegionSettings* region = runtime_.region(record_.region);
  if (region == nullptr || interrupted()) co_return false;
  if (!source_backoff_) {
    source_backoff_.emplace(region->retry.initial_backoff, region->retry.max_backoff);
  }
  const Millis wait = source_backoff_->next();
  const auto stalled = runtime_.clock.monotonicNow() - last_progress_;
  if (stalled + wait > region->retry.max_elapsed) co_return false;
  spdlog::warn("job region={} job={}: event source unavailable, retrying in {}: {}", record_.region,
               record_.id, formatDuration(wait), why);
  co_await retry_timer_->wait(wait);
  co_return !interrupted();
}

void ReplayJob::onDelivered(const PreparedBatch& batch) {
  record_.checkpoint = batch.checkpoint;
  record_.progress.events_sent += batch.events;
  record_.progress.batches_sent += 1;
  record_.progress.bytes_sent += batch.body.bytes.size();
  record_.progress.last_event_at = batch.last_time;
  visible_.progress = record_.progress;  // progress is shown live; statuses only once durable
}

void ReplayJob::attempted(const webhook::AttemptResult& attempt) {
  last_response_code_ = attempt.error ? 0 : attempt.status;
  // A job's own webhook is not the region's: its attempts leave the region's status alone.
  if (record_.webhook_endpoint.empty()) observer_.webhookAttempt(record_.region, attempt);
}

void ReplayJob::retryScheduled(unsigned attempts, const webhook::AttemptResult& last, Millis wait,
                               const std::string& reason) {
  retry_wait_ = RetryWait{attempts, last.status, runtime_.clock.nowMillis() + wait.count(), reason};
}

void ReplayJob::retrySent() {
  observer_.retrySent(record_.region);
}

asio::awaitable<void> ReplayJob::deliverAll() {
  noteProgress();  // a resumed job starts its retry budget here
  while (!interrupted()) {
    if (generation_ != runtime_.generation) {
      // First batch, or a reload: settings apply from the next batch (docs/configuration.md). What
      // was prepared with the old settings is dropped and read again from the checkpoint.
      if (auto error = checkRegion()) {
        abort_error_ = std::move(error);
        break;
      }
      prepareSettings();
      if (!sender_) {
        abort_error_ = JobError{"webhook endpoint unusable: " + sender_error_, 0};
        break;
      }
      reopen_reader_ = true;
    }
    if (reopen_reader_) {
      reopen_reader_ = false;
      co_await openReader();  // at the checkpoint: what was read ahead is read again
      if (!pipeline_.hasReader()) break;
    }
    pipeline_.fill();
    PreparedBatch* front = co_await pipeline_.front();
    if (front == nullptr) continue;  // interrupted while waiting
    PreparedBatch& batch = *front;
    if (batch.generation != generation_) continue;
    if (batch.error) {
      const std::string why = *batch.error;
      if (batch.error_code == source::Errc::busy) {
        const bool again = co_await backOffFromSource(why);
        if (again) {
          reopen_reader_ = true;
          continue;
        }
        if (interrupted()) break;
      }
      abort_error_ = JobError{"store failed reading the range: " + why, 0};
      break;
    }
    if (batch.end) {
      // Every event of the range was acknowledged; the total is now exact.
      record_.progress.events_total = record_.progress.events_sent;
      record_.progress.events_total_exact = true;
      setStatus(JobStatus::Completed);
      if (!co_await transition()) record_ = visible_;  // resumes from the stored checkpoint
      co_return;
    }
    if (rate_) {
      // The batch waits its turn under rate_limit; its retries are paced by the backoff and
      // not counted again.
      const Millis turn =
          rate_->take(batch.events, batch.body.bytes.size(), runtime_.clock.monotonicNow());
      if (turn > Millis(0)) {
        co_await retry_timer_->wait(turn);
        if (interrupted()) continue;
      }
    }
    // Arguments of a co_await are plain lvalues: GCC 12 mishandles temporaries there.
    const std::string key = record_.id + "-" + batch.identity;
    const MonoTime delivery_started = runtime_.clock.monotonicNow();
    auto result = co_await sender_->deliver(batch.body, key);
    retry_wait_.reset();
    if (result.canceled) continue;
    if (!result.delivered) {
      abort_error_ = JobError{result.reason, result.last_status};
      break;
    }
    noteProgress();
    onDelivered(batch);
    observer_.batchDelivered(
        record_.region,
        {batch.events, batch.body.bytes.size(),
         std::chrono::duration<double>(runtime_.clock.monotonicNow() - delivery_started).count()});
    if (batch.reused > 0) observer_.signaturesReused(batch.reused);
    pipeline_.keepSignatures(batch);
    pipeline_.pop();
    if (runtime_.clock.monotonicNow() - last_checkpoint_ >= kCheckpointEvery) co_await persist();
  }
  pipeline_.clear();
}

}  // namespace audit::jobs
