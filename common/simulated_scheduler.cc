#include "common/simulated_scheduler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>
#include <vector>

namespace audit {

namespace {
constexpr std::uint64_t kNoWait = std::numeric_limits<std::uint64_t>::max();
}  // namespace

// What a completion needs, shared so that a timer destroyed while its end is being
// delivered is simply not woken.
struct SimulatedScheduler::Waiter {
  explicit Waiter(boost::asio::any_io_executor executor)
      : signal(std::move(executor), boost::asio::steady_timer::time_point::max()) {}
  boost::asio::steady_timer signal;  // never expires: canceled to wake the wait
  // On the executor only: the wait in progress (its arrival number), and whether it ran out.
  std::uint64_t current = kNoWait;
  bool ran_out = false;
};

class SimulatedScheduler::Timer final : public WaitTimer {
 public:
  Timer(SimulatedScheduler& scheduler, boost::asio::any_io_executor executor)
      : scheduler_(scheduler), waiter_(std::make_shared<Waiter>(std::move(executor))) {}
  ~Timer() override { cancel(); }

  boost::asio::awaitable<bool> wait(Millis duration) override {
    if (duration <= Millis(0)) co_return true;
    // Only locals once suspended: the timer may be destroyed while it waits.
    std::shared_ptr<Waiter> waiter = waiter_;
    SimulatedScheduler& scheduler = scheduler_;
    waiter->ran_out = false;
    waiter->signal.expires_at(boost::asio::steady_timer::time_point::max());
    if (duration == kNoDeadline) {
      // Not a wait time can end: only cancel() does.
      waiter->current = kNoWait;
      key_.reset();
      co_await waiter->signal.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      co_return false;
    }
    const Key key = scheduler.add(waiter, duration);
    waiter->current = key.second;
    key_ = key;
    co_await waiter->signal.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    scheduler.remove(key);  // a no-op when it ran out or was canceled
    co_return waiter->ran_out;
  }

  void cancel() override {
    if (key_) scheduler_.remove(*key_);
    key_.reset();
    // An end already posted for this wait must not count: the wait was canceled first.
    waiter_->current = kNoWait;
    waiter_->ran_out = false;
    waiter_->signal.cancel();
  }

 private:
  SimulatedScheduler& scheduler_;
  std::shared_ptr<Waiter> waiter_;
  std::optional<Key> key_;
};

WaitTimerPtr SimulatedScheduler::makeTimer(boost::asio::any_io_executor executor) {
  return std::make_unique<Timer>(*this, std::move(executor));
}

SimulatedScheduler::Key SimulatedScheduler::add(std::shared_ptr<Waiter> waiter, Millis duration) {
  std::lock_guard lock(mutex_);
  Key key{clock_.monotonicNow() + duration, arrivals_++};
  waits_.emplace(key, std::move(waiter));
  return key;
}

void SimulatedScheduler::remove(const Key& key) {
  std::lock_guard lock(mutex_);
  waits_.erase(key);
}

std::size_t SimulatedScheduler::pendingWaits() const {
  std::lock_guard lock(mutex_);
  return waits_.size();
}

void SimulatedScheduler::advance(Millis by) {
  std::vector<std::pair<std::weak_ptr<Waiter>, std::uint64_t>> due;
  {
    std::lock_guard lock(mutex_);
    clock_.advance(by);
    const MonoTime now = clock_.monotonicNow();
    while (!waits_.empty() && waits_.begin()->first.first <= now) {
      due.emplace_back(std::move(waits_.begin()->second), waits_.begin()->first.second);
      waits_.erase(waits_.begin());
    }
  }
  for (auto& [weak, arrival] : due) {
    if (auto waiter = weak.lock()) {
      auto executor = waiter->signal.get_executor();
      boost::asio::post(executor, [weak = std::move(weak), arrival = arrival] {
        // Not a wait that was canceled meanwhile and followed by another.
        if (auto w = weak.lock(); w && w->current == arrival) {
          w->ran_out = true;
          w->signal.cancel();
        }
      });
    }
  }
}

std::optional<Millis> SimulatedScheduler::advanceToNextWait() {
  Millis by{0};
  {
    std::lock_guard lock(mutex_);
    if (waits_.empty()) return std::nullopt;
    const MonoTime now = clock_.monotonicNow();
    const MonoTime end = waits_.begin()->first.first;
    if (end > now) by = std::chrono::duration_cast<Millis>(end - now);
  }
  advance(by);
  return by;
}

}  // namespace audit
