#pragma once
// Where waits happen. Everything that waits (a webhook's backoff, a job's retries of its
// source and its store, the daemon's periodic work) asks a Scheduler for a timer, so the
// same code runs in real time in the daemon and in a simulated time that a test moves:
// a 15-minute retry budget is then tested in microseconds.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "common/clock.hpp"

namespace audit {

/** A wait() this long has no deadline: only cancel() ends it. A simulated clock never runs
 *  it out, however far a test moves time. */
inline constexpr Millis kNoDeadline = Millis::max();

/** One wait at a time; used from its executor only. */
class WaitTimer {
 public:
  virtual ~WaitTimer() = default;
  /** Waits `duration` of the scheduler's time (kNoDeadline: until canceled). @return true
   *  when it ran out, false when cancel() ended it (or the timer was destroyed). */
  virtual boost::asio::awaitable<bool> wait(Millis duration) = 0;
  /** Ends the wait in progress, if any; the next wait() is unaffected. */
  virtual void cancel() = 0;
};
using WaitTimerPtr = std::unique_ptr<WaitTimer>;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  /** The time the timers run on: read it, never the system's, where a wait depends on it. */
  virtual const Clock& clock() const = 0;
  /** A timer whose waits complete on `executor`. */
  virtual WaitTimerPtr makeTimer(boost::asio::any_io_executor executor) = 0;
};

/** Real time: steady_timer and RealClock. */
class RealScheduler final : public Scheduler {
 public:
  const Clock& clock() const override { return clock_; }
  WaitTimerPtr makeTimer(boost::asio::any_io_executor executor) override;

 private:
  RealClock clock_;
};

}  // namespace audit
