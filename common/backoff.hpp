#pragma once
// Exponential backoff as a calculator: the caller arms its own timer. Shared by the webhook's
// retries and a job's retries of its event source.

#include <cstdint>
#include <random>

#include "common/clock.hpp"

namespace audit {

/** Exponential backoff with full jitter: the n-th wait is uniform in [0, min(max, initial·2ⁿ)]. */
class Backoff {
 public:
  Backoff(Millis initial, Millis max, std::uint64_t seed = std::random_device{}());
  Millis next();
  void reset();
  /** The ceiling the next call draws under (for tests and logs). */
  Millis currentCeiling() const { return ceiling_; }

 private:
  Millis initial_;
  Millis max_;
  Millis ceiling_;
  std::mt19937_64 rng_;
};

}  // namespace audit
