#include "webhook/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <vector>

#include "common/units.hpp"

namespace audit::webhook {

namespace {

// Response bodies go into reasons, logs and job records: one line, printable.
std::string oneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// What an operator can change for a status that will not succeed on a retry.
std::string_view hintFor(int status) {
  switch (status) {
    case 401:
    case 403:
      return "check webhook.authorization";
    case 404:
      return "check webhook.endpoint";
    case 413:
      return "lower batch.max_bytes";
    case 415:
      return "the receiver may not accept this body: check webhook.compression and log_format";
    default:
      return status >= 300 && status < 400
                 ? "redirects are not followed: set webhook.endpoint to the final URL"
                 : "";
  }
}

std::string describe(const AttemptResult& attempt) {
  if (attempt.error) {
    std::string step = attempt.step.empty() ? "request" : attempt.step;
    return step + " failed: " + attempt.error.message();
  }
  if (attempt.status == 0) return "no response";
  std::string out = "webhook answered " + std::to_string(attempt.status);
  std::string body = oneLine(attempt.body_excerpt.substr(0, 512));
  if (!body.empty()) out += ": " + body;
  if (std::string_view hint = hintFor(attempt.status); !hint.empty()) {
    out += "; ";
    out += hint;
  }
  return out;
}

bool isSuccess(const AttemptResult& a) {
  return !a.error && a.status >= 200 && a.status < 300;
}

}  // namespace

bool isRetryableStatus(int status) {
  return status == 408 || status == 429 || status >= 500;
}

RetryPolicy::RetryPolicy(const RetryOptions& options, const Clock& clock, std::uint64_t seed)
    : options_(options),
      clock_(clock),
      backoff_(options.initial_backoff, options.max_backoff, seed),
      started_(clock.monotonicNow()) {}

void RetryPolicy::begin() {
  attempts_ = 0;
  started_ = clock_.monotonicNow();
  backoff_.reset();
}

Decision RetryPolicy::decide(const AttemptResult& attempt) {
  ++attempts_;
  if (isSuccess(attempt)) {
    backoff_.reset();
    return {Decision::Kind::Delivered, Millis(0), {}};
  }
  std::string what = describe(attempt);
  bool retryable = attempt.error || attempt.status == 0 || isRetryableStatus(attempt.status);
  if (!retryable) return {Decision::Kind::GiveUp, Millis(0), std::move(what)};

  if (attempts_ >= options_.max_attempts) {
    return {Decision::Kind::GiveUp, Millis(0),
            "gave up after " + std::to_string(attempts_) +
                " attempts (retry.max_attempts); last: " + what};
  }
  MonoTime now = clock_.monotonicNow();
  MonoTime deadline = started_ + options_.max_elapsed;
  auto elapsed = std::chrono::duration_cast<Millis>(now - started_);
  if (now >= deadline) {
    return {Decision::Kind::GiveUp, Millis(0),
            "gave up after " + formatDuration(elapsed) + " and " + std::to_string(attempts_) +
                " attempts (retry.max_elapsed " + formatDuration(options_.max_elapsed) +
                "); last: " + what};
  }
  auto remaining = std::chrono::duration_cast<Millis>(deadline - now);

  if (attempt.retry_after) {
    // The receiver's own schedule wins over ours, even above max_backoff, but never past
    // what is left of max_elapsed: a longer Retry-After (3600 s, a date in year 9999) is cut
    // to the remaining budget and the batch gets one last attempt at its edge. The batch
    // fails only when the budget is spent (or max_attempts is reached), whatever it asked.
    Millis wait = std::clamp(*attempt.retry_after, Millis(0), remaining);
    return {Decision::Kind::Retry, wait, std::move(what)};
  }
  // A drawn wait that would end past the bound is cut to it: one last attempt at the edge
  // is worth more than a wait that can only end in giving up.
  Millis wait = std::min(backoff_.next(), remaining);
  return {Decision::Kind::Retry, wait, std::move(what)};
}

namespace {

bool toInt(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

int monthNumber(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i) + 1;
  }
  return 0;
}

// The three HTTP-date forms RFC 9110 §5.6.7 requires a recipient to accept:
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime      "Sun Nov  6 08:49:37 1994"
std::optional<std::chrono::sys_seconds> parseHttpDate(std::string_view text) {
  std::vector<std::string_view> tok;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find_first_of(" ,-:", i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) tok.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  int day, month, year, h, m, s;
  if (tok.size() == 8 && tok[7] == "GMT") {
    month = monthNumber(tok[2]);
    if (!toInt(tok[1], day) || !toInt(tok[3], year) || !toInt(tok[4], h) || !toInt(tok[5], m) ||
        !toInt(tok[6], s)) {
      return std::nullopt;
    }
    if (tok[3].size() == 2) year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit year
  } else if (tok.size() == 7) {
    month = monthNumber(tok[1]);
    if (!toInt(tok[2], day) || !toInt(tok[3], h) || !toInt(tok[4], m) || !toInt(tok[5], s) ||
        !toInt(tok[6], year)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (month == 0 || !ymd.ok() || h > 23 || m > 59 || s > 60) return std::nullopt;
  // Seconds, not the system clock's nanoseconds: year 9999 fits in the first, not the second.
  return sys_seconds(sys_days(ymd)) + hours(h) + minutes(m) + seconds(s);
}

}  // namespace

std::optional<Millis> parseRetryAfter(std::string_view value, SystemTime now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t secs = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (p != value.data() + value.size()) return std::nullopt;
    // Absurd values are clamped rather than overflowing; max_elapsed turns them into GiveUp.
    constexpr std::uint64_t kMaxSeconds = 1'000'000'000;
    if (ec == std::errc::result_out_of_range || secs > kMaxSeconds)
      secs = kMaxSeconds;
    else if (ec != std::errc{})
      return std::nullopt;
    return Millis(static_cast<Millis::rep>(secs) * 1000);
  }
  auto at = parseHttpDate(value);
  if (!at) return std::nullopt;
  // A date in the past means "now"; far ones clamp like delta-seconds.
  const auto ahead = *at - std::chrono::floor<std::chrono::seconds>(now);
  constexpr std::int64_t kMaxSeconds = 1'000'000'000;
  const std::int64_t secs = std::clamp<std::int64_t>(ahead.count(), 0, kMaxSeconds);
  return Millis(secs * 1000);
}

}  // namespace audit::webhook
