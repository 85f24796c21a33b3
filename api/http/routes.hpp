#pragma once
// The route table of docs/http-api.md. Routes are matched on the decoded path only; the query
// carries `region`.

#include <string_view>

namespace audit::api::http {

enum class Route { ReplayJob, Webhook, WebhookStatus, Jwks, Metrics, Healthz, Ingest, Other };

struct RouteInfo {
  Route route;
  /** The path as counted in audit_replay_http_requests_total{route}; "other" when unknown. */
  std::string_view name;
  /** The Allow header for a 405. */
  std::string_view allow;
};

/** The route serving `path`, or Route::Other. */
const RouteInfo& matchRoute(std::string_view path);

}  // namespace audit::api::http
