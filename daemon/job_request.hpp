#pragma once
// Validation of a replay request (docs/http-api.md), shared by every front end. Each refusal
// carries the status code and a one-line reason naming the field.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace audit::daemon {

struct Refusal {
  int code = 400;
  std::string reason;  // every bad field's reason, "; "-separated
  /** The bad fields of a 400, each with its reason (Konnect's invalid_parameters). */
  std::vector<std::pair<std::string, std::string>> fields;
};

/** {"ok":false,"code":C,"error":reason} plus, when fields are named, "invalid_parameters". */
boost::json::object refusalAnswer(const Refusal& refusal);

/**
 * Picks the request's region: its "region" member, or the only configured region when it
 * has none. Refuses 400 (missing with several regions, not a string) or 404 (unknown).
 */
bool resolveRegion(const boost::json::object& request, const config::Config& config,
                   std::string& region, Refusal& refusal);

struct ValidRange {
  std::string start_at;  // normalised to UTC "…Z" (milliseconds only when given)
  std::string end_at;
  EpochMillis first_ms = 0;
  EpochMillis last_ms = 0;  // inclusive; a whole-second end_at covers its whole second
};

/**
 * Checks start_at/end_at against the rules of a replay request and the region's webhook.
 * A refusal names every bad field, not just the first.
 */
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
