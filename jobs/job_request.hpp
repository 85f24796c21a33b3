#pragma once
// Validation of a replay request's values (docs/http-api.md), shared by every front end; the
// protocol codec has already checked the JSON types. Each refusal carries the status code
// and a one-line reason naming the field.

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace audit::jobs {

struct Refusal {
  int code = 400;
  std::string reason;  // every bad field's reason, "; "-separated
  /** The bad fields of a 400, each with its reason (Konnect's invalid_parameters). */
  std::vector<std::pair<std::string, std::string>> fields;
};

/** For Outcome::value() on a refusal (found by argument-dependent lookup): throws the
 *  refusal's reason. The engine itself never calls it. */
[[noreturn]] inline void throw_exception_from_error(const Refusal& refusal,
                                                    const boost::source_location&) {
  throw std::runtime_error(refusal.reason);
}

/** A value, or the refusal that a request could not get one. */
template <class T>
using Outcome = boost::system::result<T, Refusal>;

/** Adds one bad field to a 400; the reason names the field so a one-line answer reads alone. */
void addBadField(Refusal& refusal, std::string field, std::string reason);

/**
 * Picks the request's region: the one named, or the only configured region when none is.
 * Refuses 400 (none named with several regions) or 404 (unknown).
 */
Outcome<std::string> resolveRegion(const std::optional<std::string>& named,
                                   const config::Config& config);

struct ValidRange {
  std::string start_at;  // normalised to UTC "…Z" (milliseconds only when given)
  std::string end_at;
  EpochMillis first_ms = 0;
  EpochMillis last_ms = 0;  // inclusive; a whole-second end_at covers its whole second
};

/**
 * Checks start_at/end_at (RFC 3339 text; none: missing) against the rules of a replay
 * request and the region's webhook. A refusal names every bad field, not just the first.
 */
Outcome<ValidRange> validateRange(const std::optional<std::string>& start_at,
                                  const std::optional<std::string>& end_at,
                                  const config::RegionSettings& region, Millis retention,
                                  EpochMillis now);

/** A replay request's own webhook: `"webhook": {"endpoint": URL, "authorization": "…"}`. */
struct JobWebhook {
  std::string endpoint;
  std::string authorization;  // secret: never in a message or a log line
};

/**
 * Checks a request's own webhook: 400 for an endpoint or authorization that cannot be one,
 * 403 when the endpoint does not start with one of the region's
 * webhook.alternate_endpoints (none by default).
 */
Outcome<void> validateJobWebhook(const JobWebhook& webhook, const config::RegionSettings& region);

}  // namespace audit::jobs
