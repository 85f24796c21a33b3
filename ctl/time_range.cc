#include "ctl/time_range.hpp"

#include "common/rfc3339.hpp"
#include "common/units.hpp"

namespace audit::ctl {

namespace {

// The last millisecond an end time covers: "…:00Z" covers its whole second (docs/http-api.md).
EpochMillis coveredUntil(const Rfc3339Time& t) {
  return t.has_fraction ? t.ms : t.ms + 999;
}

}  // namespace

std::optional<EpochMillis> parseTimeOrAgo(std::string_view text, EpochMillis now) {
  if (auto ago = parseDuration(text)) {
    EpochMillis at = now - ago->count();
    return at - ((at % 1000) + 1000) % 1000;  // floor to the second, also before 1970
  }
  if (auto t = parseRfc3339(text)) return t->ms;
  return std::nullopt;
}

Expected<TimeRange> resolveTimeRange(const ParsedArgs& args, EpochMillis now) {
  auto start = args.value("--start");
  auto end = args.value("--end");
  auto since = args.value("--since");
  auto until = args.value("--until");

  if (since) {
    if (start || end) {
      return Failure{"give either --start/--end or --since/--until, not both"};
    }
    auto from = parseTimeOrAgo(*since, now);
    if (!from) {
      return Failure{"bad --since '" + *since +
                     "': expected a duration like 2h or an RFC 3339 time"};
    }
    EpochMillis to = now - ((now % 1000) + 1000) % 1000;
    if (until) {
      auto parsed = parseTimeOrAgo(*until, now);
      if (!parsed) {
        return Failure{"bad --until '" + *until +
                       "': expected a duration like 30m or an RFC 3339 time"};
      }
      to = *parsed;
    }
    if (to < *from) {
      return Failure{"--until is before --since"};
    }
    return TimeRange{formatRfc3339(*from), formatRfc3339(to)};
  }

  if (until) {
    return Failure{"--until needs --since"};
  }
  if (!start || !end) {
    return Failure{"replay needs --start and --end, or --since"};
  }
  auto from = parseRfc3339(*start);
  if (!from) {
    return Failure{"bad --start '" + *start +
                   "': expected RFC 3339 with a zone, e.g. 2026-11-20T20:00:00Z"};
  }
  auto to = parseRfc3339(*end);
  if (!to) {
    return Failure{"bad --end '" + *end +
                   "': expected RFC 3339 with a zone, e.g. 2026-11-21T20:00:00Z"};
  }
  if (coveredUntil(*to) < from->ms) {
    return Failure{"--end is before --start"};
  }
  return TimeRange{*start, *end};
}

}  // namespace audit::ctl
