#include "api/protocol.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "common/rfc3339.hpp"

namespace audit::api {
namespace json = boost::json;
using jobs::Outcome;
using jobs::Refusal;
using jobs::RegionName;

namespace {

json::object ok(int code = 200) {
  json::object o;
  o["ok"] = true;
  o["code"] = code;
  return o;
}

json::object fail(int code, std::string error) {
  return refusalAnswer(Refusal{code, std::move(error), {}});
}

/** A request's "region": missing or null is none; anything but a string is refused. */
bool decodeRegion(const json::object& request, RegionName& region, Refusal& refusal) {
  const json::value* v = request.if_contains("region");
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) {
    jobs::addBadField(refusal, "region", "region must be a string");
    return false;
  }
  region = std::string(v->as_string());
  return true;
}

/** An optional text field; a value that is not a string is a bad field. */
void decodeText(const json::object& request, const char* field, const char* type_reason,
                std::optional<std::string>& out, Refusal& refusal) {
  const json::value* v = request.if_contains(field);
  if (v == nullptr || v->is_null()) return;
  if (!v->is_string()) {
    jobs::addBadField(refusal, field, type_reason);
    return;
  }
  out = std::string(v->as_string());
}

/** `"webhook": {"endpoint": URL, "authorization": "…"}`, the job's own webhook. */
bool decodeJobWebhook(const json::object& request, std::optional<jobs::JobWebhook>& out,
                      Refusal& refusal) {
  const json::value* hook = request.if_contains("webhook");
  if (hook == nullptr || hook->is_null()) return true;
  auto bad = [&](std::string reason) {
    refusal = Refusal{400, reason, {{"webhook", reason}}};
    return false;
  };
  if (!hook->is_object()) return bad("webhook must be an object {\"endpoint\": URL}");
  jobs::JobWebhook webhook;
  for (const auto& [key, value] : hook->as_object()) {
    if (key == "endpoint") {
      if (!value.is_string() || value.as_string().empty()) {
        return bad("webhook.endpoint must be a URL");
      }
      webhook.endpoint = std::string(value.as_string());
    } else if (key == "authorization") {
      if (!value.is_string()) return bad("webhook.authorization must be a string");
      webhook.authorization = std::string(value.as_string());
    } else {
      return bad("webhook." + std::string(key) + " is not a known field (endpoint, authorization)");
    }
  }
  out = std::move(webhook);
  return true;
}

json::value encodeRetry(const jobs::RetryState& retry) {
  json::object out;
  out["attempt"] = retry.attempt;
  if (retry.last_response_code != 0) {
    out["last_response_code"] = retry.last_response_code;
  } else {
    out["last_response_code"] = nullptr;
  }
  out["next_attempt_at"] = formatRfc3339Millis(retry.next_attempt_ms);
  out["reason"] = retry.reason;
  return out;
}

json::object encodeWebhookStatus(const jobs::WebhookStatus& status) {
  json::object o =
      jobs::webhookView(status.region, status.settings ? &*status.settings : nullptr, status.state);
  o["forward"] = encodeForward(status.forward);
  return o;
}

json::value optionalTime(const std::optional<EpochMillis>& ms) {
  return ms ? json::value(formatRfc3339Millis(*ms)) : json::value(nullptr);
}

json::object encodeWebhookSettings(const jobs::WebhookSettingsView& view) {
  return jobs::webhookConfigView(view.region, view.webhook, view.overridden, view.updated_ms);
}

/** {"ok":true,"code":C,KEY:value} or the refusal's answer. */
template <class T, class Encode>
json::object answer(const Outcome<T>& outcome, const char* key, Encode encode, int code = 200) {
  if (!outcome) return refusalAnswer(outcome.error());
  json::object o = ok(code);
  o[key] = encode(*outcome);
  return o;
}

}  // namespace

json::object refusalAnswer(const Refusal& refusal) {
  json::object o;
  o["ok"] = false;
  o["code"] = refusal.code;
  o["error"] = refusal.reason;
  if (!refusal.fields.empty()) {
    json::array params;
    for (const auto& [field, reason] : refusal.fields) {
      params.push_back(json::object{{"field", field}, {"reason", reason}});
    }
    o["invalid_parameters"] = std::move(params);
  }
  return o;
}

json::object encodeForward(const jobs::ForwardStatus& forward) {
  json::object o;
  o["region"] = forward.region;
  o["state"] = jobs::toString(forward.state);
  o["reason"] = forward.reason.empty() ? json::value(nullptr) : json::value(forward.reason);
  o["last_forwarded_at"] = optionalTime(forward.record.last_forwarded_at);
  o["lag_seconds"] = forward.lag_seconds;
  o["backlog_events"] = forward.backlog_events;
  o["events_forwarded"] = forward.record.events_forwarded;
  o["batches_forwarded"] = forward.record.batches_forwarded;
  json::object gaps;
  gaps["events"] = forward.record.gap_events;
  gaps["first_event_at"] = optionalTime(forward.record.gap_first_at);
  gaps["last_event_at"] = optionalTime(forward.record.gap_last_at);
  o["gaps"] = std::move(gaps);
  o["position"] = forward.record.position;
  if (forward.retry) o["retry"] = encodeRetry(*forward.retry);
  return o;
}

json::object encodeStats(const jobs::Stats& stats) {
  json::object s;
  s["uptime_seconds"] = stats.uptime_seconds;
  s["events_ingested"] = stats.totals.events_ingested;
  s["events_sent"] = stats.totals.events_sent;
  s["batches_sent"] = stats.totals.batches_sent;
  s["bytes_sent"] = stats.totals.bytes_sent;
  s["retries"] = stats.totals.retries;
  if (stats.signatures_made) s["signatures_made"] = *stats.signatures_made;
  s["signatures_reused"] = stats.totals.signatures_reused;
  if (stats.signatures_stored) s["signatures_stored"] = *stats.signatures_stored;
  s["store_bytes"] = stats.store_bytes;
  json::object regions;
  for (const jobs::RegionStats& region : stats.regions) {
    json::object r;
    r["job"] = region.job ? json::value(jobs::toView(*region.job)) : json::value(nullptr);
    r["webhook"] = encodeWebhookStatus(region.webhook);
    regions[region.region] = std::move(r);
  }
  s["jobs_active"] = stats.jobs_active;
  s["regions"] = std::move(regions);
  s["delivery"] = stats.delivery.toJson();
  return s;
}

boost::asio::awaitable<json::object> Protocol::execute(json::object request) {
  // No request, however odd its shape, may stop the daemon (docs/cli.md).
  try {
    const json::value* name = request.if_contains("op");
    if (name == nullptr || !name->is_string()) co_return fail(400, "op is required");
    const std::optional<Op> op = parseOp(name->as_string());
    if (!op || *op == Op::IngestRaw || *op == Op::Export) {
      co_return fail(400, "unknown op \"" + std::string(name->as_string()) +
                              "\"; expected put_job, get_job, cancel_job, list_jobs, "
                              "webhook_status, get_webhook, patch_webhook, reset_webhook, "
                              "forward_status, forward_pause, forward_resume, ingest, stats, "
                              "jwks or ping");
    }
    if (engine_.stopping() && *op != Op::Ping) {
      co_return fail(503, "audit-replayd is shutting down");
    }
    co_return co_await dispatch(*op, request);
  } catch (const std::exception& e) {
    spdlog::error("request failed with an internal error: {}", e.what());
  }
  co_return fail(500, "internal error; see the daemon's log");
}

boost::asio::awaitable<json::object> Protocol::dispatch(Op op, const json::object& request) {
  switch (op) {
    case Op::PutJob:
      co_return co_await putJob(request);
    case Op::GetJob:
      co_return getJob(request);
    case Op::CancelJob:
      co_return co_await cancelJob(request);
    case Op::ListJobs:
      co_return listJobs();
    case Op::WebhookStatus:
      co_return webhookStatus(request);
    case Op::GetWebhook:
      co_return getWebhook(request);
    case Op::PatchWebhook:
      co_return co_await patchWebhook(request);
    case Op::ResetWebhook:
      co_return co_await resetWebhook(request);
    case Op::ForwardStatus:
    case Op::ForwardPause:
    case Op::ForwardResume:
      co_return co_await forward(op, request);
    case Op::Ingest:
      co_return co_await ingest(request);
    case Op::Stats:
      co_return co_await stats();
    case Op::Health:
      co_return co_await health();
    case Op::Jwks:
      co_return jwks();
    case Op::Ping:
      co_return ok();
    case Op::IngestRaw:
    case Op::Export:
      break;  // streams, served by the control socket itself
  }
  co_return fail(400, "op " + std::string(toString(op)) + " is not served here");
}

boost::asio::awaitable<json::object> Protocol::putJob(const json::object& request) {
  jobs::ReplayRequest replay;
  Refusal refusal;
  if (!decodeRegion(request, replay.region, refusal)) co_return refusalAnswer(refusal);
  if (!decodeJobWebhook(request, replay.webhook, refusal)) co_return refusalAnswer(refusal);
  decodeText(request, "start_at", "start_at must be an RFC 3339 string", replay.start_at, refusal);
  decodeText(request, "end_at", "end_at must be an RFC 3339 string", replay.end_at, refusal);
  if (!refusal.fields.empty()) co_return refusalAnswer(refusal);
  auto job = co_await engine_.putJob(std::move(replay));
  co_return answer(
      job, "job", [](const jobs::JobRecord& r) { return jobs::toView(r); }, 202);
}

json::object Protocol::getJob(const json::object& request) const {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) return refusalAnswer(refusal);
  auto snapshot = engine_.getJob(region);
  if (!snapshot) return refusalAnswer(snapshot.error());
  json::object o = ok();
  // A region that never had a job answers as Konnect does: "unconfigured", zero times.
  o["job"] =
      snapshot->record ? jobs::toView(*snapshot->record) : jobs::unconfiguredView(snapshot->region);
  // Beside "job", not in it: the HTTP API answers "job" as Konnect shapes it.
  if (snapshot->retry) o["retry"] = encodeRetry(*snapshot->retry);
  return o;
}

boost::asio::awaitable<json::object> Protocol::cancelJob(const json::object& request) {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) co_return refusalAnswer(refusal);
  auto job = co_await engine_.cancelJob(std::move(region));
  co_return answer(job, "job", [](const jobs::JobRecord& r) { return jobs::toView(r); });
}

json::object Protocol::listJobs() const {
  json::array jobs;
  for (const jobs::JobRecord& record : engine_.listJobs()) jobs.push_back(jobs::toView(record));
  json::object o = ok();
  o["jobs"] = std::move(jobs);
  return o;
}

json::object Protocol::webhookStatus(const json::object& request) const {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) return refusalAnswer(refusal);
  auto statuses = engine_.webhookStatus(region);
  if (!statuses) return refusalAnswer(statuses.error());
  json::object o = ok();
  if (region) {
    o["webhook"] = encodeWebhookStatus(statuses->front());
    return o;
  }
  // No region: every region; with a single one also as "webhook" (HTTP API shape).
  json::array all;
  for (const jobs::WebhookStatus& status : *statuses) all.push_back(encodeWebhookStatus(status));
  if (all.size() == 1) o["webhook"] = all.front();
  o["webhooks"] = std::move(all);
  return o;
}

json::object Protocol::getWebhook(const json::object& request) const {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) return refusalAnswer(refusal);
  return answer(engine_.getWebhook(region), "webhook", encodeWebhookSettings);
}

boost::asio::awaitable<json::object> Protocol::patchWebhook(const json::object& request) {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) co_return refusalAnswer(refusal);
  const json::value* changes = request.if_contains("changes");
  if (changes == nullptr || !changes->is_object()) {
    jobs::addBadField(refusal, "changes",
                      "changes must be an object with any of endpoint, authorization, enabled, "
                      "log_format, skip_ssl_verification");
    co_return refusalAnswer(refusal);
  }
  jobs::WebhookOverride patch;
  if (!jobs::mergePatch(changes->get_object(), patch, refusal)) co_return refusalAnswer(refusal);
  auto view = co_await engine_.patchWebhook(std::move(region), std::move(patch));
  co_return answer(view, "webhook", encodeWebhookSettings);
}

boost::asio::awaitable<json::object> Protocol::resetWebhook(const json::object& request) {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) co_return refusalAnswer(refusal);
  auto view = co_await engine_.resetWebhook(std::move(region));
  co_return answer(view, "webhook", encodeWebhookSettings);
}

boost::asio::awaitable<json::object> Protocol::forward(Op op, const json::object& request) {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) co_return refusalAnswer(refusal);
  if (op == Op::ForwardPause) {
    auto paused = co_await engine_.pauseForward(std::move(region));
    co_return answer(paused, "forward", encodeForward);
  }
  if (op == Op::ForwardResume) {
    auto resumed = co_await engine_.resumeForward(std::move(region));
    co_return answer(resumed, "forward", encodeForward);
  }
  auto status = co_await engine_.forwardStatus(std::move(region));
  co_return answer(status, "forward", encodeForward);
}

boost::asio::awaitable<json::object> Protocol::ingest(const json::object& request) {
  jobs::IngestRequest ingest;
  Refusal refusal;
  if (!decodeRegion(request, ingest.region, refusal)) co_return refusalAnswer(refusal);
  if (auto* s = request.if_contains("skip_invalid"); s && !s->is_null()) {
    if (!s->is_bool()) co_return fail(400, "skip_invalid must be true or false");
    ingest.skip_invalid = s->as_bool();
  }
  // Events arrive as JSON text ("lines", stored byte for byte) or as objects ("events",
  // stored compactly serialised). Anything else in the arrays is rejected by position.
  // Lines are read where the request holds them, and objects serialised into one buffer:
  // a copy per event would cost more than the events themselves for small ones.
  const json::value* lines = request.if_contains("lines");
  const json::value* events = request.if_contains("events");
  if ((lines == nullptr) == (events == nullptr)) {
    co_return fail(400, "ingest needs either lines (JSON text) or events (objects)");
  }
  if (!(lines ? lines : events)->is_array()) {
    co_return fail(400, std::string(lines ? "lines" : "events") + " must be an array");
  }
  const json::array& items = (lines ? lines : events)->as_array();
  std::vector<std::size_t> not_text;
  std::string serialised;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // of `serialised`, per event
  ingest.events.reserve(items.size());
  if (events) spans.reserve(items.size());
  for (const json::value& item : items) {
    if (lines && item.is_string()) {
      ingest.events.emplace_back(item.as_string());
    } else if (events && item.is_object()) {
      const std::size_t at = serialised.size();
      serialised += json::serialize(item);
      spans.emplace_back(at, serialised.size() - at);
      ingest.events.emplace_back();
    } else {
      not_text.push_back(ingest.events.size());
      if (events) spans.emplace_back(0, 0);
      ingest.events.emplace_back();
    }
  }
  if (events) {  // `serialised` no longer grows: its views stay valid
    for (std::size_t i = 0; i < ingest.events.size(); ++i) {
      ingest.events[i] = std::string_view(serialised).substr(spans[i].first, spans[i].second);
    }
  }
  const bool skip_invalid = ingest.skip_invalid;
  // `request` and `serialised` hold the events until the engine has stored them.
  auto report = co_await engine_.ingest(std::move(ingest));
  if (!report) co_return refusalAnswer(report.error());

  json::array rejected;
  for (const auto& r : report->rejected) {
    json::object item;
    item["index"] = r.index;
    bool wrong_type = std::binary_search(not_text.begin(), not_text.end(), r.index);
    item["reason"] = wrong_type ? (lines ? "not a JSON string" : "not a JSON object") : r.reason;
    rejected.push_back(std::move(item));
  }
  json::object o;
  if (!skip_invalid && !report->rejected.empty()) {
    o = fail(400, std::to_string(report->rejected.size()) +
                      " invalid event(s), nothing stored; first at index " +
                      std::to_string(report->rejected.front().index) + ": " +
                      std::string(rejected.front().as_object().at("reason").as_string()));
  } else {
    o = ok();
  }
  o["ingested"] = report->ingested;
  o["duplicates"] = report->duplicates;
  o["rejected"] = std::move(rejected);
  co_return o;
}

boost::asio::awaitable<json::object> Protocol::stats() {
  // Named results around each co_await: GCC 12 mishandles temporaries inside larger
  // expressions that hold one.
  const jobs::Stats stats = co_await engine_.stats();
  json::object o = ok();
  o["stats"] = encodeStats(stats);
  co_return o;
}

boost::asio::awaitable<json::object> Protocol::health() {
  const bool writable = co_await engine_.storeWritable();
  if (!writable) co_return fail(503, "the store is not answering");
  co_return ok();
}

json::object Protocol::jwks() const {
  json::object o = ok();
  o["jwks"] = json::parse(engine_.jwks());
  return o;
}

boost::asio::awaitable<json::object> Protocol::ingestBody(json::object request,
                                                          std::string_view body,
                                                          jobs::BodyIngestOptions options) {
  RegionName region;
  Refusal refusal;
  if (!decodeRegion(request, region, refusal)) co_return fail(refusal.code, refusal.reason);
  auto outcome = co_await engine_.ingestBody(std::move(region), body, options);
  // A refusal is a one-line error, without the fields of a 400 (docs/http-api.md).
  if (!outcome) co_return fail(outcome.error().code, outcome.error().reason);
  jobs::BodyIngestReport& report = *outcome;
  json::object o;
  o["ok"] = report.code == 200;
  o["code"] = report.code;
  if (report.code != 200) o["error"] = std::move(report.error);
  o["ingested"] = report.ingested;
  o["duplicates"] = report.duplicates;
  json::array rejected;
  rejected.reserve(report.rejected.size());
  for (auto& r : report.rejected) {
    json::object item;
    item["line"] = r.line;
    item["reason"] = std::move(r.reason);
    rejected.push_back(std::move(item));
  }
  o["rejected"] = std::move(rejected);
  co_return o;
}

}  // namespace audit::api
