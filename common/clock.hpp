#pragma once
// Time as the rest of the code sees it. Event times, retention and RFC 3339 use
// systemNow(); intervals (backoff, timeouts, checkpoint cadence) use monotonicNow().
// Tests substitute FakeClock so a 7-day retention or a 30 s backoff runs in microseconds.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace audit {

using Millis = std::chrono::milliseconds;
using SystemTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

/** Milliseconds since the Unix epoch: the unit of every event time in the store. */
using EpochMillis = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime systemNow() const = 0;
  virtual MonoTime monotonicNow() const = 0;

  EpochMillis nowMillis() const {
    return std::chrono::duration_cast<Millis>(systemNow().time_since_epoch()).count();
  }
};
using ClockPtr = std::shared_ptr<Clock>;

class RealClock final : public Clock {
 public:
  SystemTime systemNow() const override { return std::chrono::system_clock::now(); }
  MonoTime monotonicNow() const override { return std::chrono::steady_clock::now(); }
};

/** A clock a test moves by hand. Thread-safe. */
class FakeClock final : public Clock {
 public:
  explicit FakeClock(EpochMillis start_ms = 1'700'000'000'000) : system_ms_(start_ms) {}

  SystemTime systemNow() const override { return SystemTime(Millis(system_ms_.load())); }
  MonoTime monotonicNow() const override { return MonoTime(Millis(mono_ms_.load())); }

  void advance(Millis d) {
    system_ms_ += d.count();
    mono_ms_ += d.count();
  }
  void setSystem(EpochMillis ms) { system_ms_ = ms; }

 private:
  std::atomic<EpochMillis> system_ms_;
  std::atomic<std::int64_t> mono_ms_{1'000'000};
};

}  // namespace audit
