#pragma once
// Durations ("250ms", "10s", "5m", "2h", "7d") and sizes ("512KiB", "1MiB", "4096").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace audit {

/** Accepts a non-negative integer followed by ms, s, m, h or d. */
std::optional<Millis> parseDuration(std::string_view text);

/** Accepts a non-negative integer, optionally followed by B, KiB, MiB, GiB (or KB/MB/GB, also
 * binary). */
std::optional<std::uint64_t> parseSize(std::string_view text);

/** Shortest exact form: 90000ms -> "90s", 7d -> "7d". */
std::string formatDuration(Millis d);

}  // namespace audit
