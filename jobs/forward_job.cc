#include "jobs/forward_job.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>
#include <mutex>

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
// Without a wake (events stored through a path that does not signal), the forwarder still
// looks for new events this often.
constexpr Millis kPollEvery{1'000};
// Forwarding never gives up on a batch: a retry budget of decades, far from any overflow.
constexpr Millis kForever{10LL * 365 * 24 * 3'600'000};
constexpr auto kNever = asio::steady_timer::time_point::max();

source::ArrivalStart arrivalStart(config::ForwardStart start) {
  switch (start) {
    case config::ForwardStart::Now:
      return source::ArrivalStart::Now;
    case config::ForwardStart::Oldest:
      return source::ArrivalStart::Oldest;
    case config::ForwardStart::At:
      return source::ArrivalStart::At;
  }
  return source::ArrivalStart::Now;
}

std::string describeStart(const config::ForwardSettings& forward) {
  switch (forward.start) {
    case config::ForwardStart::Now:
      return "now";
    case config::ForwardStart::Oldest:
      return "oldest";
    case config::ForwardStart::At:
      return formatRfc3339Millis(forward.start_at_ms);
  }
  return "now";
}
}  // namespace

// persist() may be called from the forwarding loop and from pause()/resume() while a write
// is on its way: each write takes the newest text, so the store never goes back to an older
// position or loses a pause.
struct Forwarder::StoredText {
  std::mutex text_mutex;  // taken briefly, by the loop too
  std::string text;
  std::uint64_t version = 0;
  std::mutex write_mutex;  // workers only: one write at a time, in version order
  std::uint64_t written = 0;
};

Forwarder::Forwarder(Runtime& runtime, JobObserver& observer, std::string region,
                     source::EventSourcePtr source, std::string unusable)
    : runtime_(runtime),
      observer_(observer),
      region_(std::move(region)),
      source_(std::move(source)),
      unusable_(std::move(unusable)),
      pipeline_(runtime.loop, runtime.workers),
      timer_(runtime.scheduler.makeTimer(runtime.loop)),
      idle_timer_(runtime.scheduler.makeTimer(runtime.loop)),
      stored_(std::make_shared<StoredText>()),
      finished_signal_(runtime.loop, kNever) {}

asio::awaitable<void> Forwarder::run() {
  auto self = shared_from_this();  // the forwarder outlives every step of its own coroutine
  last_persist_ = runtime_.clock.monotonicNow();
  if (source_ == nullptr) {
    // Nothing to forward from: shown as disabled with the reason until stopped.
    while (!stop_requested_) co_await waitForWork(kNoDeadline);
  } else if (co_await loadOrStart()) {
    co_await forward();
  } else {
    while (!stop_requested_) co_await waitForWork(kNoDeadline);  // unusable_ says why
  }
  if (dirty_) co_await persist();
  pipeline_.setReader(nullptr);
  sender_.reset();  // closes the connection
  finished_ = true;
  finished_signal_.cancel();
}

asio::awaitable<void> Forwarder::waitFinished() {
  if (!finished_) co_await finished_signal_.async_wait(asio::as_tuple(use_awaitable));
}

void Forwarder::wake() {
  wake_pending_ = true;
  idle_timer_->cancel();
}

void Forwarder::interrupt() {
  if (sender_) sender_->cancel();
  timer_->cancel();
  pipeline_.interrupt();
  wake();
}

void Forwarder::stop() {
  stop_requested_ = true;
  interrupt();
}

void Forwarder::settingsChanged() {
  // "until resume or a reload": a reload may have fixed what the webhook refused. A batch
  // being retried is sent again with the new settings at once.
  pause_reason_.clear();
  interrupt();
}

asio::awaitable<bool> Forwarder::pause() {
  if (!record_.paused_by_operator) {
    record_.paused_by_operator = true;
    spdlog::info("forward paused region={} by the operator", region_);
  }
  interrupt();
  co_return co_await persist();
}

asio::awaitable<bool> Forwarder::resume() {
  const bool was_paused = record_.paused_by_operator || !pause_reason_.empty();
  record_.paused_by_operator = false;
  pause_reason_.clear();
  if (was_paused) {
    spdlog::info("forward resumed region={}", region_);
    caught_up_ = false;
  }
  interrupt();
  co_return co_await persist();
}

asio::awaitable<void> Forwarder::waitForWork(Millis timeout) {
  if (!wake_pending_ && !stop_requested_) co_await idle_timer_->wait(timeout);
  wake_pending_ = false;
}

asio::awaitable<void> Forwarder::backOff(const std::string& why) {
  const config::RegionSettings* region = runtime_.region(region_);
  if (!backoff_) {
    backoff_.emplace(region ? region->retry.initial_backoff : Millis(500),
                     region ? region->retry.max_backoff : Millis(30'000));
  }
  const Millis wait = backoff_->next();
  spdlog::warn("forward region={}: {}; trying again in {}", region_, why, formatDuration(wait));
  co_await timer_->wait(wait);
}

asio::awaitable<bool> Forwarder::loadOrStart() {
  while (!stop_requested_) {
    auto read = [&store = runtime_.store, region = region_] {
      return store.getRecord(store::RecordKind::Forward, region);
    };
    auto stored = co_await offload(runtime_.workers, read);
    if (!stored) {
      co_await backOff("cannot read the stored position (" + stored.error().message() + ")");
      continue;
    }
    if (*stored) {
      if (auto parsed = parseForward(**stored)) {
        record_ = std::move(*parsed);
        loaded_ = true;
        backoff_.reset();
        spdlog::info("forward resumes region={} position={} events_forwarded={}{}", region_,
                     record_.position, record_.events_forwarded,
                     record_.paused_by_operator ? " (paused by the operator)" : "");
        co_return true;
      }
      spdlog::error(
          "forward region={}: the stored position is unreadable; starting over by "
          "forward.start",
          region_);
    }
    // No position yet: fix where forwarding starts, and store it before the first delivery,
    // so that "now" means the moment forwarding was first enabled, not the last restart.
    const config::RegionSettings* region = runtime_.region(region_);
    if (region == nullptr) co_return false;
    const config::ForwardSettings forward = region->forward;
    auto fix = [source = source_, start = arrivalStart(forward.start), at = forward.start_at_ms] {
      return source->arrivalPosition(start, at);
    };
    auto position = co_await offload(runtime_.workers, fix);
    if (!position && position.error() == source::Errc::unsupported) {
      unusable_ = "the region's event source keeps no arrival order to forward from";
      spdlog::error("forward region={}: {}", region_, unusable_);
      co_return false;
    }
    if (!position) {
      co_await backOff("cannot find where to start (" + position.error().message() + ")");
      continue;
    }
    record_ = ForwardRecord{};
    record_.position = std::move(*position);
    if (!co_await persist()) {
      co_await backOff("cannot store the starting position");
      continue;
    }
    loaded_ = true;
    backoff_.reset();
    spdlog::info("forward starts region={} start={} position={}", region_, describeStart(forward),
                 record_.position);
    co_return true;
  }
  co_return false;
}

asio::awaitable<bool> Forwarder::persist() {
  record_.updated_ms = runtime_.clock.nowMillis();
  {
    std::lock_guard lock(stored_->text_mutex);
    stored_->text = serializeForward(record_);
    ++stored_->version;
  }
  dirty_ = false;
  last_persist_ = runtime_.clock.monotonicNow();
  auto work = [stored = stored_, &store = runtime_.store, region = region_]() {
    std::lock_guard write_lock(stored->write_mutex);
    std::string text;
    std::uint64_t version = 0;
    {
      std::lock_guard lock(stored->text_mutex);
      text = stored->text;
      version = stored->version;
    }
    if (version <= stored->written) return source::Result<void>();  // a later write took it
    auto written = store.putRecord(store::RecordKind::Forward, region, text);
    if (written) stored->written = version;
    return written;
  };
  auto written = co_await offload(runtime_.workers, work);
  if (!written) {
    dirty_ = true;
    spdlog::error("forward region={}: position not stored ({}); trying again", region_,
                  written.error().message());
    co_return false;
  }
  co_return true;
}

std::optional<std::string> Forwarder::unusableReason() const {
  if (!unusable_.empty()) return unusable_;
  const config::RegionSettings* region = runtime_.region(region_);
  if (region == nullptr) return "region " + region_ + " is not configured";
  if (!region->forward.enabled) return "forward.enabled is off for region " + region_;
  if (!region->webhook.configured() || !region->webhook.enabled) {
    return "webhook for region " + region_ + " is not enabled";
  }
  return std::nullopt;
}

bool Forwarder::prepareSettings() {
  const config::RegionSettings& region = *runtime_.region(region_);
  generation_ = runtime_.generation;
  rate_ = runtime_.rateLimiter(region_);
  pipeline_.configure(pipelineSettings(runtime_, region));
  webhook::RetryOptions retry = retryOptions(region.retry);
  retry.max_attempts = std::numeric_limits<unsigned>::max();
  retry.max_elapsed = kForever;
  auto sender = webhook::BatchSender::create(runtime_.loop, clientOptions(region.webhook), retry,
                                             runtime_.scheduler, runtime_.signer);
  sender_.reset();
  if (!sender) {
    pause_reason_ = "webhook endpoint unusable: " + sender.message();
    spdlog::error("forward paused region={}: {}", region_, pause_reason_);
    return false;
  }
  sender_ = std::move(*sender);
  sender_->setObserver(this);
  sender_->setLogContext("region=" + region_ + " forward endpoint=\"" +
                         loggableEndpoint(region.webhook.endpoint) + "\"");
  return true;
}

asio::awaitable<void> Forwarder::openReader() {
  auto work = [source = source_, position = record_.position] {
    return source->openArrivals(position);
  };
  auto opened = co_await offload(runtime_.workers, work);
  if (!opened) {
    pipeline_.setReader(nullptr);
    reopen_reader_ = true;
    co_await backOff("cannot read the store (" + opened.error().message() + ")");
    co_return;
  }
  pipeline_.setReader(std::shared_ptr<source::EventReader>(std::move(*opened)));
}

void Forwarder::noteGap(const source::Skipped& skipped) {
  if (!skipped.any()) return;
  record_.gap_events += skipped.events;
  dirty_ = true;
  if (skipped.first != 0 || skipped.last != 0) {
    if (!record_.gap_first_at || skipped.first < *record_.gap_first_at) {
      record_.gap_first_at = skipped.first;
    }
    if (!record_.gap_last_at || skipped.last > *record_.gap_last_at) {
      record_.gap_last_at = skipped.last;
    }
    spdlog::warn(
        "forward region={}: gap of {} events, removed by retention before they were forwarded "
        "(event times {} .. {}); {} lost to gaps in all",
        region_, skipped.events, formatRfc3339Millis(skipped.first),
        formatRfc3339Millis(skipped.last), record_.gap_events);
  } else {
    spdlog::warn(
        "forward region={}: gap of {} events, removed by retention before they were forwarded "
        "(event times no longer known); {} lost to gaps in all",
        region_, skipped.events, record_.gap_events);
  }
}

void Forwarder::onDelivered(const PreparedBatch& batch) {
  noteGap(batch.skipped);
  record_.position = batch.checkpoint;
  record_.events_forwarded += batch.events;
  record_.batches_forwarded += 1;
  record_.last_forwarded_at = batch.last_time;
  dirty_ = true;
}

asio::awaitable<void> Forwarder::forward() {
  while (!stop_requested_) {
    if (auto why = unusableReason()) {
      pipeline_.setReader(nullptr);
      reopen_reader_ = true;
      co_await waitForWork(kNoDeadline);  // a reload or stop wakes it
      continue;
    }
    if (record_.paused_by_operator || !pause_reason_.empty()) {
      pipeline_.setReader(nullptr);
      reopen_reader_ = true;
      if (dirty_) co_await persist();
      co_await waitForWork(kNoDeadline);  // resume, a reload or stop wakes it
      continue;
    }
    if (generation_ != runtime_.generation || !sender_) {
      // First batch, a reload, or a delivery cut short: what was prepared is read again
      // from the position with the settings in force.
      if (!prepareSettings()) continue;
      reopen_reader_ = true;
    }
    if (reopen_reader_) {
      reopen_reader_ = false;
      co_await openReader();
      if (!pipeline_.hasReader()) continue;
    }
    pipeline_.fill();
    PreparedBatch* front = co_await pipeline_.front();
    if (front == nullptr) continue;  // interrupted while waiting
    PreparedBatch& batch = *front;
    if (batch.generation != generation_) continue;
    if (batch.error) {
      reopen_reader_ = true;
      co_await backOff("cannot read the store (" + *batch.error + ")");
      continue;
    }
    backoff_.reset();
    if (batch.end) {
      // Everything stored so far was delivered: wait for more.
      caught_up_ = true;
      backlog_ = {};
      // Following a busy region reaches the end many times a second: the position is stored
      // once a second (here or after the next poll), not at every end.
      if (dirty_ && runtime_.clock.monotonicNow() - last_persist_ >= kCheckpointEvery) {
        co_await persist();
      }
      co_await waitForWork(kPollEvery);
      reopen_reader_ = true;
      continue;
    }
    if (batch.events == 0) {
      // Only a gap: the position moves past what retention removed.
      noteGap(batch.skipped);
      record_.position = batch.checkpoint;
      dirty_ = true;
      pipeline_.pop();
      if (runtime_.clock.monotonicNow() - last_persist_ >= kCheckpointEvery) co_await persist();
      continue;
    }
    if (rate_) {
      const Millis turn =
          rate_->take(batch.events, batch.body.bytes.size(), runtime_.clock.monotonicNow());
      if (turn > Millis(0)) {
        co_await timer_->wait(turn);
        if (stop_requested_) break;
      }
    }
    // Arguments of a co_await are plain lvalues: GCC 12 mishandles temporaries there.
    const std::string key = "forward-" + region_ + "-" + batch.identity;
    const MonoTime delivery_started = runtime_.clock.monotonicNow();
    auto result = co_await sender_->deliver(batch.body, key);
    retry_.reset();
    if (result.canceled) {
      sender_.reset();  // a cancel is sticky: the next delivery needs a new sender
      continue;
    }
    if (!result.delivered) {
      pause_reason_ = result.reason;
      caught_up_ = false;
      spdlog::error(
          "forward paused region={} last_response_code={}: {} (audit-replayctl forward resume "
          "or a reload continues)",
          region_, result.last_status, result.reason);
      continue;
    }
    if (result.attempts > 1) caught_up_ = false;  // after an outage, what waited goes out
    onDelivered(batch);
    observer_.batchDelivered(
        region_,
        {batch.events, batch.body.bytes.size(),
         std::chrono::duration<double>(runtime_.clock.monotonicNow() - delivery_started).count()});
    if (batch.reused > 0) observer_.signaturesReused(batch.reused);
    pipeline_.keepSignatures(batch);
    pipeline_.pop();
    if (runtime_.clock.monotonicNow() - last_persist_ >= kCheckpointEvery) co_await persist();
  }
}

asio::awaitable<void> Forwarder::refreshBacklog() {
  if (source_ == nullptr || !loaded_) co_return;
  // A delivery that completes during the read moves the position: the figure would then be
  // for a position no longer shown, so it is read again — a few times at most, since while
  // catching up the position moves every few milliseconds; the last read is taken as is.
  constexpr int kTries = 3;
  for (int tries = 1; tries <= kTries; ++tries) {
    const std::string position = record_.position;
    auto work = [source = source_, position] { return source->arrivalBacklog(position); };
    auto backlog = co_await offload(runtime_.workers, work);
    if (!backlog) co_return;
    if (position == record_.position || tries == kTries) {
      backlog_ = *backlog;
      co_return;
    }
  }
}

ForwardStatus Forwarder::status() const {
  ForwardStatus status;
  status.region = region_;
  status.record = record_;
  status.backlog_events = backlog_.events;
  if (backlog_.events > 0 && backlog_.oldest_arrival_ms > 0) {
    const EpochMillis waited = runtime_.clock.nowMillis() - backlog_.oldest_arrival_ms;
    status.lag_seconds = waited > 0 ? static_cast<double>(waited) / 1000.0 : 0.0;
  }
  if (auto why = unusableReason()) {
    status.state = ForwardState::Disabled;
    status.reason = *why;
  } else if (record_.paused_by_operator) {
    status.state = ForwardState::Paused;
    status.reason = "paused by the operator";
  } else if (!pause_reason_.empty()) {
    status.state = ForwardState::Paused;
    status.reason = pause_reason_;
  } else if (retry_) {
    status.state = ForwardState::Retrying;
    status.reason = retry_->reason;
    status.retry = retry_;
  } else {
    status.state = caught_up_ ? ForwardState::Following : ForwardState::CatchingUp;
  }
  return status;
}

void Forwarder::attempted(const webhook::AttemptResult& attempt) {
  observer_.webhookAttempt(region_, attempt);
}

void Forwarder::retryScheduled(unsigned attempts, const webhook::AttemptResult& last, Millis wait,
                               const std::string& reason) {
  retry_ = RetryState{attempts, last.status, runtime_.clock.nowMillis() + wait.count(), reason};
}

void Forwarder::retrySent() {
  observer_.retrySent(region_);
}

}  // namespace audit::jobs
