#include "common/backoff.hpp"

#include <algorithm>

namespace audit {

Backoff::Backoff(Millis initial, Millis max, std::uint64_t seed)
    : initial_(std::max(initial, Millis(1))),
      max_(std::max(max, Millis(0))),
      ceiling_(std::min(initial_, max_)),
      rng_(seed) {}

Millis Backoff::next() {
  // Full jitter (uniform in [0, ceiling]) spreads many clients that failed together.
  std::uniform_int_distribution<Millis::rep> draw(0, ceiling_.count());
  Millis wait(draw(rng_));
  // Doubling stops at the cap, so the ceiling can never overflow however long it runs.
  ceiling_ = ceiling_ > max_ / 2 ? max_ : ceiling_ * 2;
  return wait;
}

void Backoff::reset() {
  ceiling_ = std::min(initial_, max_);
}

}  // namespace audit
