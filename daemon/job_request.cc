#include "daemon/job_request.hpp"

#include <boost/json/array.hpp>

#include "common/rfc3339.hpp"
#include "common/units.hpp"
#include "config/detail/network.hpp"

namespace audit::daemon {
namespace json = boost::json;

namespace {
constexpr EpochMillis kFutureSlackMs = 60'000;

bool refuse(Refusal& refusal, int code, std::string reason) {
  refusal.code = code;
  refusal.reason = std::move(reason);
  return false;
}

// Adds one bad field to a 400; the reason names the field so a one-line answer reads alone.
void badField(Refusal& refusal, const char* field, std::string reason) {
  refusal.code = 400;
  if (!refusal.reason.empty()) refusal.reason += "; ";
  refusal.reason += reason;
  refusal.fields.emplace_back(field, std::move(reason));
}

// Reads a required RFC 3339 field; a bad one is added to the refusal.
bool readTime(const json::object& request, const char* field, Rfc3339Time& time, Refusal& refusal) {
  const json::value* v = request.if_contains(field);
  if (v == nullptr || v->is_null()) {
    badField(refusal, field, std::string(field) + " is required");
    return false;
  }
  if (!v->is_string()) {
    badField(refusal, field, std::string(field) + " must be an RFC 3339 string");
    return false;
  }
  auto parsed = parseRfc3339(v->as_string());
  if (!parsed) {
    badField(
        refusal, field,
        std::string(field) + " is not an RFC 3339 date-time with zone (e.g. 2026-11-20T20:00:00Z)");
    return false;
  }
  time = *parsed;
  return true;
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

bool resolveRegion(const json::object& request, const config::Config& config, std::string& region,
                   Refusal& refusal) {
  const json::value* v = request.if_contains("region");
  if (v == nullptr || v->is_null()) {
    if (config.regions.size() == 1) {
      region = config.regions.begin()->first;
      return true;
    }
    if (config.regions.empty()) return refuse(refusal, 404, "no region is configured");
    std::string names;
    for (const auto& [name, settings] : config.regions) names += (names.empty() ? "" : ", ") + name;
    badField(refusal, "region",
             "region is required: several regions are configured (" + names + ")");
    return false;
  }
  if (!v->is_string()) {
    badField(refusal, "region", "region must be a string");
    return false;
  }
  region = std::string(v->as_string());
  if (!config.regions.contains(region)) {
    return refuse(refusal, 404, "region " + region + " is not configured");
  }
  return true;
}

bool validateRange(const json::object& request, const config::RegionSettings& region,
                   Millis retention, EpochMillis now, ValidRange& range, Refusal& refusal) {
  Rfc3339Time start, end;
  // Every bad field is named, start_at's first.
  const bool start_ok = readTime(request, "start_at", start, refusal);
  if (start_ok && start.ms < now - retention.count()) {
    badField(refusal, "start_at",
             "start_at is more than " + formatDuration(retention) +
                 " ago (the look-back limit is the retention)");
  }
  const bool end_ok = readTime(request, "end_at", end, refusal);
  if (end_ok && end.ms > now + kFutureSlackMs) {
    badField(refusal, "end_at", "end_at is more than 60s in the future");
  } else if (start_ok && end_ok && end.ms < start.ms) {
    badField(refusal, "end_at", "end_at is before start_at");
  }
  if (!refusal.fields.empty()) return false;
  if (!region.webhook.configured() || !region.webhook.enabled) {
    badField(refusal, "region", "webhook for region " + region.name + " is not enabled");
    return false;
  }
  // Shown in UTC whatever zone was sent; milliseconds only when a fraction was given.
  range.start_at = start.has_fraction ? formatRfc3339Millis(start.ms) : formatRfc3339(start.ms);
  range.end_at = end.has_fraction ? formatRfc3339Millis(end.ms) : formatRfc3339(end.ms);
  range.first_ms = start.ms;
  // "…20:00:00Z" covers the whole second, up to 20:00:00.999 (docs/http-api.md).
  range.last_ms = end.has_fraction ? end.ms : end.ms + 999;
  return true;
}

bool validateJobWebhook(const boost::json::object& request, const config::RegionSettings& region,
                        std::optional<JobWebhook>& out, Refusal& refusal) {
  out.reset();
  const boost::json::value* hook = request.if_contains("webhook");
  if (hook == nullptr || hook->is_null()) return true;
  auto bad = [&](std::string reason) {
    refusal = Refusal{400, reason, {{"webhook", reason}}};
    return false;
  };
  if (!hook->is_object()) return bad("webhook must be an object {\"endpoint\": URL}");
  JobWebhook w;
  for (const auto& [key, value] : hook->as_object()) {
    if (key == "endpoint") {
      if (!value.is_string() || value.as_string().empty()) {
        return bad("webhook.endpoint must be a URL");
      }
      w.endpoint = std::string(value.as_string());
    } else if (key == "authorization") {
      if (!value.is_string()) return bad("webhook.authorization must be a string");
      w.authorization = std::string(value.as_string());
      // Never quoted: it is a secret.
      if (w.authorization.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return bad("webhook.authorization must be a single line");
      }
    } else {
      return bad("webhook." + std::string(key) + " is not a known field (endpoint, authorization)");
    }
  }
  if (w.endpoint.empty()) return bad("webhook.endpoint is required");
  if (w.endpoint.find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos) {
    return bad("webhook.endpoint must be a URL");
  }
  bool allowed = false;
  for (const std::string& prefix : region.webhook.alternate_endpoints) {
    if (w.endpoint.starts_with(prefix)) allowed = true;
  }
  if (!allowed) {
    refusal = Refusal{403,
                      "webhook.endpoint " + config::withoutPassword(w.endpoint) +
                          " is not in webhook.alternate_endpoints of region " + region.name,
                      {}};
    return false;
  }
  // The rules of the region's own webhook.endpoint (scheme, host, port, no credentials).
  if (auto problem = config::detail::checkEndpoint(w.endpoint)) {
    return bad("webhook.endpoint: " + *problem + ", got \"" + config::withoutPassword(w.endpoint) +
               "\"");
  }
  out = std::move(w);
  return true;
}

}  // namespace audit::daemon
