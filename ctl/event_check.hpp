#pragma once
// docs/store.md's event rule on the client side, so `ingest` can refuse a bad file before it
// sends anything: the store's own extractEventTime (library audit_event_time, no RocksDB),
// so a line checked here and an event refused by the daemon read alike.

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace audit::ctl {

struct EventCheck {
  std::optional<EpochMillis> time;  // set when the event is acceptable
  std::string reason;               // set otherwise: "no rt or event_ts field"

  bool ok() const { return time.has_value(); }
};

/**
 * Checks one NDJSON line: a JSON object whose time is `rt` (milliseconds since the epoch:
 * an integer, a whole-number double, or a numeric string) or, without `rt`, `event_ts`
 * (RFC 3339 with zone). A null field counts as absent; a present but malformed `rt` is an
 * error, not a reason to look at event_ts (as in the store).
 */
EventCheck checkEvent(std::string_view line);

}  // namespace audit::ctl
