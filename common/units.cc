#include "common/units.hpp"

#include <charconv>
#include <limits>

namespace audit {
namespace {

// Splits "250ms" into 250 and "ms". Refuses signs, spaces inside, and overflow.
bool splitNumber(std::string_view text, std::uint64_t& number, std::string_view& unit) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || ptr == text.data()) return false;
  unit = text.substr(static_cast<std::size_t>(ptr - text.data()));
  return true;
}

bool multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

std::optional<Millis> parseDuration(std::string_view text) {
  std::uint64_t n;
  std::string_view unit;
  if (!splitNumber(text, n, unit)) return std::nullopt;
  std::uint64_t factor;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return std::nullopt;
  std::uint64_t ms;
  if (!multiply(n, factor, ms)) return std::nullopt;
  return Millis(static_cast<std::int64_t>(ms));
}

std::optional<std::uint64_t> parseSize(std::string_view text) {
  std::uint64_t n;
  std::string_view unit;
  if (!splitNumber(text, n, unit)) return std::nullopt;
  std::uint64_t factor;
  if (unit.empty() || unit == "B")
    factor = 1;
  else if (unit == "KiB" || unit == "KB" || unit == "K")
    factor = 1ull << 10;
  else if (unit == "MiB" || unit == "MB" || unit == "M")
    factor = 1ull << 20;
  else if (unit == "GiB" || unit == "GB" || unit == "G")
    factor = 1ull << 30;
  else
    return std::nullopt;
  std::uint64_t out;
  if (!multiply(n, factor, out)) return std::nullopt;
  return out;
}

std::string formatDuration(Millis d) {
  auto ms = d.count();
  struct Unit {
    std::int64_t factor;
    const char* name;
  };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.factor == 0) return std::to_string(ms / u.factor) + u.name;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace audit
