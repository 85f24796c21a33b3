#pragma once
// Validation of a replay request (SPEC §3), shared by every front end. Each refusal carries
// the status code and a one-line reason naming the field.

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace audit::daemon {

struct Refusal {
  int code = 400;
  std::string reason;
};

/**
 * Picks the request's region: its "region" member, or the only configured region when it
 * has none. Refuses 400 (missing with several regions, not a string) or 404 (unknown).
 */
bool resolveRegion(const boost::json::object& request, const config::Config& config,
                   std::string& region, Refusal& refusal);

struct ValidRange {
  std::string start_at;
  std::string end_at;
  EpochMillis first_ms = 0;
  EpochMillis last_ms = 0;  // inclusive; a whole-second end_at covers its whole second
};

/** Checks start_at/end_at against the rules of §3 and the region's webhook. */
bool validateRange(const boost::json::object& request, const config::RegionSettings& region,
                   Millis retention, EpochMillis now, ValidRange& range, Refusal& refusal);

/** A replay request's own webhook: `"webhook": {"endpoint": URL, "authorization": "…"}`. */
struct JobWebhook {
  std::string endpoint;
  std::string authorization;  // secret: never in a message or a log line
};

/**
 * Reads the request's "webhook" member, if any, into `out` (left empty without one).
 * Refuses 400 for a bad shape and 403 when the endpoint does not start with one of the
 * region's webhook.alternate_endpoints (none by default).
 */
bool validateJobWebhook(const boost::json::object& request, const config::RegionSettings& region,
                        std::optional<JobWebhook>& out, Refusal& refusal);

}  // namespace audit::daemon
