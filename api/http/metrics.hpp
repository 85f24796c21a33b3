#pragma once
// Prometheus text exposition (format 0.0.4) of the daemon's stats for GET /metrics.

#include <boost/json/object.hpp>
#include <string>

#include "api/http/http_stats.hpp"

namespace audit::api::http {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders `stats` (the "stats" object of the ControlApi's {"op":"stats"} answer, or nullptr
 * when it could not be had) and the server's own counters. Every field is read
 * defensively: a missing or mistyped one leaves its sample out, never the whole page.
 */
std::string renderMetrics(const boost::json::object* stats, const HttpStats& http);

}  // namespace audit::api::http
