#include "daemon/job_request.hpp"

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

// Reads a required RFC 3339 field.
bool readTime(const json::object& request, const char* field, std::string& text, Rfc3339Time& time,
              Refusal& refusal) {
  const json::value* v = request.if_contains(field);
  if (v == nullptr || v->is_null())
    return refuse(refusal, 400, std::string(field) + " is required");
  if (!v->is_string()) {
    return refuse(refusal, 400, std::string(field) + " must be an RFC 3339 string");
  }
  text = std::string(v->as_string());
  auto parsed = parseRfc3339(text);
  if (!parsed) {
    return refuse(
        refusal, 400,
        std::string(field) + " is not an RFC 3339 date-time with zone (e.g. 2026-11-20T20:00:00Z)");
  }
  time = *parsed;
  return true;
}
}  // namespace

bool resolveRegion(const json::object& request, const config::Config& config, std::string& region,
                   Refusal& refusal) {
  const json::value* v = request.if_contains("region");
  if (v == nullptr || v->is_null()) {
    if (config.regions.size() == 1) {
      region = config.regions.begin()->first;
      return true;
    }
    if (config.regions.empty()) return refuse(refusal, 404, "no region is configured");
    return refuse(refusal, 400, "region is required: several regions are configured");
  }
  if (!v->is_string()) return refuse(refusal, 400, "region must be a string");
  region = std::string(v->as_string());
  if (!config.regions.contains(region)) {
    return refuse(refusal, 404, "region " + region + " is not configured");
  }
  return true;
}

bool validateRange(const json::object& request, const config::RegionSettings& region,
                   Millis retention, EpochMillis now, ValidRange& range, Refusal& refusal) {
  Rfc3339Time start, end;
  if (!readTime(request, "start_at", range.start_at, start, refusal)) return false;
  if (!readTime(request, "end_at", range.end_at, end, refusal)) return false;
  if (end.ms < start.ms) return refuse(refusal, 400, "end_at is before start_at");
  if (start.ms < now - retention.count()) {
    return refuse(refusal, 400,
                  "start_at is more than " + formatDuration(retention) +
                      " ago (the look-back limit is the retention)");
  }
  if (end.ms > now + kFutureSlackMs) {
    return refuse(refusal, 400, "end_at is more than 60s in the future");
  }
  if (!region.webhook.configured() || !region.webhook.enabled) {
    return refuse(refusal, 400, "webhook for region " + region.name + " is not enabled");
  }
  range.first_ms = start.ms;
  // "…20:00:00Z" covers the whole second, up to 20:00:00.999 (SPEC §3).
  range.last_ms = end.has_fraction ? end.ms : end.ms + 999;
  return true;
}

bool validateJobWebhook(const boost::json::object& request, const config::RegionSettings& region,
                        std::optional<JobWebhook>& out, Refusal& refusal) {
  out.reset();
  const boost::json::value* hook = request.if_contains("webhook");
  if (hook == nullptr || hook->is_null()) return true;
  auto bad = [&](std::string reason) {
    refusal = Refusal{400, std::move(reason)};
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
    refusal = Refusal{403, "webhook.endpoint " + config::withoutPassword(w.endpoint) +
                               " is not in webhook.alternate_endpoints of region " + region.name};
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
