#pragma once
// What the engine tests of this folder share: a real store in a temporary folder, one region
// "us" whose webhook is a real receiver on 127.0.0.1 (batches of 10 events, retries for up to
// 60 s), the event loop on its own thread, a worker pool, and simulated time moved by a thread
// of its own: every wait of the engine ends as soon as it starts, unless a test holds time.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/simulated_scheduler.hpp"
#include "config/config.hpp"
#include "jobs/runtime.hpp"
#include "sink/receiver.hpp"
#include "store/event_store.hpp"
#include "tests/fakes/temp_dir.hpp"

namespace audit::jobs {

/** Polls `condition` until it holds or `deadline` passes (real time). */
inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    // A poll of the condition, not a wait for an event.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class SimulatedEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_.start();
    std::string detail;
    auto opened = store::Store::open(store::StoreOptions{dir_.path() / "data"}, &detail);
    ASSERT_TRUE(opened) << detail;
    real_store_ = std::move(*opened);
    const std::string yaml =
        "data_dir: " + (dir_.path() / "data").string() +
        "\ncontrol: {socket: " + (dir_.path() / "ctl.sock").string() +
        "}\nregions:\n  us:\n    webhook:\n      endpoint: " + receiver_.url() +
        "\n    batch: {max_events: 10}\n"
        "    retry: {initial_backoff: 1s, max_backoff: 30s, max_elapsed: 60s}\n" +
        region_extra_;
    auto loaded = config::parseConfig(yaml, "test.yaml", dir_.path());
    ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front().toString());
    runtime_ =
        std::make_unique<Runtime>(io_.get_executor(), workers_, engineStore(), scheduler_,
                                  std::make_shared<const config::Config>(*loaded.config), nullptr);
    loop_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
    time_ = std::thread([this] {
      while (!stop_time_) {
        if (hold_time_ || !scheduler_.advanceToNextWait()) std::this_thread::yield();
      }
    });
  }

  void TearDown() override {
    stop_time_ = true;
    if (time_.joinable()) time_.join();
    io_.stop();
    if (loop_.joinable()) loop_.join();
    workers_.join();
  }

  /** The store the engine writes its records to: the real one, or a double around it. */
  virtual store::Store& engineStore() { return *real_store_; }

  /** Runs `make()` (a coroutine) on the loop and waits for its result. */
  template <class T, class F>
  T onLoop(F make) {
    return boost::asio::co_spawn(io_, make(), boost::asio::use_future).get();
  }

  /** More YAML lines for region "us", set by a derived fixture's constructor. */
  std::string region_extra_;
  ::audit::testing::TempDir dir_{"jobs-engine"};
  sink::Receiver receiver_{sink::ReceiverOptions{}};
  store::StorePtr real_store_;
  SimulatedScheduler scheduler_;
  std::atomic<bool> stop_time_{false};
  std::atomic<bool> hold_time_{false};  // true: waits do not end until it is false again
  std::thread time_;
  boost::asio::io_context io_;
  boost::asio::thread_pool workers_{2};
  std::unique_ptr<Runtime> runtime_;
  std::thread loop_;
};

}  // namespace audit::jobs
