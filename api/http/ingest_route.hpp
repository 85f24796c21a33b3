#pragma once
// POST /v2/audit-logs: a body of events, as Konnect's webhook (or Vector, Fluent Bit, curl)
// sends it, stored through ControlApi::ingestBody. This file is the HTTP side only: the
// encoding, the query's skip_invalid, and the answer's status and shape.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/json/object.hpp>
#include <string_view>

#include "api/control_api.hpp"
#include "api/http/response.hpp"

namespace audit::api::http {

/** The path of the route. */
inline constexpr std::string_view kIngestPath = "/v2/audit-logs";

/** True for a POST to the ingest route, whose body has its own size limit (known from the header).
 */
bool isIngestRequest(const bhttp::request_header<>& header);

/**
 * Answers a POST to the route. `control` carries the request's region as the other routes
 * resolve it ({"region": R}, or nothing). Runs on the event loop; never throws.
 */
boost::asio::awaitable<Response> serveIngest(ControlApi& api, const Request& request,
                                             boost::json::object control,
                                             std::string_view request_id);

}  // namespace audit::api::http
