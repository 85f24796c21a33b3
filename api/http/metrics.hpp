#pragma once
// Prometheus text exposition (format 0.0.4) of the daemon's stats for GET /metrics, rendered
// from the engine's typed jobs::Stats (the same figures the stats op encodes as JSON).

#include <string>

#include "api/http/http_stats.hpp"
#include "jobs/engine.hpp"

namespace audit::api::http {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders `stats` (the engine's, or nullptr when they could not be had: only the server's
 * own counters then, and audit_replay_stats_up 0) and the server's own counters.
 */
std::string renderMetrics(const jobs::Stats* stats, const HttpStats& http);

}  // namespace audit::api::http
