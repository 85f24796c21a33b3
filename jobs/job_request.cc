#include "jobs/job_request.hpp"

#include "common/rfc3339.hpp"
#include "common/units.hpp"

namespace audit::jobs {

namespace {
constexpr EpochMillis kFutureSlackMs = 60'000;

bool refuse(Refusal& refusal, int code, std::string reason) {
  refusal.code = code;
  refusal.reason = std::move(reason);
  return false;
}

void badField(Refusal& refusal, const char* field, std::string reason) {
  addBadField(refusal, field, std::move(reason));
}

// Reads a required RFC 3339 field; a bad one is added to the refusal.
bool readTime(const std::optional<std::string>& text, const char* field, Rfc3339Time& time,
              Refusal& refusal) {
  if (!text) {
    badField(refusal, field, std::string(field) + " is required");
    return false;
  }
  auto parsed = parseRfc3339(*text);
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

void addBadField(Refusal& refusal, std::string field, std::string reason) {
  refusal.code = 400;
  if (!refusal.reason.empty()) refusal.reason += "; ";
  refusal.reason += reason;
  refusal.fields.emplace_back(std::move(field), std::move(reason));
}

bool resolveRegion(const std::optional<std::string>& named, const config::Config& config,
                   std::string& region, Refusal& refusal) {
  if (!named) {
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
  region = *named;
  if (!config.regions.contains(region)) {
    return refuse(refusal, 404, "region " + region + " is not configured");
  }
  return true;
}

bool validateRange(const std::optional<std::string>& start_at,
                   const std::optional<std::string>& end_at, const config::RegionSettings& region,
                   Millis retention, EpochMillis now, ValidRange& range, Refusal& refusal) {
  Rfc3339Time start, end;
  // Every bad field is named, start_at's first.
  const bool start_ok = readTime(start_at, "start_at", start, refusal);
  if (start_ok && start.ms < now - retention.count()) {
    badField(refusal, "start_at",
             "start_at is more than " + formatDuration(retention) +
                 " ago (the look-back limit is the retention)");
  }
  const bool end_ok = readTime(end_at, "end_at", end, refusal);
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

bool validateJobWebhook(const JobWebhook& webhook, const config::RegionSettings& region,
                        Refusal& refusal) {
  auto bad = [&](std::string reason) {
    refusal = Refusal{400, reason, {{"webhook", reason}}};
    return false;
  };
  // Never quoted: it is a secret.
  if (webhook.authorization.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return bad("webhook.authorization must be a single line");
  }
  if (webhook.endpoint.empty()) return bad("webhook.endpoint is required");
  if (webhook.endpoint.find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos) {
    return bad("webhook.endpoint must be a URL");
  }
  bool allowed = false;
  for (const std::string& prefix : region.webhook.alternate_endpoints) {
    if (webhook.endpoint.starts_with(prefix)) allowed = true;
  }
  if (!allowed) {
    refusal = Refusal{403,
                      "webhook.endpoint " + config::withoutPassword(webhook.endpoint) +
                          " is not in webhook.alternate_endpoints of region " + region.name,
                      {}};
    return false;
  }
  // The rules of the region's own webhook.endpoint (scheme, host, port, no credentials).
  if (auto problem = config::checkWebhookEndpoint(webhook.endpoint)) {
    return bad("webhook.endpoint: " + *problem + ", got \"" +
               config::withoutPassword(webhook.endpoint) + "\"");
  }
  return true;
}

}  // namespace audit::jobs
