#pragma once
// Turns replay's --start/--end or --since/--until into the RFC 3339 pair put_job takes.

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/expected.hpp"
#include "ctl/args.hpp"

namespace audit::ctl {

struct TimeRange {
  std::string start_at;  // RFC 3339, sent as is
  std::string end_at;
};

/**
 * Parses "2h" as `now` minus two hours, or an RFC 3339 date-time as itself.
 * @return epoch milliseconds, or nullopt when `text` is neither.
 */
std::optional<EpochMillis> parseTimeOrAgo(std::string_view text, EpochMillis now);

/**
 * Resolves replay's range. Either --start and --end (RFC 3339, passed through unchanged so
 * the daemon's whole-second rule applies), or --since (duration ago or RFC 3339) with an
 * optional --until (same forms, default now). Relative times are whole seconds, rounded
 * down. An end before the start is refused here rather than by a round trip.
 * Fails with a usage error's message.
 */
Expected<TimeRange> resolveTimeRange(const ParsedArgs& args, EpochMillis now);

}  // namespace audit::ctl
