#include "api/control_api.hpp"

namespace audit::api {

// The default for a ControlApi that stores nothing (a test double, say).
boost::asio::awaitable<boost::json::object> ControlApi::ingestBody(
    boost::json::object request, std::string_view body, jobs::BodyIngestOptions options) {
  (void)request;
  (void)body;
  (void)options;
  boost::json::object answer;
  answer["ok"] = false;
  answer["code"] = 501;
  answer["error"] = "this daemon does not receive events";
  co_return answer;
}

}  // namespace audit::api
