#pragma once
// Retry is a decision (common/backoff.hpp is the calculator); only the caller arms a timer.
// Both are pure and clock-injected so a 1 s / 2 s / 4 s schedule tests in microseconds.

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common/backoff.hpp"
#include "common/clock.hpp"
#include "webhook/options.hpp"

namespace audit::webhook {

/** What one HTTP attempt came to. */
struct AttemptResult {
  boost::system::error_code error;  // transport failure (connect, TLS, timeout, reset)
  int status = 0;                   // HTTP status when a response arrived
  std::string body_excerpt;         // first 512 bytes of the response body
  std::optional<Millis> retry_after;
  std::string step;  // where a transport error happened: "connect", "handshake", …
};

struct Decision {
  enum class Kind { Delivered, Retry, GiveUp };
  Kind kind = Kind::Delivered;
  Millis wait{0};      // for Retry
  std::string reason;  // for Retry and GiveUp: "webhook answered 503", "max_attempts (12) reached"
};

/** Classifies the attempts of one batch. Create one per batch (or call begin()). */
class RetryPolicy {
 public:
  RetryPolicy(const RetryOptions& options, const Clock& clock,
              std::uint64_t seed = std::random_device{}());
  /** Starts a new batch: resets the attempt count, the elapsed time and the backoff. */
  void begin();
  Decision decide(const AttemptResult& attempt);
  unsigned attempts() const { return attempts_; }

 private:
  RetryOptions options_;
  const Clock& clock_;
  Backoff backoff_;
  MonoTime started_;
  unsigned attempts_ = 0;
};

/** True for 408, 429 and 5xx. */
bool isRetryableStatus(int status);

/** Parses Retry-After: delta-seconds or an HTTP-date (relative to `now`). */
std::optional<Millis> parseRetryAfter(std::string_view value, SystemTime now);

}  // namespace audit::webhook
