#pragma once
// Text for people: grouped numbers, sizes, clock-style durations, "12 min ago", and
// aligned tables. Pure functions, so tests pin the exact output.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

namespace audit::ctl {

/** 64000 → "64,000". */
std::string groupThousands(std::uint64_t n);

/** 512 → "512 B", 41,000,000 → "39.1 MiB" (binary units, one decimal). */
std::string formatBytes(std::uint64_t bytes);

/** 2 s → "0:02", 754 s → "12:34", 3723 s → "1:02:03". */
std::string formatClock(std::chrono::seconds d);

/** 11723 s → "3h 15m", 90 s → "1m 30s", 4 d → "4d 0h": for uptimes. */
std::string formatUptime(std::chrono::seconds d);

/**
 * How long ago `then` was, as of `now`: "just now" (under 5 s or a clock slightly ahead),
 * "42 s ago", "12 min ago", "5 h ago" (under 48 h), "3 d ago".
 */
std::string formatAgo(EpochMillis now, EpochMillis then);

/** Same, from RFC 3339 text; the text itself when it does not parse, "-" when empty. */
std::string formatAgo(EpochMillis now, std::string_view rfc3339);

/** Left-aligned columns two spaces apart; the header row is given like any other row. */
class Table {
 public:
  void addRow(std::vector<std::string> cells);
  /** Every row on its own line, trailing spaces trimmed. Widths count UTF-8 characters. */
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace audit::ctl
