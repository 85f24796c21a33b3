// ReplayService: ingest, stats, the store's health and the JWKS (jobs/replay_service.hpp).

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/offload.hpp"
#include "jobs/job_request.hpp"
#include "jobs/replay_service.hpp"
#include "signing/jwks.hpp"

namespace audit::jobs {
namespace asio = boost::asio;

asio::awaitable<Outcome<source::IngestReport>> ReplayService::ingest(IngestRequest request) {
  if (stopping_) co_return shuttingDown();
  auto resolved = resolveRegion(request.region, *runtime_.config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  auto found = sources_.sourceFor(region);
  if (!found) co_return Refusal{500, found.message(), {}};
  source::EventSourcePtr source = std::move(*found);
  // `request` (and the events its views point into) outlives the offloaded work.
  auto work = [source = std::move(source), &request] {
    return source->ingest(request.events, request.skip_invalid);
  };
  auto result = co_await offload(runtime_.workers, work);
  if (!result) co_return Refusal{500, "store failed: " + result.error().message(), {}};
  counters_.events_ingested += result->ingested;
  if (result->ingested > 0) wakeForwarder(region);
  co_return std::move(*result);
}

asio::awaitable<Stats> ReplayService::stats() {
  auto work = [&store = runtime_.store] { return store.approximateSize(); };
  auto store_bytes = co_await offload(runtime_.workers, work);
  Stats s;
  s.uptime_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                         runtime_.clock.monotonicNow() - runtime_.started)
                         .count();
  s.totals = counters_;
  if (runtime_.signer) s.signatures_made = runtime_.signer->signaturesMade();
  if (auto cache = runtime_.store.signatureCache()) s.signatures_stored = cache->written();
  s.store_bytes = store_bytes;
  for (const auto& [name, settings] : runtime_.config->regions) {
    RegionStats r;
    r.region = name;
    if (auto job = jobs_.find(name); job != jobs_.end()) r.job = job->second->record();
    r.webhook = webhookStatusOf(name);
    s.regions.push_back(std::move(r));
  }
  for (const auto& [name, job] : jobs_) s.jobs_active += isActive(job->record().status) ? 1 : 0;
  s.delivery = delivery_;
  co_return s;
}

asio::awaitable<bool> ReplayService::storeWritable() {
  auto work = [&store = runtime_.store] { return store.healthy(); };
  const bool healthy = co_await offload(runtime_.workers, work);
  co_return healthy;
}

std::string ReplayService::jwks() const {
  return signing::jwksJson(runtime_.signer.get(), runtime_.extra_jwks);
}

void ReplayService::retrySent(const std::string& /*region*/) {
  ++counters_.retries;
}

void ReplayService::batchDelivered(const std::string& region, const DeliveredBatch& batch) {
  counters_.events_sent += batch.events;
  counters_.batches_sent += 1;
  counters_.bytes_sent += batch.bytes;
  delivery_.delivered(region, batch.events, batch.bytes, batch.seconds);
}

void ReplayService::signaturesReused(std::uint64_t count) {
  counters_.signatures_reused += count;
}

}  // namespace audit::jobs
