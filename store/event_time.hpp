#pragma once
// SPEC §2: an event's time is `rt` (ms since the epoch, a number or a numeric string),
// else `event_ts` (RFC 3339 with zone). Anything else is rejected with the reason.

#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace audit::store {

struct EventTime {
  bool ok = false;
  EpochMillis ms = 0;
  std::string reason;  // set when !ok: "no rt or event_ts field", "event_ts is not RFC 3339: …"
};

/** Parses `json` (one object) and extracts its time. */
EventTime extractEventTime(std::string_view json);

}  // namespace audit::store
