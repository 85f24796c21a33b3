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

std::optional<TimeRange> resolveTimeRange(const ParsedArgs& args, EpochMillis now,
                                          std::string* error) {
  auto start = args.value("--start");
  auto end = args.value("--end");
  auto since = args.value("--since");
  auto until = args.value("--until");

  if (since) {
    if (start || end) {
      *error = "give either --start/--end or --since/--until, not both";
      return std::nullopt;
    }
    auto from = parseTimeOrAgo(*since, now);
    if (!from) {
      *error = "bad --since '" + *since + "': expected a duration like 2h or an RFC 3339 time";
      return std::nullopt;
    }
    EpochMillis to = now - ((now % 1000) + 1000) % 1000;
    if (until) {
      auto parsed = parseTimeOrAgo(*until, now);
      if (!parsed) {
        *error = "bad --until '" + *until + "': expected a duration like 30m or an RFC 3339 time";
        return std::nullopt;
      }
      to = *parsed;
    }
    if (to < *from) {
      *error = "--until is before --since";
      return std::nullopt;
    }
    return TimeRange{formatRfc3339(*from), formatRfc3339(to)};
  }

  if (until) {
    *error = "--until needs --since";
    return std::nullopt;
  }
  if (!start || !end) {
    *error = "replay needs --start and --end, or --since";
    return std::nullopt;
  }
  auto from = parseRfc3339(*start);
  if (!from) {
    *error =
        "bad --start '" + *start + "': expected RFC 3339 with a zone, e.g. 2026-11-20T20:00:00Z";
    return std::nullopt;
  }
  auto to = parseRfc3339(*end);
  if (!to) {
    *error = "bad --end '" + *end + "': expected RFC 3339 with a zone, e.g. 2026-11-21T20:00:00Z";
    return std::nullopt;
  }
  if (coveredUntil(*to) < from->ms) {
    *error = "--end is before --start";
    return std::nullopt;
  }
  return TimeRange{*start, *end};
}

}  // namespace audit::ctl
