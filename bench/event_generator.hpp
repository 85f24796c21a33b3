#pragma once
// Konnect-like audit events for benchmarks, demos and tests: ~600 bytes of realistic entropy
// (random hex ids, UUIDs, trace ids, an 86-character base64url `sig`), deterministic from a
// seed on every platform (own PRNG, no std distributions).

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/clock.hpp"

namespace audit::bench {

struct GeneratorOptions {
  std::uint64_t seed = 1;
  /** false: omit `sig`, as events look before a signer adds it. */
  bool with_sig = true;
};

/** xoshiro256** seeded through splitmix64: fast, and the same sequence everywhere. */
class Random {
 public:
  explicit Random(std::uint64_t seed);
  std::uint64_t next();
  /** Uniform in [0, n) for n > 0 (modulo bias is irrelevant at these sizes). */
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  /** In [0, 1). */
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t s_[4];
};

/** Makes single events. Not thread-safe. */
class EventGenerator {
 public:
  explicit EventGenerator(GeneratorOptions options = {});

  /** Appends one event (compact JSON, no newline) with `rt` and `event_ts` = `time`. */
  void append(EpochMillis time, std::string& out);
  std::string event(EpochMillis time) {
    std::string out;
    append(time, out);
    return out;
  }

 private:
  void appendUuid(std::string& out);
  void appendHex(std::string& out, std::size_t digits);

  GeneratorOptions options_;
  Random random_;
  std::string orgs_[6];
  std::string principals_[240];
};

/**
 * `count` events spread over [start, end] with random gaps, times never decreasing, so the
 * stream is in time order like a real export.
 */
class EventSequence {
 public:
  EventSequence(std::size_t count, EpochMillis start, EpochMillis end, GeneratorOptions options);

  /** Replaces `out` with the next event. @return false when all were produced. */
  bool next(std::string& out);
  /** Time of the event last produced. */
  EpochMillis time() const { return time_; }

 private:
  EventGenerator generator_;
  Random jitter_;
  std::size_t count_;
  std::size_t produced_ = 0;
  EpochMillis start_;
  double span_;
  EpochMillis end_;
  EpochMillis time_ = 0;
};

}  // namespace audit::bench
