#pragma once
// Where GET /metrics reads the engine's figures: the typed jobs::Stats, not the stats op's
// JSON. The daemon hands HttpApi an EngineStats over its engine; tests hand it their own.

#include <boost/asio/awaitable.hpp>
#include <optional>

#include "jobs/engine.hpp"

namespace audit::api {

class StatsSource {
 public:
  virtual ~StatsSource() = default;

  /** The engine's stats, or none when they cannot be had now (the daemon shuts down, or
   *  reading them failed: logged). Runs on the event loop; never throws. */
  virtual boost::asio::awaitable<std::optional<jobs::Stats>> stats() = 0;
};

/** A job engine's stats: none once it began to stop, as the stats op is refused then. */
class EngineStats final : public StatsSource {
 public:
  explicit EngineStats(jobs::Engine& engine) : engine_(engine) {}

  boost::asio::awaitable<std::optional<jobs::Stats>> stats() override;

 private:
  jobs::Engine& engine_;
};

}  // namespace audit::api
