#pragma once
// The operator requests of docs/cli.md as the front ends speak them: the socket protocol's
// JSON objects. The control socket, the spool directory and the HTTP API all call this one
// seam — implemented by the protocol codec (api/protocol.hpp) over the typed job engine —
// so each front end is a thin translation and validation and status codes are identical
// everywhere.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <string_view>

#include "jobs/body_ingest.hpp"

namespace audit::api {

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
   * Decodes and stores a received body of events (jobs/body_ingest.hpp) for the region
   * that `request` names ({"region": R} or none). `body` must stay valid until the call
   * completes. Runs on the event loop; the work happens off it. Default: 501.
   */
  virtual boost::asio::awaitable<boost::json::object> ingestBody(boost::json::object request,
                                                                 std::string_view body,
                                                                 jobs::BodyIngestOptions options);
};

}  // namespace audit::api
