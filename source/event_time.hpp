#pragma once
// docs/store.md: an event's time is `rt` (ms since the epoch, a number or a numeric string),
// else `event_ts` (RFC 3339 with zone). Anything else is rejected with the reason.

#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace audit::source {

struct EventTime {
  bool ok = false;
  EpochMillis ms = 0;
  /**
   * Set when !ok, one of: "not a JSON object", "invalid JSON: <parser message>",
   * "no rt or event_ts field", "rt is not a number of milliseconds",
   * "event_ts is not an RFC 3339 time with zone: \"<value>\"".
   */
  std::string reason;
};

/**
 * Parses `json` (one object; surrounding white space ignored) and extracts its time: `rt` as
 * an integer, a float with an integral value or a numeric string, else `event_ts`. `rt`
 * wins when both are present; a field whose value is null counts as absent. Thread-safe.
 */
EventTime extractEventTime(std::string_view json);

}  // namespace audit::source
