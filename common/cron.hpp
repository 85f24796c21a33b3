#pragma once
// The daemon's periodic housekeeping on one timer: each task runs every `period` of the
// Scheduler's time, as its own coroutine on the loop, so a slow task (retention over a big
// store) never delays another (the watchdog ping); a task still running when it falls due
// again is skipped that time. Loop thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/scheduler.hpp"

namespace audit {

class Cron {
 public:
  using Task = std::function<boost::asio::awaitable<void>()>;

  Cron(boost::asio::any_io_executor loop, Scheduler& scheduler);

  /** Runs `task` every `period` (at least 1 ms), the first time after one period, or at
   *  once with `run_now`. Add tasks before start(). */
  void every(Millis period, std::string name, Task task, bool run_now = false);

  /** Starts the schedule on the loop. */
  void start();
  /** Ends the schedule; tasks in progress finish on their own. */
  void stop();

 private:
  struct Entry {
    Millis period;
    MonoTime next;
    std::string name;
    Task task;
    std::shared_ptr<bool> running = std::make_shared<bool>(false);
  };
  boost::asio::awaitable<void> run();
  void launch(Entry& entry);

  boost::asio::any_io_executor loop_;
  Scheduler& scheduler_;
  WaitTimerPtr timer_;
  std::vector<Entry> entries_;
  bool stopped_ = false;
};

}  // namespace audit
