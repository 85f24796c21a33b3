#include "api/http/routes.hpp"

#include <array>

namespace audit::api::http {
namespace {

struct Entry {
  std::string_view path;
  RouteInfo info;
};

constexpr std::array kRoutes{
    Entry{"/v2/audit-log-replay-job",
          {Route::ReplayJob, "/v2/audit-log-replay-job", "GET, HEAD, PUT, DELETE"}},
    Entry{"/v2/audit-log-webhook", {Route::Webhook, "/v2/audit-log-webhook", "GET, HEAD, PATCH"}},
    Entry{"/v2/audit-log-webhook/status",
          {Route::WebhookStatus, "/v2/audit-log-webhook/status", "GET, HEAD"}},
    Entry{"/v2/audit-log-webhook/jwks.json",
          {Route::Jwks, "/v2/audit-log-webhook/jwks.json", "GET, HEAD"}},
    Entry{"/metrics", {Route::Metrics, "/metrics", "GET, HEAD"}},
    Entry{"/healthz", {Route::Healthz, "/healthz", "GET, HEAD"}},
    Entry{"/v2/audit-logs", {Route::Ingest, "/v2/audit-logs", "POST"}},
};

constexpr RouteInfo kOther{Route::Other, "other", ""};

}  // namespace

const RouteInfo& matchRoute(std::string_view path) {
  for (const auto& entry : kRoutes) {
    if (entry.path == path) return entry.info;
  }
  return kOther;
}

}  // namespace audit::api::http
