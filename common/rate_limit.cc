#include "common/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace audit {

namespace {
// The burst an idle spell buys: a tenth of a second of the rate.
constexpr double kBurstMs = 100.0;
}  // namespace

TokenBucket::TokenBucket(double per_second)
    : per_ms_(per_second / 1000.0), capacity_(per_ms_ * kBurstMs), tokens_(capacity_) {}

Millis TokenBucket::take(double amount, MonoTime now) {
  if (last_) {
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(std::max(now - *last_, MonoTime::duration{}))
            .count();
    tokens_ = std::min(capacity_, tokens_ + elapsed_ms * per_ms_);
  }
  last_ = now;
  tokens_ -= amount;
  if (tokens_ >= 0) return Millis(0);
  return Millis(static_cast<Millis::rep>(std::ceil(-tokens_ / per_ms_)));
}

RateLimiter::RateLimiter(std::optional<double> events_per_second,
                         std::optional<double> bytes_per_second) {
  if (events_per_second) events_.emplace(*events_per_second);
  if (bytes_per_second) bytes_.emplace(*bytes_per_second);
}

Millis RateLimiter::take(std::size_t events, std::size_t bytes, MonoTime now) {
  Millis wait{0};
  if (events_) wait = std::max(wait, events_->take(static_cast<double>(events), now));
  if (bytes_) wait = std::max(wait, bytes_->take(static_cast<double>(bytes), now));
  return wait;
}

}  // namespace audit
