#include "jobs/job_request.hpp"

#include "common/rfc3339.hpp"
#include "common/units.hpp"

namespace audit::jobs {

namespace {
constexpr EpochMillis kFutureSlackMs = 60'000;

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

Outcome<std::string> resolveRegion(const std::optional<std::string>& named,
                                   const config::Config& config) {
  if (!named) {
    if (config.regions.size() == 1) return config.regions.begin()->first;
    if (config.regions.empty()) return Refusal{404, "no region is configured", {}};
    std::string names;
    for (const auto& [name, settings] : config.regions) names += (names.empty() ? "" : ", ") + name;
    Refusal refusal;
    badField(refusal, "region",
             "region is required: several regions are configured (" + names + ")");
    return refusal;
  }
  if (!config.regions.contains(*named)) {
    return Refusal{404, "region " + *named + " is not configured", {}};
  }
  return *named;
}

Outcome<ValidRange> validateRange(const std::optional<std::string>& start_at,
                                  const std::optional<std::string>& end_at,
                                  const config::RegionSettings& region, Millis retention,
                                  EpochMillis now) {
  Refusal refusal;
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
  if (!refusal.fields.empty()) return refusal;
  if (!region.webhook.configured() || !region.webhook.enabled) {
    badField(refusal, "region", "webhook for region " + region.name + " is not enabled");
    return refusal;
  }
  ValidRange range;
  // Shown in UTC whatever zone was sent; milliseconds only when a fraction was given.
  range.start_at = start.has_fraction ? formatRfc3339Millis(start.ms) : formatRfc3339(start.ms);
  range.end_at = end.has_fraction ? formatRfc3339Millis(end.ms) : formatRfc3339(end.ms);
  range.first_ms = start.ms;
  // "…20:00:00Z" covers the whole second, up to 20:00:00.999 (docs/http-api.md).
  range.last_ms = end.has_fraction ? end.ms : end.ms + 999;
  return range;
}

Outcome<void> validateJobWebhook(const JobWebhook& webhook, const config::RegionSettings& region) {
  auto bad = [](std::string reason) { return Refusal{400, reason, {{"webhook", reason}}}; };
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
    return Refusal{403,
                   "webhook.endpoint " + config::withoutPassword(webhook.endpoint) +
                       " is not in webhook.alternate_endpoints of region " + region.name,
                   {}};
  }
  // The rules of the region's own webhook.endpoint (scheme, host, port, no credentials).
  if (auto problem = config::checkWebhookEndpoint(webhook.endpoint)) {
    return bad("webhook.endpoint: " + *problem + ", got \"" +
               config::withoutPassword(webhook.endpoint) + "\"");
  }
  return {};
}

}  // namespace audit::jobs
