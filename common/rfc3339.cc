#include "common/rfc3339.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace audit {
namespace {

// Reads exactly `n` ASCII digits at `pos`; advances pos.
bool readDigits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char a, char b = 0) {
  if (pos >= s.size()) return false;
  if (s[pos] != a && (b == 0 || s[pos] != b)) return false;
  ++pos;
  return true;
}

}  // namespace

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms),
// in 64-bit arithmetic so that every day count an int64 of milliseconds can hold converts
// without overflow (std::chrono::year is 16 bits).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

Civil civilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

// The syntax and calendar checks; the caller checks the range.
std::optional<Rfc3339Time> parseSyntax(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y, mo, d, h, mi, sec;
  if (!readDigits(s, pos, 4, y) || !expect(s, pos, '-') || !readDigits(s, pos, 2, mo) ||
      !expect(s, pos, '-') || !readDigits(s, pos, 2, d) || !expect(s, pos, 'T', 't') ||
      !readDigits(s, pos, 2, h) || !expect(s, pos, ':') || !readDigits(s, pos, 2, mi) ||
      !expect(s, pos, ':') || !readDigits(s, pos, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;

  Rfc3339Time out;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int i = digits; i < 3; ++i) millis *= 10;
    out.has_fraction = true;
  }

  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!readDigits(s, pos, 2, oh) || !expect(s, pos, ':') || !readDigits(s, pos, 2, om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  std::int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t secs =
      days * 86400 + h * 3600 + mi * 60 + sec - static_cast<std::int64_t>(offset_minutes) * 60;
  out.ms = secs * 1000 + millis;
  return out;
}

}  // namespace

Expected<Rfc3339Time> parseRfc3339(std::string_view s) {
  auto out = parseSyntax(s);
  if (!out) return Failure{"not an RFC 3339 date-time with zone (e.g. 2026-11-20T20:00:00Z)"};
  // A year 0000 or 9999 time with an offset can land outside the years RFC 3339 writes
  // (9999-12-31T23:30:00-04:30 is 10000-01-01T04:00:00Z): such a time could not be formatted
  // back, so it is refused rather than turned into text that is not RFC 3339.
  if (!inRfc3339Range(out->ms)) {
    return Failure{
        "outside 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z once its offset is applied"};
  }
  return *out;
}

namespace {
// Safe for every int64_t: floor division by remainder correction (no negation, so INT64_MIN
// does not overflow) and 64-bit calendar arithmetic.
std::string format(EpochMillis ms, bool force_millis) {
  EpochMillis secs = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil date = civilFromDays(days);
  char buf[64];
  // A year before 0000 gets a sign and four digits ("-0001"); past 9999 it just grows.
  int n = std::snprintf(
      buf, sizeof buf, "%s%04lld-%02u-%02uT%02d:%02d:%02d", date.year < 0 ? "-" : "",
      static_cast<long long>(date.year < 0 ? -date.year : date.year), date.month, date.day,
      static_cast<int>(rem / 3600), static_cast<int>(rem % 3600 / 60), static_cast<int>(rem % 60));
  std::string out(buf, static_cast<std::size_t>(n));
  if (force_millis || millis != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", millis);
    out += buf;
  }
  out += 'Z';
  return out;
}
}  // namespace

std::string formatRfc3339(EpochMillis ms) {
  return format(ms, false);
}
std::string formatRfc3339Millis(EpochMillis ms) {
  return format(ms, true);
}

}  // namespace audit
