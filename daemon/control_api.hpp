#pragma once
// The one implementation of the operator requests of docs/cli.md, shared by every front end:
// the control socket, the spool directory, the HTTP API and `jobs:` in the config.
// Requests and responses are the socket protocol's JSON objects, so each front end is a
// thin translation and validation and status codes are identical everywhere.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <string_view>

#include "daemon/body_ingest.hpp"

namespace audit::daemon {

class ControlApi {
 public:
  virtual ~ControlApi() = default;

  /**
   * Executes one request, e.g. {"op":"put_job","region":"us","start_at":…,"end_at":…}.
   * @return {"ok":true,"code":202,"job":{…}} or {"ok":false,"code":409,"error":"…"}.
   * Runs on the event loop; never throws; store work happens off the loop.
   */
  virtual boost::asio::awaitable<boost::json::object> execute(boost::json::object request) = 0;

  /**
   * Decodes and stores a received body of events (daemon/body_ingest.hpp) for the region
   * that `request` names ({"region": R} or none). `body` must stay valid until the call
   * completes. Runs on the event loop; the work happens off it. Default: 501.
   */
  virtual boost::asio::awaitable<boost::json::object> ingestBody(boost::json::object request,
                                                                 std::string_view body,
                                                                 BodyIngestOptions options);
};

}  // namespace audit::daemon
