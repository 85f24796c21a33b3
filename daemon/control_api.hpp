#pragma once
// The one implementation of the operator requests of SPEC §6, shared by every front end:
// the control socket, the spool directory, the HTTP API and `jobs:` in the config.
// Requests and responses are the socket protocol's JSON objects, so each front end is a
// thin translation and validation and status codes are identical everywhere.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

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
};

}  // namespace audit::daemon
