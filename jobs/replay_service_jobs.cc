// ReplayService: the replay jobs — put, get, cancel, list; one per region, 409 while running
// (jobs/replay_service.hpp).

#include <spdlog/spdlog.h>

#include "common/offload.hpp"
#include "jobs/job_request.hpp"
#include "jobs/replay_service.hpp"

namespace audit::jobs {
namespace asio = boost::asio;

asio::awaitable<Outcome<JobRecord>> ReplayService::putJob(ReplayRequest request) {
  if (stopping_) co_return shuttingDown();
  const config::Config& config = *runtime_.config;
  auto resolved = resolveRegion(request.region, config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  if (request.webhook) {
    auto allowed = validateJobWebhook(*request.webhook, config.regions.at(region));
    if (!allowed) co_return allowed.error();
  }
  // A job with its own webhook does not need the region's to be enabled.
  config::RegionSettings checked = config.regions.at(region);
  if (request.webhook) {
    checked.webhook.endpoint = request.webhook->endpoint;
    checked.webhook.enabled = true;
  }
  auto valid = validateRange(request.start_at, request.end_at, checked, config.retention,
                             runtime_.clock.nowMillis());
  if (!valid) co_return valid.error();
  const ValidRange& range = *valid;
  if (replacing_.contains(region)) {
    co_return Refusal{409, "the replay job of region " + region + " is being replaced", {}};
  }
  auto found = sources_.sourceFor(region);
  if (!found) co_return Refusal{503, found.message(), {}};
  source::EventSourcePtr source = std::move(*found);
  if (auto it = jobs_.find(region); it != jobs_.end() && isActive(it->second->record().status)) {
    if (it->second->record().status == JobStatus::Running) {
      co_return Refusal{
          409,
          "a replay job is running in region " + region + "; wait for it to end or cancel it",
          {}};
    }
    // An accepted or pending job is replaced (docs/http-api.md): stop it before the new one starts.
    replacing_.insert(region);
    auto previous = it->second;
    previous->stop();
    co_await previous->waitFinished();
    replacing_.erase(region);
  }

  JobRecord record;
  record.id = newJobId();
  record.region = region;
  record.start_at = range.start_at;
  record.end_at = range.end_at;
  record.first_ms = range.first_ms;
  record.last_ms = range.last_ms;
  record.created_ms = record.updated_ms = runtime_.clock.nowMillis();
  record.status = JobStatus::Accepted;
  if (request.webhook) {
    record.webhook_endpoint = request.webhook->endpoint;
    record.webhook_authorization = request.webhook->authorization;
  }
  auto work = [&store = runtime_.store, region, text = serializeRecord(record)] {
    return store.putRecord(store::RecordKind::Job, region, text);
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored) co_return Refusal{500, "cannot store the job: " + stored.error().message(), {}};

  auto job = std::make_shared<ReplayJob>(runtime_, static_cast<JobObserver&>(*this), record,
                                         std::move(source));
  jobs_[region] = job;
  spdlog::info(
      "job accepted region={} job={} range={}..{}{}", region, record.id, record.start_at,
      record.end_at,
      request.webhook ? " endpoint=" + config::withoutPassword(request.webhook->endpoint) : "");
  launch(job);
  co_return job->record();
}

Outcome<JobSnapshot> ReplayService::getJob(const RegionName& named) const {
  if (stopping_) return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  // A region removed from the config may still have a stored job to show.
  if (!resolved && !(named && jobs_.contains(*named))) return resolved.error();
  const std::string region = resolved ? *resolved : *named;
  JobSnapshot snapshot;
  snapshot.region = region;
  // A region that never had a job has no record: Konnect shows it "unconfigured".
  if (auto it = jobs_.find(region); it != jobs_.end()) {
    snapshot.record = it->second->record();
    snapshot.retry = it->second->retryState();
  }
  return snapshot;
}

asio::awaitable<Outcome<JobRecord>> ReplayService::cancelJob(RegionName named) {
  if (stopping_) co_return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  auto it = jobs_.find(region);
  if (it == jobs_.end()) co_return Refusal{404, "region " + region + " has no replay job", {}};
  auto job = it->second;
  if (!isActive(job->record().status)) {
    co_return Refusal{409,
                      std::string("the replay job of region ") + region + " already " +
                          std::string(toString(job->record().status)),
                      {}};
  }
  job->cancel();
  co_await job->waitFinished();
  co_return job->record();
}

std::vector<JobRecord> ReplayService::listJobs() const {
  std::vector<JobRecord> jobs;
  for (const auto& [region, job] : jobs_) jobs.push_back(job->record());
  return jobs;
}

}  // namespace audit::jobs
