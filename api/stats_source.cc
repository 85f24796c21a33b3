#include "api/stats_source.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace audit::api {

boost::asio::awaitable<std::optional<jobs::Stats>> EngineStats::stats() {
  if (engine_.stopping()) co_return std::nullopt;
  try {
    // A named result around the co_await: GCC 12 mishandles temporaries in larger
    // expressions that hold one.
    jobs::Stats stats = co_await engine_.stats();
    co_return stats;
  } catch (const std::exception& e) {
    spdlog::error("stats failed with an internal error: {}", e.what());
  }
  co_return std::nullopt;
}

}  // namespace audit::api
