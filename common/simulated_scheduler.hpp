#pragma once
// A Scheduler whose time moves only when a test moves it. Waits complete, in the order of
// their ends, as advance() passes them, on their own executors; the clock (a FakeClock)
// reads the simulated time. Thread-safe: the test thread moves time while the code under
// test waits on its loop thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "common/scheduler.hpp"

namespace audit {

class SimulatedScheduler final : public Scheduler {
 public:
  explicit SimulatedScheduler(EpochMillis start_ms = 1'700'000'000'000) : clock_(start_ms) {}

  const Clock& clock() const override { return clock_; }
  WaitTimerPtr makeTimer(boost::asio::any_io_executor executor) override;

  /** Moves time by `by`, completing every wait that ends on the way, in order. */
  void advance(Millis by);
  /** Moves time to the end of the earliest wait and completes it (with any other ending
   *  then). @return the time moved, or nullopt when nothing waits. */
  std::optional<Millis> advanceToNextWait();
  /** Waits in progress. */
  std::size_t pendingWaits() const;

 private:
  class Timer;
  struct Waiter;
  using Key = std::pair<MonoTime, std::uint64_t>;  // end, then order of arrival

  Key add(std::shared_ptr<Waiter> waiter, Millis duration);
  void remove(const Key& key);

  mutable std::mutex mutex_;
  FakeClock clock_;
  std::uint64_t arrivals_ = 0;
  std::map<Key, std::weak_ptr<Waiter>> waits_;
};

}  // namespace audit
