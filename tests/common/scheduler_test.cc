#include "common/scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/simulated_scheduler.hpp"

namespace audit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/** Runs what is ready on `io` without blocking. */
void settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

TEST(SimulatedScheduler, WaitsEndInTheOrderOfTheirEndsAsTimeMoves) {
  asio::io_context io;
  SimulatedScheduler scheduler;
  std::vector<std::string> ended;
  auto waiter = [&](std::string name, Millis d) -> asio::awaitable<void> {
    auto timer = scheduler.makeTimer(io.get_executor());
    if (co_await timer->wait(d)) ended.push_back(name);
  };
  asio::co_spawn(io, waiter("15 min", 15min), asio::detached);
  asio::co_spawn(io, waiter("1 s", 1s), asio::detached);
  asio::co_spawn(io, waiter("30 s", 30s), asio::detached);
  settle(io);
  EXPECT_EQ(scheduler.pendingWaits(), 3u);

  const MonoTime start = scheduler.clock().monotonicNow();
  scheduler.advance(999ms);
  settle(io);
  EXPECT_TRUE(ended.empty());
  EXPECT_EQ(scheduler.advanceToNextWait(), 1ms);
  settle(io);
  EXPECT_EQ(ended, std::vector<std::string>{"1 s"});
  scheduler.advance(20min);  // passes both remaining ends
  settle(io);
  EXPECT_EQ(ended, (std::vector<std::string>{"1 s", "30 s", "15 min"}));
  EXPECT_EQ(scheduler.clock().monotonicNow() - start, 20min + 1s);
  EXPECT_FALSE(scheduler.advanceToNextWait());
}

TEST(SimulatedScheduler, ACanceledWaitEndsAtOnceAndDoesNotRunOut) {
  asio::io_context io;
  SimulatedScheduler scheduler;
  auto timer = scheduler.makeTimer(io.get_executor());
  std::optional<bool> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await timer->wait(10s); }, asio::detached);
  settle(io);
  ASSERT_EQ(scheduler.pendingWaits(), 1u);
  timer->cancel();
  settle(io);
  EXPECT_EQ(result, false);
  EXPECT_EQ(scheduler.pendingWaits(), 0u);

  // The next wait on the same timer is unaffected by the cancel.
  result.reset();
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await timer->wait(10s); }, asio::detached);
  settle(io);
  scheduler.advance(10s);
  settle(io);
  EXPECT_EQ(result, true);
}

/** Starts `timer`'s wait with no deadline; `result` is set once it ends. */
void startWaitWithNoDeadline(asio::io_context& io, WaitTimer& timer, std::optional<bool>& result) {
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await timer.wait(kNoDeadline); },
      asio::detached);
  settle(io);
}

TEST(SimulatedScheduler, AWaitWithNoDeadlineEndsOnlyWhenCanceled) {
  asio::io_context io;
  SimulatedScheduler scheduler;
  auto timer = scheduler.makeTimer(io.get_executor());
  std::optional<bool> result;
  startWaitWithNoDeadline(io, *timer, result);
  // Nothing for time to run out: a test that moves time to the next end does not move it.
  EXPECT_EQ(scheduler.pendingWaits(), 0u);
  EXPECT_FALSE(scheduler.advanceToNextWait());
  scheduler.advance(std::chrono::hours(24 * 365 * 100));
  settle(io);
  EXPECT_FALSE(result.has_value());
  timer->cancel();
  settle(io);
  EXPECT_EQ(result, false);
}

TEST(RealScheduler, AWaitWithNoDeadlineEndsWhenCanceled) {
  asio::io_context io;
  RealScheduler scheduler;
  auto timer = scheduler.makeTimer(io.get_executor());
  std::optional<bool> result;
  startWaitWithNoDeadline(io, *timer, result);
  EXPECT_FALSE(result.has_value());
  timer->cancel();
  io.restart();
  io.run_for(5s);  // returns as soon as the canceled wait is done
  EXPECT_EQ(result, false);
}

TEST(SimulatedScheduler, ATimerDestroyedWhileItsEndIsDeliveredIsNotWoken) {
  asio::io_context io;
  SimulatedScheduler scheduler;
  bool woken = false;
  {
    auto timer = scheduler.makeTimer(io.get_executor());
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { woken = co_await timer->wait(1s); }, asio::detached);
    settle(io);
    scheduler.advance(1s);  // the completion is posted, not yet run
  }
  settle(io);
  EXPECT_FALSE(woken);
}

TEST(RealScheduler, WaitsRunOutAndCancelsEndThem) {
  asio::io_context io;
  RealScheduler scheduler;
  auto timer = scheduler.makeTimer(io.get_executor());
  std::optional<bool> short_wait;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { short_wait = co_await timer->wait(1ms); },
      asio::detached);
  io.run();
  EXPECT_EQ(short_wait, true);

  std::optional<bool> long_wait;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { long_wait = co_await timer->wait(1h); }, asio::detached);
  io.restart();
  io.poll();
  timer->cancel();
  io.run();
  EXPECT_EQ(long_wait, false);
}

}  // namespace
}  // namespace audit
