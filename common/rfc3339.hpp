#pragma once
// Strict RFC 3339 date-times: "2026-11-20T20:00:00Z", "2026-11-20T21:00:00.5+01:00".
// A zone (Z or ±hh:mm) is required; 'T'/'t' and 'Z'/'z' are accepted as the RFC allows.
// Fractions are kept to the millisecond (extra digits truncate); leap second 60 is refused
// because epoch milliseconds cannot represent it.

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace audit {

struct Rfc3339Time {
  EpochMillis ms = 0;
  /** False for "…:00Z": the caller may then treat the value as a whole second. */
  bool has_fraction = false;
};

/** @return the time, or nullopt when `text` is not a complete RFC 3339 date-time with zone. */
std::optional<Rfc3339Time> parseRfc3339(std::string_view text);

/** "2026-11-21T03:12:09Z" when ms is a whole second, else "2026-11-21T03:12:09.123Z". */
std::string formatRfc3339(EpochMillis ms);

/** Always with milliseconds: "2026-11-21T03:12:09.000Z". */
std::string formatRfc3339Millis(EpochMillis ms);

}  // namespace audit
