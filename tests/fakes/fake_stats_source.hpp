#pragma once
// An api::StatsSource that serves the jobs::Stats a test sets, for /metrics tests without an
// engine. Locked: set from the test's thread, read on the HTTP API's.

#include <boost/asio/awaitable.hpp>
#include <mutex>
#include <optional>

#include "api/stats_source.hpp"

namespace audit::fakes {

/** The engine's stats for /metrics, as set by the test (default: none to be had). */
class FakeStatsSource final : public api::StatsSource {
 public:
  void set(std::optional<jobs::Stats> stats) {
    std::lock_guard lock(mutex_);
    stats_ = std::move(stats);
  }

  boost::asio::awaitable<std::optional<jobs::Stats>> stats() override {
    std::optional<jobs::Stats> stats;
    {
      std::lock_guard lock(mutex_);
      stats = stats_;
    }
    co_return stats;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<jobs::Stats> stats_;
};

}  // namespace audit::fakes
