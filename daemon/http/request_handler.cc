#include "daemon/http/request_handler.hpp"

#include <spdlog/spdlog.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <exception>
#include <optional>
#include <string>

#include "daemon/http/metrics.hpp"
#include "daemon/http/routes.hpp"

namespace audit::daemon::http {
namespace {

namespace json = boost::json;
using boost::asio::awaitable;

std::optional<std::string> regionOf(const boost::urls::url_view& url) {
  const auto params = url.params();
  const auto it = params.find("region");
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

bool methodAllowed(Route route, bhttp::verb method) {
  if (route == Route::ReplayJob) {
    return method == bhttp::verb::get || method == bhttp::verb::put ||
           method == bhttp::verb::delete_;
  }
  return method == bhttp::verb::get;
}

/**
 * Maps a ControlApi answer: {"ok":false,"code":C,"error":E} → problem C/E;
 * {"ok":true,"code":2xx,member:V} → V as JSON with that code (or `success` without one).
 */
Response fromAnswer(const json::object& answer, std::string_view member, unsigned success,
                    std::string_view instance) {
  const auto* ok = answer.if_contains("ok");
  const auto* code = answer.if_contains("code");
  const auto status = code != nullptr && code->is_int64() ? code->get_int64() : 0;
  if (ok == nullptr || !ok->is_bool() || !ok->get_bool()) {
    const auto* error = answer.if_contains("error");
    const std::string_view detail = error != nullptr && error->is_string()
                                        ? std::string_view(error->get_string())
                                        : std::string_view("request failed");
    const unsigned mapped = sanitizeStatus(status);
    return problemResponse(mapped >= 400 ? mapped : 500, detail, instance);
  }
  const auto* value = answer.if_contains(member);
  if (value == nullptr) {
    spdlog::error("http: the control answer to {} has no \"{}\"; this is a daemon bug", instance,
                  member);
    return problemResponse(500, "internal error: incomplete answer", instance);
  }
  return jsonResponse(status >= 200 && status <= 299 ? static_cast<unsigned>(status) : success,
                      *value);
}

json::object opRequest(std::string_view op) {
  json::object request;
  request["op"] = op;
  return request;
}

// GCC 12 rejects braced json::object initialisers inside coroutines ("array used as
// initializer"), so call() takes its fallback answer from this plain function.
json::object failedAnswer(std::string_view error) {
  return json::object{{"ok", false}, {"code", 500}, {"error", error}};
}

Response healthy() {
  return jsonResponse(200, json::object{{"status", "ok"}});
}

Response unauthorized(std::string_view detail, bool token_given, std::string_view instance) {
  Response response = problemResponse(401, detail, instance);
  // RFC 6750 §3: name the scheme, and say when a presented token was wrong.
  const std::string_view challenge = token_given
                                         ? R"(Bearer realm="audit-replay", error="invalid_token")"
                                         : R"(Bearer realm="audit-replay")";
  response.set(bhttp::field::www_authenticate, challenge);
  return response;
}

}  // namespace

RequestHandler::RequestHandler(ControlApi& api, const RequestCounters& counters)
    : api_(api), counters_(counters) {}

void RequestHandler::setTokens(std::shared_ptr<const TokenSet> tokens) {
  std::lock_guard lock(tokens_mutex_);
  tokens_ = std::move(tokens);
}

bool RequestHandler::authorized(const Request& request) const {
  std::shared_ptr<const TokenSet> tokens;
  {
    std::lock_guard lock(tokens_mutex_);
    tokens = tokens_;
  }
  if (tokens == nullptr) return true;  // allow_unauthenticated, chosen explicitly
  return tokens->contains(bearerToken(request[bhttp::field::authorization]));
}

awaitable<json::object> RequestHandler::call(json::object request) {
  try {
    json::object answer = co_await api_.execute(std::move(request));
    co_return answer;
  } catch (const std::exception& e) {
    spdlog::error("http: control request failed with an exception: {}", e.what());
  } catch (...) {
    spdlog::error("http: control request failed with an unknown exception");
  }
  co_return failedAnswer("internal error");
}

Response RequestHandler::metricsResponse(const json::object& answer) const {
  const auto* ok = answer.if_contains("ok");
  const auto* stats = answer.if_contains("stats");
  const json::object* stats_object = nullptr;
  if (ok != nullptr && ok->is_bool() && ok->get_bool() && stats != nullptr) {
    stats_object = stats->if_object();
  }
  if (stats_object == nullptr) {
    // Still answer: the server's own counters and audit_replay_stats_up 0 are worth scraping.
    // Debug only: a scraper would repeat a warning every few seconds.
    spdlog::debug("http: /metrics without daemon stats; check the daemon's log for why");
  }
  Response response{bhttp::status::ok, 11};
  response.set(bhttp::field::server, "audit-replay/" AUDIT_REPLAY_VERSION);
  response.set(bhttp::field::content_type, kMetricsContentType);
  response.set(bhttp::field::cache_control, "no-store");
  response.body() = renderMetrics(stats_object, counters_.snapshot());
  response.prepare_payload();
  return response;
}

RequestHandler::Plan RequestHandler::plan(const Request& request) const {
  Plan plan;
  const std::string_view target = request.target();
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    plan.immediate = problemResponse(400, "the request target is not a valid path",
                                     target.substr(0, target.find('?')));
    return plan;
  }
  plan.instance = url->encoded_path();
  const RouteInfo& route = matchRoute(url->path());
  plan.route = route.name;
  if (route.route == Route::Other) {
    plan.immediate = problemResponse(404, "no such resource", plan.instance);
    return plan;
  }
  if (!methodAllowed(route.route, request.method())) {
    plan.immediate = problemResponse(405,
                                     std::string(request.method_string()) +
                                         " is not allowed here; use " + std::string(route.allow),
                                     plan.instance);
    plan.immediate->set(bhttp::field::allow, route.allow);
    return plan;
  }

  // jwks (public keys, as Konnect) and healthz (probes carry no secrets) are open.
  const bool open = route.route == Route::Jwks || route.route == Route::Healthz ||
                    (route.route == Route::Metrics && metrics_public_);
  if (!open && !authorized(request)) {
    const bool token_given = !request[bhttp::field::authorization].empty();
    plan.immediate =
        unauthorized(token_given ? "the bearer token is not valid"
                                 : "an Authorization: Bearer <token> header is required",
                     token_given, plan.instance);
    return plan;
  }

  if (const auto region = regionOf(*url)) plan.control["region"] = *region;
  switch (route.route) {
    case Route::ReplayJob:
      plan.member = "job";
      if (request.method() == bhttp::verb::get) {
        plan.control["op"] = "get_job";
      } else if (request.method() == bhttp::verb::delete_) {
        plan.control["op"] = "cancel_job";
      } else {
        // PUT: the body's fields go through untouched; the ControlApi validates and names
        // a bad field, exactly as on the control socket.
        boost::system::error_code ec;
        const json::value body = json::parse(request.body(), ec);
        if (ec || !body.is_object()) {
          plan.immediate = problemResponse(400,
                                           "the request body must be a JSON object "
                                           R"({"start_at": RFC 3339, "end_at": RFC 3339})",
                                           plan.instance);
          return plan;
        }
        plan.control["op"] = "put_job";
        plan.success = 202;
        for (const std::string_view field : {"start_at", "end_at", "webhook"}) {
          if (const auto* value = body.get_object().if_contains(field)) {
            plan.control[field] = *value;
          }
        }
      }
      break;
    case Route::WebhookStatus:
      plan.control["op"] = "webhook_status";
      plan.member = "webhook";
      break;
    case Route::Jwks:
      plan.control["op"] = "jwks";
      plan.member = "jwks";
      break;
    case Route::Metrics:
      plan.control = opRequest("stats");
      plan.kind = Plan::Kind::Metrics;
      break;
    case Route::Healthz:
      plan.control = opRequest("health");
      plan.kind = Plan::Kind::Health;
      break;
    case Route::Other:
      break;
  }
  return plan;
}

Response RequestHandler::finish(const Plan& plan, const json::object& answer) const {
  switch (plan.kind) {
    case Plan::Kind::Member:
      return fromAnswer(answer, plan.member, plan.success, plan.instance);
    case Plan::Kind::Metrics:
      return metricsResponse(answer);
    case Plan::Kind::Health: {
      const auto* ok = answer.if_contains("ok");
      if (ok != nullptr && ok->is_bool() && ok->get_bool()) return healthy();
      const auto* error = answer.if_contains("error");
      return problemResponse(503,
                             error != nullptr && error->is_string()
                                 ? std::string_view(error->get_string())
                                 : std::string_view("unhealthy"),
                             plan.instance);
    }
  }
  return problemResponse(500, "internal error", plan.instance);
}

// The coroutine is kept to one co_await between plain functions: GCC 12 mishandles
// temporaries around co_await inside larger expressions (double destruction seen in tests).
awaitable<RequestHandler::Result> RequestHandler::handle(const Request& request) {
  Plan plan = this->plan(request);
  if (!plan.immediate) {
    const json::object answer = co_await call(std::move(plan.control));
    plan.immediate = finish(plan, answer);
  }
  Result result{std::move(*plan.immediate), plan.route};
  co_return result;
}

}  // namespace audit::daemon::http
