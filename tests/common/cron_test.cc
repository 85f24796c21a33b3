#include "common/cron.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <string>

#include "common/simulated_scheduler.hpp"

namespace audit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

void settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

TEST(Cron, EachTaskRunsOnItsOwnPeriodInTheSchedulersTime) {
  asio::io_context io;
  SimulatedScheduler scheduler;
  Cron cron(io.get_executor(), scheduler);
  std::map<std::string, int> runs;
  auto count = [&](std::string name) {
    return [&runs, name]() -> asio::awaitable<void> {
      ++runs[name];
      co_return;
    };
  };
  cron.every(10min, "retention", count("retention"), /*run_now=*/true);
  cron.every(1s, "flush", count("flush"));
  cron.every(2s, "status", count("status"));
  cron.start();
  settle(io);
  EXPECT_EQ(runs["retention"], 1) << "run_now: at the start";
  EXPECT_EQ(runs["flush"], 0);

  for (int second = 0; second < 20 * 60; ++second) {
    scheduler.advance(1s);
    settle(io);
  }
  EXPECT_EQ(runs["retention"], 3);  // at 0, 10 and 20 minutes
  EXPECT_EQ(runs["flush"], 1200);
  EXPECT_EQ(runs["status"], 600);

  cron.stop();
  settle(io);
  scheduler.advance(1h);
  settle(io);
  EXPECT_EQ(runs["flush"], 1200) << "nothing runs once stopped";
}

TEST(Cron, ASlowTaskNeitherDelaysTheOthersNorRunsTwiceAtOnce) {
  asio::io_context io;
  SimulatedScheduler scheduler;
  Cron cron(io.get_executor(), scheduler);
  int pings = 0;
  int slow_started = 0;
  asio::steady_timer hold(io, asio::steady_timer::time_point::max());  // the slow task's work
  cron.every(1s, "watchdog", [&]() -> asio::awaitable<void> {
    ++pings;
    co_return;
  });
  cron.every(2s, "retention", [&]() -> asio::awaitable<void> {
    ++slow_started;
    boost::system::error_code ec;
    co_await hold.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
  cron.start();
  for (int second = 0; second < 10; ++second) {
    scheduler.advance(1s);
    settle(io);
  }
  EXPECT_EQ(pings, 10) << "the watchdog pings while retention is busy";
  EXPECT_EQ(slow_started, 1) << "a task still running is skipped when it falls due again";
  hold.cancel();  // retention's work ends
  settle(io);
  scheduler.advance(2s);
  settle(io);
  EXPECT_EQ(slow_started, 2);
  cron.stop();
  settle(io);
}

}  // namespace
}  // namespace audit
