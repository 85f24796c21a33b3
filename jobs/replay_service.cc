#include "jobs/replay_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/offload.hpp"
#include "jobs/job_request.hpp"

namespace audit::jobs {
namespace asio = boost::asio;
using asio::use_awaitable;

namespace {
constexpr auto kNever = asio::steady_timer::time_point::max();

}  // namespace

ReplayService::ReplayService(Runtime& runtime)
    : runtime_(runtime), sources_(runtime), idle_signal_(runtime.loop, kNever) {}

asio::awaitable<Expected<>> ReplayService::start() {
  auto read_overrides = [&store = runtime_.store] {
    return store.listRecords(store::RecordKind::WebhookOverride);
  };
  auto stored_overrides = co_await offload(runtime_.workers, read_overrides);
  if (!stored_overrides) {
    co_return Failure{"cannot read webhook settings: " + stored_overrides.error().message()};
  }
  for (auto& [region, text] : *stored_overrides) {
    auto parsed = WebhookOverride::parse(text);
    if (!parsed) {
      spdlog::error("webhook settings of region={} are unreadable; the file's are used", region);
    } else if (!parsed->empty()) {
      spdlog::info(
          "region={} webhook: settings changed over the API are in force "
          "(audit-replayctl webhook reset --region {} drops them)",
          region, region);
      if (parsed->skip_ssl_verification.value_or(false)) {
        spdlog::warn(
            "region={} webhook: TLS certificate verification is OFF (changed over the API)",
            region);
      }
      overrides_[region] = std::move(*parsed);
    }
  }
  file_config_ = runtime_.config;
  file_loaded_ms_ = runtime_.clock.nowMillis();
  applyOverrides();

  auto work = [&store = runtime_.store] {
    auto jobs = store.listRecords(store::RecordKind::Job);
    auto hooks = store.listRecords(store::RecordKind::WebhookStatus);
    return std::make_pair(std::move(jobs), std::move(hooks));
  };
  auto loaded = co_await offload(runtime_.workers, work);
  if (!loaded.first || !loaded.second) {
    co_return Failure{"cannot read job records: " +
                      (loaded.first ? loaded.second.error() : loaded.first.error()).message()};
  }
  for (auto& [region, text] : *loaded.second) {
    if (auto state = WebhookState::parse(text)) webhooks_[region] = *state;
  }
  for (auto& [region, text] : *loaded.first) {
    auto record = parseRecord(text);
    if (!record) {
      spdlog::error("job record of region={} is unreadable; ignoring it", region);
      continue;
    }
    auto source = sources_.sourceFor(region);
    if (!source && isActive(record->status)) {
      const std::string why = source.message();
      // The job cannot read its events: it fails with the reason rather than waiting for a
      // configuration that may never come (docs/kafka.md).
      record->status = JobStatus::Failed;
      record->error = JobError{why, 0};
      record->updated_ms = runtime_.clock.nowMillis();
      auto store_failed = [&store = runtime_.store, region, text = serializeRecord(*record)] {
        return store.putRecord(store::RecordKind::Job, region, text);
      };
      if (auto stored = co_await offload(runtime_.workers, store_failed); !stored) {
        co_return Failure{"cannot store the failed job of region " + region + ": " +
                          stored.error().message()};
      }
      spdlog::warn("job failed region={} job={} reason=\"{}\" last_response_code=0", region,
                   record->id, why);
      failed_since_start_ = true;
    }
    auto job = std::make_shared<ReplayJob>(runtime_, static_cast<JobObserver&>(*this), *record,
                                           source ? std::move(*source) : nullptr);
    jobs_[region] = job;
    if (isActive(record->status)) {
      if (runtime_.region(region) == nullptr) {
        spdlog::warn("job region={} job={} resumes but its region is no longer configured", region,
                     record->id);
      }
      spdlog::info("resuming job region={} job={} status={} events_sent={}", region, record->id,
                   toString(record->status), record->progress.events_sent);
      launch(job);
    }
  }
  reconcileForwarders();
  co_return Expected<>();
}

void ReplayService::launch(const ReplayJobPtr& job) {
  asio::co_spawn(runtime_.loop, job->run(), [this, job](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("job region={} job={} stopped by an exception: {}", job->record().region,
                         job->record().id, ex.what());
      }
    }
    if (job->record().status == JobStatus::Failed) failed_since_start_ = true;
    if (!anyActive()) idle_signal_.cancel();
  });
}

asio::awaitable<void> ReplayService::submitConfiguredJobs() {
  for (const config::JobSpec& spec : runtime_.config->jobs) {
    if (auto it = jobs_.find(spec.region); it != jobs_.end()) {
      const JobRecord& current = it->second->record();
      bool same = normalizeTime(current.start_at) == normalizeTime(spec.start_at) &&
                  normalizeTime(current.end_at) == normalizeTime(spec.end_at);
      if (current.status == JobStatus::Running || (same && current.status != JobStatus::Failed)) {
        spdlog::info("config job region={} range={}..{} kept: the region's job is {}", spec.region,
                     spec.start_at, spec.end_at, toString(current.status));
        continue;
      }
    }
    ReplayRequest request;
    request.region = spec.region;
    request.start_at = spec.start_at;
    request.end_at = spec.end_at;
    auto job = co_await putJob(std::move(request));
    if (!job) {
      failed_since_start_ = true;
      spdlog::error("config job region={} range={}..{} refused ({}): {}", spec.region,
                    spec.start_at, spec.end_at, job.error().code, job.error().reason);
    }
  }
}

void ReplayService::configurationChanged() {
  // The daemon has just put the file's new configuration in place: the API's webhook
  // settings stay laid over it until reset.
  file_config_ = runtime_.config;
  file_loaded_ms_ = runtime_.clock.nowMillis();
  sources_.configurationChanged();
  applyOverrides();
  settingsChanged();
}

void ReplayService::settingsChanged() {
  for (auto& [region, job] : jobs_) {
    if (isActive(job->record().status)) job->settingsChanged();
  }
  reconcileForwarders();
}

void ReplayService::applyOverrides() {
  if (!file_config_) file_config_ = runtime_.config;
  runtime_.config =
      overrides_.empty()
          ? file_config_
          : std::make_shared<const config::Config>(withOverrides(*file_config_, overrides_));
}

bool ReplayService::anyActive() const {
  for (const auto& [region, job] : jobs_) {
    if (!job->finished() && isActive(job->record().status)) return true;
  }
  return false;
}

asio::awaitable<bool> ReplayService::waitIdle() {
  while (anyActive()) {
    idle_signal_.expires_at(kNever);
    co_await idle_signal_.async_wait(asio::as_tuple(use_awaitable));
  }
  co_return !failed_since_start_;
}

asio::awaitable<void> ReplayService::shutdown() {
  stopping_ = true;
  // Only jobs running in this process have a coroutine to wait for; an ended job loaded
  // from the store never ran here and never signals.
  std::vector<ReplayJobPtr> running;
  for (auto& [region, job] : jobs_) {
    if (!job->finished() && isActive(job->record().status)) running.push_back(job);
  }
  for (auto& job : running) job->stop();
  std::vector<ForwarderPtr> forwarders = retiring_;
  for (auto& [region, forwarder] : forwarders_) forwarders.push_back(forwarder);
  for (auto& forwarder : forwarders) forwarder->stop();
  for (auto& job : running) co_await job->waitFinished();
  for (auto& forwarder : forwarders) co_await forwarder->waitFinished();
  co_await flushWebhookStates();
}

std::string ReplayService::statusLine() const {
  std::string line;
  for (const auto& [region, job] : jobs_) {
    const JobRecord& r = job->record();
    if (!line.empty()) line += "; ";
    line += region + ": ";
    line += toString(r.status);
    if (isActive(r.status)) {
      line += " " + std::to_string(r.progress.events_sent) + "/" +
              std::to_string(r.progress.events_total);
    }
  }
  return line.empty() ? "idle" : line;
}

Refusal ReplayService::shuttingDown() {
  return Refusal{503, "audit-replayd is shutting down", {}};
}

}  // namespace audit::jobs
