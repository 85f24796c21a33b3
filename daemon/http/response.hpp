#pragma once
// Building the server's responses: JSON bodies and RFC 9457 problem details.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace audit::daemon::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

/** `status` with `body` serialised as application/json. */
Response jsonResponse(unsigned status, const boost::json::value& body);

/**
 * application/problem+json {"status","title","detail","instance"}; the title is the status's
 * reason phrase and `instance` the request's path.
 */
Response problemResponse(unsigned status, std::string_view detail, std::string_view instance);

/** A status outside 100..599 (e.g. from a malformed ControlApi answer) becomes 500. */
unsigned sanitizeStatus(long long status);

}  // namespace audit::daemon::http
