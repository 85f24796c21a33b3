#include "common/rfc3339.hpp"

#include <chrono>
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

std::optional<Rfc3339Time> parseRfc3339(std::string_view s) {
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

  auto days = sys_days(ymd).time_since_epoch().count();
  std::int64_t secs = static_cast<std::int64_t>(days) * 86400 + h * 3600 + mi * 60 + sec -
                      static_cast<std::int64_t>(offset_minutes) * 60;
  out.ms = secs * 1000 + millis;
  return out;
}

namespace {
std::string format(EpochMillis ms, bool force_millis) {
  using namespace std::chrono;
  EpochMillis secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int millis = static_cast<int>(ms - secs * 1000);
  auto days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::int64_t rem = secs - days * 86400;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), int(rem / 3600),
                        int(rem % 3600 / 60), int(rem % 60));
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
