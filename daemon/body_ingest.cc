// ReplayService::ingestBody: a received body of events to the store (daemon/body_ingest.hpp).

#include "daemon/body_ingest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <memory>

#include "daemon/job_request.hpp"
#include "daemon/offload.hpp"
#include "daemon/replay_service.hpp"
#include "store/event_time.hpp"
#include "webhook/ingest_body.hpp"

namespace audit::daemon {
namespace {

namespace json = boost::json;

/** What the worker hands back to the loop. */
struct BodyOutcome {
  int code = 200;
  std::string error;  // code != 200
  std::size_t ingested = 0;
  std::size_t duplicates = 0;
  std::vector<webhook::BodyLine> rejected;  // sorted by line
};

std::string firstReason(const std::vector<webhook::BodyLine>& rejected) {
  return std::to_string(rejected.size()) + " invalid line(s), nothing stored; first at line " +
         std::to_string(rejected.front().line) + ": " + rejected.front().reason;
}

BodyOutcome decodeAndStore(store::EventSource& source, std::string_view body,
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
      store::EventTime time = store::extractEventTime(decoded.events[i]);
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

json::object answerOf(BodyOutcome& outcome) {
  json::object answer;
  answer["ok"] = outcome.code == 200;
  answer["code"] = outcome.code;
  if (outcome.code != 200) answer["error"] = std::move(outcome.error);
  answer["ingested"] = outcome.ingested;
  answer["duplicates"] = outcome.duplicates;
  json::array rejected;
  rejected.reserve(outcome.rejected.size());
  for (auto& r : outcome.rejected) {
    json::object item;
    item["line"] = r.line;
    item["reason"] = std::move(r.reason);
    rejected.push_back(std::move(item));
  }
  answer["rejected"] = std::move(rejected);
  return answer;
}

json::object refused(const Refusal& refusal) {
  json::object answer;
  answer["ok"] = false;
  answer["code"] = refusal.code;
  answer["error"] = refusal.reason;
  return answer;
}

}  // namespace

boost::asio::awaitable<json::object> ReplayService::ingestBody(json::object request,
                                                               std::string_view body,
                                                               BodyIngestOptions options) {
  if (stopping_) {
    Refusal refusal{503, "audit-replayd is shutting down", {}};
    co_return refused(refusal);
  }
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) co_return refused(refusal);
  webhook::IngestBodyLimits limits;
  limits.max_bytes =
      runtime_.config->http ? runtime_.config->http->max_ingest_bytes : kDefaultMaxIngestBytes;
  auto work = [source = sourceFor(region), body, options, limits] {
    return decodeAndStore(*source, body, options, limits);
  };
  BodyOutcome outcome = co_await offload(runtime_.workers, work);
  runtime_.counters.events_ingested += outcome.ingested;
  if (outcome.code == 503) spdlog::warn("ingest into {}: {}", region, outcome.error);
  co_return answerOf(outcome);
}

}  // namespace audit::daemon
