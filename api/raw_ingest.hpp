#pragma once
// The control socket's fast ingest: a request line
//   {"op":"ingest_raw","region":R,"bytes":N,"skip_invalid":B}
// followed by exactly N bytes of newline-separated events (JSON or CEF, as on
// POST /v2/audit-logs), answered like that route: {"ok":true,"code":200,"ingested",
// "duplicates","rejected":[{"line":i,"reason"}]} or {"ok":false,"code":400|413|503,…}.
// The events are not escaped into JSON strings, so they are parsed once, by the store.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <string>

#include "api/control_api.hpp"

namespace audit::api {

/** The largest N an ingest_raw request may announce. */
inline constexpr std::size_t kMaxRawIngestBytes = 64u << 20;

/** True for a request whose op is "ingest_raw". */
bool isRawIngest(const boost::json::object& request);

/**
 * Reads the request's N bytes (some may already be in `buffer`, which is consumed up to their
 * end), ingests them through `api` and returns the answer. Sets *close_after when the stream
 * cannot be framed any more (a bad or oversized N, the peer gone).
 */
boost::asio::awaitable<boost::json::object> serveRawIngest(
    boost::asio::local::stream_protocol::socket& socket, std::string& buffer,
    boost::json::object request, ControlApi& api, bool* close_after);

}  // namespace audit::api
