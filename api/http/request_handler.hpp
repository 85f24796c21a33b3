#pragma once
// Turns one parsed HTTP request into one ControlApi request and its answer into an HTTP
// response (the HTTP API onto the socket protocol). Validation of the job request is the
// ControlApi's: this only checks what is HTTP's (route, method, token and its role, the
// region of the request, body is a JSON object). /metrics renders the engine's typed stats
// (a StatsSource) and the server's own counters.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/control_api.hpp"
#include "api/http/request_counters.hpp"
#include "api/http/response.hpp"
#include "api/http/token_set.hpp"
#include "api/stats_source.hpp"
#include "jobs/engine.hpp"

namespace audit::api::http {

class RequestHandler {
 public:
  /** All must outlive the handler. */
  RequestHandler(ControlApi& api, StatsSource& stats, const RequestCounters& counters);

  /** The accepted tokens; nullptr serves without authentication. Any thread. */
  void setTokens(std::shared_ptr<const TokenSet> tokens);
  /** True: /metrics needs no token. Any thread. */
  void setMetricsPublic(bool metrics_public) { metrics_public_ = metrics_public; }
  /**
   * The configured region names, for the region rule (api/http/region.hpp). Empty (the
   * default): the HTTP layer names no region of its own and the ControlApi decides. Any thread.
   */
  void setRegions(std::vector<std::string> regions);
  std::vector<std::string> regions() const;

  struct Result {
    Response response;
    /** The route template for audit_replay_http_requests_total ("other" when unknown). */
    std::string_view route;
    /** The request's id: in a problem's `instance` and in the request's log line. */
    std::string request_id;
  };

  /** Answers `request`. Runs on the event loop; never throws. */
  boost::asio::awaitable<Result> handle(const Request& request);

 private:
  /** nullopt: no valid token. Without authentication every request is Admin. */
  std::optional<Role> roleOf(const Request& request) const;
  /** The ControlApi call, with an exception (a broken contract) turned into a 500 answer. */
  boost::asio::awaitable<boost::json::object> call(boost::json::object request);
  /** What a request needs: an answer now, or one ControlApi call and how to map it. */
  struct Plan {
    enum class Kind { Member, Metrics, Health, Ingest };
    std::optional<Response> immediate;
    boost::json::object control;  // the ControlApi request (not for Metrics and Ingest)
    Kind kind = Kind::Member;
    std::string_view member;  // Kind::Member: the answer's member that is the body
    unsigned success = 200;   // Kind::Member: the status when the answer has no 2xx code
    std::string instance;     // the request's path, for log lines
    std::string request_id;   // for problems' `instance`
    std::string_view route = "other";
    bool conflict_is_running = false;  // a 409 is Konnect's "A replay job is currently running"
    bool regions_list = false;         // webhook status for every region: {"regions": […]}
  };
  Plan plan(const Request& request) const;
  Response finish(const Plan& plan, const boost::json::object& answer) const;
  /** `stats`: null when they could not be had. */
  Response metricsResponse(const jobs::Stats* stats) const;

  ControlApi& api_;
  StatsSource& stats_;
  const RequestCounters& counters_;
  mutable std::mutex tokens_mutex_;
  std::shared_ptr<const TokenSet> tokens_;
  mutable std::mutex regions_mutex_;
  std::vector<std::string> regions_;
  std::atomic<bool> metrics_public_{false};
};

}  // namespace audit::api::http
