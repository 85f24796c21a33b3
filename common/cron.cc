#include "common/cron.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <exception>

namespace audit {

Cron::Cron(boost::asio::any_io_executor loop, Scheduler& scheduler)
    : loop_(std::move(loop)), scheduler_(scheduler), timer_(scheduler.makeTimer(loop_)) {}

void Cron::every(Millis period, std::string name, Task task, bool run_now) {
  period = std::max(period, Millis(1));
  const MonoTime now = scheduler_.clock().monotonicNow();
  entries_.push_back(Entry{period, run_now ? now : now + period, std::move(name), std::move(task)});
}

void Cron::start() {
  boost::asio::co_spawn(loop_, run(), boost::asio::detached);
}

void Cron::stop() {
  stopped_ = true;
  timer_->cancel();
}

void Cron::launch(Entry& entry) {
  if (*entry.running) return;  // still busy since it last fell due: skip this time
  *entry.running = true;
  boost::asio::co_spawn(loop_, entry.task(), [running = entry.running](std::exception_ptr) {
    *running = false;  // a task reports its own failures; the schedule goes on
  });
}

boost::asio::awaitable<void> Cron::run() {
  while (!stopped_ && !entries_.empty()) {
    const MonoTime now = scheduler_.clock().monotonicNow();
    MonoTime next = MonoTime::max();
    for (Entry& entry : entries_) {
      if (entry.next <= now) {
        launch(entry);
        // From the time it fell due, so the schedule does not drift with the loop's delays.
        entry.next += entry.period * ((now - entry.next) / entry.period + 1);
      }
      next = std::min(next, entry.next);
    }
    if (!co_await timer_->wait(std::chrono::duration_cast<Millis>(next - now))) co_return;
  }
}

}  // namespace audit
