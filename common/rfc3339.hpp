#pragma once
// Strict RFC 3339 date-times: "2026-11-20T20:00:00Z", "2026-11-20T21:00:00.5+01:00".
// A zone (Z or ±hh:mm) is required; 'T'/'t' and 'Z'/'z' are accepted as the RFC allows.
// Fractions are kept to the millisecond (extra digits truncate); leap second 60 is refused
// because epoch milliseconds cannot represent it. Only instants RFC 3339 can write in UTC
// are accepted: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z once the offset is applied
// ("9999-12-31T23:30:00-04:30" is in the year 10000 and is refused).

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/expected.hpp"

namespace audit {

struct Rfc3339Time {
  EpochMillis ms = 0;
  /** False for "…:00Z": the caller may then treat the value as a whole second. */
  bool has_fraction = false;
};

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the instants RFC 3339 can write. */
inline constexpr EpochMillis kRfc3339MinMillis = -62'167'219'200'000;
inline constexpr EpochMillis kRfc3339MaxMillis = 253'402'300'799'999;

/** True when `ms` formats as an RFC 3339 time (a year 0000 to 9999 in UTC). */
constexpr bool inRfc3339Range(EpochMillis ms) {
  return ms >= kRfc3339MinMillis && ms <= kRfc3339MaxMillis;
}

/**
 * @return the time; fails when `text` is not a complete RFC 3339 date-time with zone or
 * names an instant outside inRfc3339Range(), saying which of the two: "not an RFC 3339
 * date-time with zone (e.g. 2026-11-20T20:00:00Z)", or "outside 0000-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z once its offset is applied".
 */
Expected<Rfc3339Time> parseRfc3339(std::string_view text);

/**
 * "2026-11-21T03:12:09Z" when ms is a whole second, else "2026-11-21T03:12:09.123Z".
 * Defined for every value; outside inRfc3339Range() the year has more than four digits or a
 * sign ("10000-01-01T00:00:00Z", "-0001-12-31T23:59:59Z"), which is not RFC 3339, so callers
 * that need a valid time check the range first.
 */
std::string formatRfc3339(EpochMillis ms);

/** Always with milliseconds: "2026-11-21T03:12:09.000Z". Same range note as above. */
std::string formatRfc3339Millis(EpochMillis ms);

}  // namespace audit
