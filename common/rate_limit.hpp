#pragma once
// A region's rate_limit as a calculator, like Backoff: the caller arms its own timer. Each
// limit is a token bucket that fills at its rate and holds at most a tenth of a second's
// worth, so an idle spell buys no more than a short burst. A batch may take more than the
// bucket holds: the bucket then goes into debt and the caller waits until it is repaid, so
// over any window the units sent stay within rate × window + the burst + one batch.

#include <cstddef>
#include <optional>

#include "common/clock.hpp"

namespace audit {

class TokenBucket {
 public:
  /** `per_second` > 0. Starts full. */
  explicit TokenBucket(double per_second);

  /** Takes `amount` units at `now`; @return how long to wait before sending them (0: now). */
  Millis take(double amount, MonoTime now);

 private:
  double per_ms_;
  double capacity_;
  double tokens_;
  std::optional<MonoTime> last_;
};

/** Events per second and bytes per second, either or both (none: unlimited). */
class RateLimiter {
 public:
  RateLimiter(std::optional<double> events_per_second, std::optional<double> bytes_per_second);

  /** Takes a batch at `now`; @return how long to wait before sending it: the longer of the
   *  two limits' waits. */
  Millis take(std::size_t events, std::size_t bytes, MonoTime now);

 private:
  std::optional<TokenBucket> events_;
  std::optional<TokenBucket> bytes_;
};

}  // namespace audit
