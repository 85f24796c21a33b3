// ReplayService::ingestBody: a received body of events to the store (jobs/body_ingest.hpp).

#include "jobs/body_ingest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "common/offload.hpp"
#include "jobs/job_request.hpp"
#include "jobs/replay_service.hpp"
#include "source/event_time.hpp"
#include "webhook/ingest_body.hpp"

namespace audit::jobs {
namespace {

using BodyOutcome = BodyIngestReport;

std::string firstReason(const std::vector<webhook::BodyLine>& rejected) {
  return std::to_string(rejected.size()) + " invalid line(s), nothing stored; first at line " +
         std::to_string(rejected.front().line) + ": " + rejected.front().reason;
}

BodyOutcome decodeAndStore(source::EventSource& source, std::string_view body,
                           BodyIngestOptions options, const webhook::IngestBodyLimits& limits) {
  BodyOutcome outcome;
  std::string inflated;
  if (options.gzip) {
    switch (webhook::gunzipBounded(body, limits, inflated)) {
      case webhook::GunzipStatus::ok:
        break;
      case webhook::GunzipStatus::corrupt:
        return BodyOutcome{400, "the body is not a valid gzip stream", 0, 0, {}};
      case webhook::GunzipStatus::too_large:
        return BodyOutcome{413,
                           "the body inflates to more than " + std::to_string(limits.max_bytes) +
                               " bytes (http.max_ingest_bytes)",
                           0,
                           0,
                           {}};
      case webhook::GunzipStatus::bomb:
        return BodyOutcome{413,
                           "the body inflates more than " + std::to_string(limits.max_ratio) +
                               " times its compressed size; refused as a decompression bomb",
                           0,
                           0,
                           {}};
    }
    body = inflated;
  } else if (body.size() > limits.max_bytes) {
    return BodyOutcome{
        413, "the body is over " + std::to_string(limits.max_bytes) + " bytes", 0, 0, {}};
  }

  webhook::DecodedEvents decoded;
  webhook::decodeLines(body, decoded);
  outcome.rejected = std::move(decoded.rejected);
  if (!outcome.rejected.empty() && !options.skip_invalid) {
    // Nothing will be stored; still name every bad line, the JSON ones included.
    for (std::size_t i = 0; i < decoded.events.size(); ++i) {
      source::EventTime time = source::extractEventTime(decoded.events[i]);
      if (!time.ok) outcome.rejected.push_back({decoded.lines[i], std::move(time.reason)});
    }
  } else if (!decoded.events.empty()) {
    auto report = source.ingest(decoded.events, options.skip_invalid);
    if (!report) {
      return BodyOutcome{503, "the store cannot write: " + report.error().message(), 0, 0, {}};
    }
    outcome.ingested = report->ingested;
    outcome.duplicates = report->duplicates;
    for (auto& r : report->rejected) {
      outcome.rejected.push_back({decoded.lines[r.index], std::move(r.reason)});
    }
  }
  std::sort(outcome.rejected.begin(), outcome.rejected.end(),
            [](const auto& a, const auto& b) { return a.line < b.line; });
  if (!outcome.rejected.empty() && !options.skip_invalid) {
    outcome.code = 400;
    outcome.error = firstReason(outcome.rejected);
    outcome.ingested = 0;
    outcome.duplicates = 0;
  }
  return outcome;
}

}  // namespace

boost::asio::awaitable<Outcome<BodyIngestReport>> ReplayService::ingestBody(
    RegionName named, std::string_view body, BodyIngestOptions options) {
  if (stopping_) co_return Refusal{503, "audit-replayd is shutting down", {}};
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  webhook::IngestBodyLimits limits;
  limits.max_bytes =
      runtime_.config->http ? runtime_.config->http->max_ingest_bytes : kDefaultMaxIngestBytes;
  auto found = sources_.sourceFor(region);
  if (!found) co_return Refusal{503, found.message(), {}};
  source::EventSourcePtr source = std::move(*found);
  auto work = [source = std::move(source), body, options, limits] {
    return decodeAndStore(*source, body, options, limits);
  };
  BodyOutcome outcome = co_await offload(runtime_.workers, work);
  counters_.events_ingested += outcome.ingested;
  if (outcome.ingested > 0) wakeForwarder(region);
  if (outcome.code == 503) spdlog::warn("ingest into {}: {}", region, outcome.error);
  co_return outcome;
}

}  // namespace audit::jobs
