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

// The endpoint as logged: no user information and no query or fragment, which may carry
// credentials (the configuration refuses user information, but a log line must not depend
// on that).
std::string loggableEndpoint(std::string_view url) {
  if (const auto cut = url.find_first_of("?#"); cut != std::string_view::npos) {
    url = url.substr(0, cut);
  }
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const auto host_start = scheme + 3;
  const auto host_end = url.find('/', host_start);
  const auto at = url.substr(0, host_end).rfind('@');
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  return std::string(url.substr(0, host_start)) + std::string(url.substr(at + 1));
}
// Prepared batches waiting for delivery: enough to keep both cores encoding while one
// batch is in flight, few enough that memory stays flat whatever the range.
constexpr std::size_t kWindow = 4;
// Batch buffers idle between a delivery and the next read: the window, the batch on the
// wire and one being read.
constexpr std::size_t kIdleBuffers = kWindow + 2;
constexpr auto kCheckpointEvery = std::chrono::seconds(1);
constexpr auto kNever = asio::steady_timer::time_point::max();
}  // namespace

struct ReplayJob::Prepared {
  std::uint64_t generation = 0;
  bool end = false;
  std::optional<std::string> error;
  boost::system::error_code error_code;  // with error: source::Errc::busy may pass
  std::size_t events = 0;
  EpochMillis last_time = 0;
  std::string checkpoint;
  std::string identity;
  webhook::EncodedBody body;
  // signing.cache: the batch's cache keys and the signatures made for it (stored once the
  // batch was delivered), and how many were reused instead of made.
  std::vector<std::string> signature_keys;
  std::vector<std::string> signatures_made;
  std::size_t reused = 0;
};

void ReplayJob::encodeInto(Prepared& prepared, EventBatch&& batch, webhook::EncodeOptions encode,
                           const JobSigning* signing) {
  encode.signer = signing != nullptr ? signing->signer.get() : nullptr;
  std::vector<std::string> known;
  if (encode.signer != nullptr && signing->cache) {
    // A cache that fails to answer costs only signatures: sign them all.
    const auto form =
        encode.format == webhook::Format::Cef ? store::SignedForm::Cef : store::SignedForm::Json;
    auto found = signing->cache->lookup(signing->region, batch, encode.signer->kid(), form);
    if (found) {
      prepared.signature_keys = std::move(found->keys);
      prepared.reused = found->found;
      known = std::move(found->signatures);
      encode.known_signatures = &known;
      encode.made_signatures = &prepared.signatures_made;
    }
  }
  prepared.body = webhook::encodeBatch(std::move(batch), encode);
}

struct ReplayJob::Slot {
  explicit Slot(const asio::any_io_executor& ex) : ready(ex, kNever) {}
  std::optional<Prepared> value;
  asio::steady_timer ready;  // canceled when value is set (or the wait is interrupted)
};

ReplayJob::ReplayJob(Runtime& runtime, JobObserver& observer, JobRecord record,
                     source::EventSourcePtr source)
    : runtime_(runtime),
      observer_(observer),
      record_(std::move(record)),
      visible_(record_),
      source_(std::move(source)),
      read_strand_(asio::make_strand(runtime.workers.get_executor())),
      buffers_(std::make_shared<BufferPool>(kIdleBuffers)),
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
  if (waiting_on_) waiting_on_->ready.cancel();
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
  limits_ = BatchLimits{region.batch.max_events, region.batch.max_bytes};
  // rate_limit protects the region's webhook; a request's own endpoint is another receiver.
  rate_.reset();
  if (region.rate_limit.limited() && record_.webhook_endpoint.empty()) {
    const auto& limit = region.rate_limit;
    rate_.emplace(limit.events_per_second
                      ? std::optional<double>(static_cast<double>(*limit.events_per_second))
                      : std::nullopt,
                  limit.bytes_per_second
                      ? std::optional<double>(static_cast<double>(*limit.bytes_per_second))
                      : std::nullopt);
  }
  encode_ = encodeOptions(region.webhook);
  const auto& signing = runtime_.config->signing;
  signer_ = runtime_.signer
                ? std::make_shared<const JobSigning>(JobSigning{
                      runtime_.signer,
                      signing && signing->cache ? runtime_.store.signatureCache() : nullptr,
                      record_.region})
                : nullptr;
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

void ReplayJob::fillWindow() {
  while (window_.size() < kWindow) {
    auto slot = std::make_shared<Slot>(runtime_.loop);
    window_.push_back(slot);
    auto deliver = [slot, loop = runtime_.loop](Prepared prepared) {
      asio::post(loop, [slot, prepared = std::move(prepared)]() mutable {
        slot->value = std::move(prepared);
        slot->ready.cancel();
      });
    };
    // Reads run one at a time, in order, on the strand; encodes run on any worker.
    asio::post(
        read_strand_, [weak_reader = std::weak_ptr(reader_), deliver, generation = generation_,
                       limits = limits_, encode = encode_, signer = signer_, buffers = buffers_,
                       &workers = runtime_.workers]() mutable {
          // A reader replaced or dropped since (reopened, job ended) is not read
          // further: its queued reads would only wait on an unreachable source.
          std::shared_ptr<source::EventReader> reader = weak_reader.lock();
          if (!reader) return;
          Prepared prepared;
          prepared.generation = generation;
          EventBatch batch;
          batch.adoptBuffer(buffers->take());
          auto read = reader->next(batch, limits);
          if (!read) {
            // The source's words (which partitions, what the broker said) if any.
            std::string detail = reader->lastErrorDetail();
            prepared.error = detail.empty() ? read.error().message() : std::move(detail);
            prepared.error_code = read.error();
            deliver(std::move(prepared));
            return;
          }
          if (batch.empty()) {
            prepared.end = true;
            deliver(std::move(prepared));
            return;
          }
          prepared.events = batch.size();
          prepared.last_time = batch.time(batch.size() - 1);
          prepared.checkpoint = batch.checkpoint;
          prepared.identity = batch.identity;
          asio::post(workers,
                     [batch = std::move(batch), prepared = std::move(prepared), encode,
                      signer = std::move(signer), deliver, buffers = std::move(buffers)]() mutable {
                       encodeInto(prepared, std::move(batch), encode, signer.get());
                       // A compressed or signed body leaves the batch's buffer for the next read.
                       buffers->give(batch.releaseJoined());
                       deliver(std::move(prepared));
                     });
        });
  }
}

asio::awaitable<std::shared_ptr<ReplayJob::Slot>> ReplayJob::nextSlot() {
  auto slot = window_.front();
  if (!slot->value) {
    waiting_on_ = slot;
    co_await slot->ready.async_wait(asio::as_tuple(use_awaitable));
    waiting_on_.reset();
  }
  co_return slot->value ? slot : nullptr;
}

asio::awaitable<void> ReplayJob::openReader() {
  source::TimeRange range{record_.first_ms, record_.last_ms};
  auto work = [source = source_, range, checkpoint = record_.checkpoint, view = view_] {
    return source->openReaderAt(range, checkpoint, view);
  };
  auto opened = co_await offload(runtime_.workers, work);
  window_.clear();
  if (!opened) {
    abort_error_ = JobError{"store failed opening the range: " + opened.error().message(), 0};
    reader_.reset();
    co_return;
  }
  reader_ = std::shared_ptr<source::EventReader>(std::move(*opened));
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

void ReplayJob::keepSignatures(Prepared& batch) {
  std::size_t made = 0;
  for (const auto& sig : batch.signatures_made) made += sig.empty() ? 0 : 1;
  if (batch.reused > 0) observer_.signaturesReused(batch.reused);
  if (made == 0 || !signer_ || !signer_->cache) return;
  asio::post(runtime_.workers, [signing = signer_, keys = std::move(batch.signature_keys),
                                sigs = std::move(batch.signatures_made)] {
    if (auto stored = signing->cache->store(keys, sigs); !stored) {
      spdlog::warn(
          "region={}: signature cache write failed ({}); these events are signed "
          "again by their next replay",
          signing->region, stored.error().message());
    }
  });
}

void ReplayJob::onDelivered(const Prepared& batch, const webhook::DeliveryResult& /*result*/) {
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
      if (!reader_) break;
    }
    fillWindow();
    auto slot = co_await nextSlot();
    if (!slot) continue;  // interrupted while waiting
    Prepared& batch = *slot->value;
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
    window_.pop_front();
    noteProgress();
    onDelivered(batch, result);
    observer_.batchDelivered(
        record_.region,
        {batch.events, batch.body.bytes.size(),
         std::chrono::duration<double>(runtime_.clock.monotonicNow() - delivery_started).count()});
    keepSignatures(batch);
    buffers_->give(std::move(batch.body.bytes));
    if (runtime_.clock.monotonicNow() - last_checkpoint_ >= kCheckpointEvery) co_await persist();
  }
  window_.clear();
}

}  // namespace audit::jobs
