#pragma once
// Building the server's responses: JSON bodies and problem details as Konnect writes them
// (RFC 9457 application/problem+json with Konnect's titles and trace instance).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace audit::api::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

/** One bad field of a 400: Konnect's `invalid_parameters[{field, reason}]`. */
struct InvalidParameter {
  std::string field;
  std::string reason;
};
using InvalidParameters = std::vector<InvalidParameter>;

/** `status` with `body` serialised as application/json. */
Response jsonResponse(unsigned status, const boost::json::value& body);

/** A fresh request id: 32 lowercase hex digits, random. Thread-safe. */
std::string newRequestId();

/** "audit-replay:trace:<request id>": a problem's `instance`, also in the request's log line. */
std::string traceInstance(std::string_view request_id);

/** Konnect's title for `status` ("Resource Conflict" for 409), else the reason phrase. */
std::string_view problemTitle(unsigned status);

/**
 * application/problem+json {"status","title","detail","instance"} with Konnect's title and
 * instance traceInstance(request_id). A 400 always carries `invalid_parameters`: `invalid`,
 * or when that is empty one entry {"field": "request", "reason": detail}.
 */
Response problemResponse(unsigned status, std::string_view detail, std::string_view request_id,
                         const InvalidParameters& invalid = {});

/** A status outside 100..599 (e.g. from a malformed ControlApi answer) becomes 500. */
unsigned sanitizeStatus(long long status);

}  // namespace audit::api::http
