#include "api/http/request_handler.hpp"

#include <spdlog/spdlog.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <exception>
#include <optional>
#include <string>

#include "api/http/ingest_route.hpp"
#include "api/http/metrics.hpp"
#include "api/http/region.hpp"
#include "api/http/routes.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::api::http {
namespace {

namespace json = boost::json;
using boost::asio::awaitable;

bool methodAllowed(Route route, bhttp::verb method) {
  if (route == Route::Ingest) return method == bhttp::verb::post;
  if (method == bhttp::verb::get || method == bhttp::verb::head) return true;
  if (route == Route::ReplayJob)
    return method == bhttp::verb::put || method == bhttp::verb::delete_;
  if (route == Route::Webhook) return method == bhttp::verb::patch;
  return false;
}

/** The answer's `invalid_parameters` ([{field, reason}]), if any. */
InvalidParameters invalidParameters(const json::object& answer) {
  InvalidParameters out;
  const auto* list = answer.if_contains("invalid_parameters");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& item : list->get_array()) {
    const auto* o = item.if_object();
    if (o == nullptr) continue;
    const auto* field = o->if_contains("field");
    const auto* reason = o->if_contains("reason");
    if (field == nullptr || !field->is_string() || reason == nullptr || !reason->is_string()) {
      continue;
    }
    out.push_back({std::string(field->get_string()), std::string(reason->get_string())});
  }
  return out;
}

constexpr std::string_view kRunningConflict = "A replay job is currently running";

/**
 * Maps a ControlApi answer: {"ok":false,"code":C,"error":E} → problem C/E;
 * {"ok":true,"code":2xx,member:V} → V as JSON with that code (or `success` without one).
 */
Response fromAnswer(const json::object& answer, std::string_view member, unsigned success,
                    std::string_view instance, std::string_view request_id,
                    bool conflict_is_running) {
  const auto* ok = answer.if_contains("ok");
  const auto* code = answer.if_contains("code");
  const auto status = code != nullptr && code->is_int64() ? code->get_int64() : 0;
  if (ok == nullptr || !ok->is_bool() || !ok->get_bool()) {
    const auto* error = answer.if_contains("error");
    std::string_view detail = error != nullptr && error->is_string()
                                  ? std::string_view(error->get_string())
                                  : std::string_view("request failed");
    unsigned mapped = sanitizeStatus(status);
    if (mapped < 400) mapped = 500;
    // Konnect's words for a replay job request refused because one runs.
    if (mapped == 409 && conflict_is_running) detail = kRunningConflict;
    return problemResponse(mapped, detail, request_id, invalidParameters(answer));
  }
  const auto* value = answer.if_contains(member);
  if (value == nullptr) {
    spdlog::error("http: the control answer to {} has no \"{}\"; this is a daemon bug", instance,
                  member);
    return problemResponse(500, "internal error: incomplete answer", request_id);
  }
  return jsonResponse(status >= 200 && status <= 299 ? static_cast<unsigned>(status) : success,
                      *value);
}

/** Webhook status: one region's object, or every region's as {"regions": […]}. */
Response fromStatusAnswer(const json::object& answer, bool every_region, std::string_view instance,
                          std::string_view request_id) {
  const auto* ok = answer.if_contains("ok");
  const bool good = ok != nullptr && ok->is_bool() && ok->get_bool();
  if (good && !every_region && answer.contains("webhook")) {
    return fromAnswer(answer, "webhook", 200, instance, request_id, false);
  }
  if (good) {
    if (const auto* all = answer.if_contains("webhooks"); all != nullptr && all->is_array()) {
      return jsonResponse(200, json::object{{"regions", *all}});
    }
  }
  return fromAnswer(answer, "webhook", 200, instance, request_id, false);
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

Response unauthorized(std::string_view detail, bool token_given, std::string_view request_id) {
  Response response = problemResponse(401, detail, request_id);
  // RFC 6750 §3: name the scheme, and say when a presented token was wrong.
  const std::string_view challenge = token_given
                                         ? R"(Bearer realm="audit-replay", error="invalid_token")"
                                         : R"(Bearer realm="audit-replay")";
  response.set(bhttp::field::www_authenticate, challenge);
  return response;
}

}  // namespace

RequestHandler::RequestHandler(ControlApi& api, StatsSource& stats, const RequestCounters& counters)
    : api_(api), stats_(stats), counters_(counters) {}

void RequestHandler::setTokens(std::shared_ptr<const TokenSet> tokens) {
  std::lock_guard lock(tokens_mutex_);
  tokens_ = std::move(tokens);
}

void RequestHandler::setRegions(std::vector<std::string> regions) {
  std::lock_guard lock(regions_mutex_);
  regions_ = std::move(regions);
}

std::vector<std::string> RequestHandler::regions() const {
  std::lock_guard lock(regions_mutex_);
  return regions_;
}

std::optional<Role> RequestHandler::roleOf(const Request& request) const {
  std::shared_ptr<const TokenSet> tokens;
  {
    std::lock_guard lock(tokens_mutex_);
    tokens = tokens_;
  }
  if (tokens == nullptr) return Role::Admin;  // allow_unauthenticated, chosen explicitly
  return tokens->find(bearerToken(request[bhttp::field::authorization]));
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

Response RequestHandler::metricsResponse(const jobs::Stats* stats) const {
  if (stats == nullptr) {
    // Still answer: the server's own counters and audit_replay_stats_up 0 are worth scraping.
    // Debug only: a scraper would repeat a warning every few seconds.
    spdlog::debug("http: /metrics without daemon stats; check the daemon's log for why");
  }
  Response response{bhttp::status::ok, 11};
  response.set(bhttp::field::server, "audit-replay/" AUDIT_REPLAY_VERSION);
  response.set(bhttp::field::content_type, kMetricsContentType);
  response.set(bhttp::field::cache_control, "no-store");
  response.body() = renderMetrics(stats, counters_.snapshot());
  response.prepare_payload();
  return response;
}

RequestHandler::Plan RequestHandler::plan(const Request& request) const {
  Plan plan;
  plan.request_id = newRequestId();
  const std::string_view target = request.target();
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    plan.instance = target.substr(0, target.find('?'));
    plan.immediate = problemResponse(400, "the request target is not a valid path", plan.request_id,
                                     {{"path", "not a valid path"}});
    return plan;
  }
  plan.instance = url->encoded_path();
  const RouteInfo& route = matchRoute(url->path());
  plan.route = route.name;
  if (route.route == Route::Other) {
    plan.immediate = problemResponse(404, "no such resource", plan.request_id);
    return plan;
  }
  if (!methodAllowed(route.route, request.method())) {
    plan.immediate = problemResponse(405,
                                     std::string(request.method_string()) +
                                         " is not allowed here; use " + std::string(route.allow),
                                     plan.request_id);
    plan.immediate->set(bhttp::field::allow, route.allow);
    return plan;
  }

  // jwks (public keys, as Konnect) and healthz (probes carry no secrets) are open.
  const bool open = route.route == Route::Jwks || route.route == Route::Healthz ||
                    (route.route == Route::Metrics && metrics_public_);
  if (!open) {
    const auto role = roleOf(request);
    if (!role) {
      const bool token_given = !request[bhttp::field::authorization].empty();
      plan.immediate =
          unauthorized(token_given ? "the bearer token is not valid"
                                   : "an Authorization: Bearer <token> header is required",
                       token_given, plan.request_id);
      return plan;
    }
    if (!roleAllows(*role, request.method_string())) {
      plan.immediate = problemResponse(403,
                                       "a token with role " + std::string(toString(*role)) +
                                           " may not " + std::string(request.method_string()) +
                                           " " + std::string(plan.instance),
                                       plan.request_id);
      return plan;
    }
  }

  const bool regional = route.route == Route::ReplayJob || route.route == Route::Webhook ||
                        route.route == Route::WebhookStatus || route.route == Route::Ingest;
  if (regional) {
    const RegionChoice choice = chooseRegion(request, regions());
    if (choice.region) {
      plan.control["region"] = *choice.region;
    } else if (choice.ambiguous) {
      if (route.route != Route::WebhookStatus) {
        plan.immediate = ambiguousRegionProblem(choice, plan.request_id);
        return plan;
      }
      plan.regions_list = true;  // the status of every region
    }
  }
  switch (route.route) {
    case Route::ReplayJob:
      plan.member = "job";
      if (request.method() == bhttp::verb::get || request.method() == bhttp::verb::head) {
        plan.control["op"] = protocol::toString(protocol::Op::GetJob);
      } else if (request.method() == bhttp::verb::delete_) {
        plan.control["op"] = protocol::toString(protocol::Op::CancelJob);
      } else {
        // PUT: the body's fields go through untouched; the ControlApi validates and names
        // every bad field, exactly as on the control socket.
        boost::system::error_code ec;
        const json::value body = json::parse(request.body(), ec);
        if (ec || !body.is_object()) {
          const std::string_view why =
              "the request body must be a JSON object "
              R"({"start_at": RFC 3339, "end_at": RFC 3339})";
          plan.immediate = problemResponse(400, why, plan.request_id, {{"body", std::string(why)}});
          return plan;
        }
        plan.control["op"] = protocol::toString(protocol::Op::PutJob);
        plan.success = 202;
        plan.conflict_is_running = true;
        for (const std::string_view field : {"start_at", "end_at", "webhook"}) {
          if (const auto* value = body.get_object().if_contains(field)) {
            plan.control[field] = *value;
          }
        }
      }
      break;
    case Route::Webhook:
      plan.member = "webhook";
      if (request.method() == bhttp::verb::patch) {
        boost::system::error_code ec;
        const json::value body = json::parse(request.body(), ec);
        if (ec || !body.is_object()) {
          const std::string_view why =
              "the request body must be a JSON object with any of endpoint, authorization, "
              "enabled, log_format, skip_ssl_verification";
          plan.immediate = problemResponse(400, why, plan.request_id, {{"body", std::string(why)}});
          return plan;
        }
        plan.control["op"] = protocol::toString(protocol::Op::PatchWebhook);
        json::object changes = body.get_object();
        plan.control["changes"] = std::move(changes);
      } else {
        plan.control["op"] = protocol::toString(protocol::Op::GetWebhook);
      }
      break;
    case Route::WebhookStatus:
      plan.control["op"] = protocol::toString(protocol::Op::WebhookStatus);
      plan.member = "webhook";
      break;
    case Route::Jwks:
      plan.control["op"] = protocol::toString(protocol::Op::Jwks);
      plan.member = "jwks";
      break;
    case Route::Metrics:
      plan.kind = Plan::Kind::Metrics;  // served from the StatsSource (handle)
      break;
    case Route::Healthz:
      plan.control = opRequest(protocol::toString(protocol::Op::Health));
      plan.kind = Plan::Kind::Health;
      break;
    case Route::Ingest:
      plan.kind = Plan::Kind::Ingest;  // served by serveIngest (ingest_route.cc)
      break;
    case Route::Other:
      break;
  }
  return plan;
}

Response RequestHandler::finish(const Plan& plan, const json::object& answer) const {
  switch (plan.kind) {
    case Plan::Kind::Member:
      if (plan.route == matchRoute("/v2/audit-log-webhook/status").name) {
        return fromStatusAnswer(answer, plan.regions_list, plan.instance, plan.request_id);
      }
      return fromAnswer(answer, plan.member, plan.success, plan.instance, plan.request_id,
                        plan.conflict_is_running);
    case Plan::Kind::Metrics:
    case Plan::Kind::Ingest:
      break;
    case Plan::Kind::Health: {
      const auto* ok = answer.if_contains("ok");
      if (ok != nullptr && ok->is_bool() && ok->get_bool()) return healthy();
      const auto* error = answer.if_contains("error");
      return problemResponse(503,
                             error != nullptr && error->is_string()
                                 ? std::string_view(error->get_string())
                                 : std::string_view("unhealthy"),
                             plan.request_id);
    }
  }
  return problemResponse(500, "internal error", plan.request_id);
}

// The coroutine is kept to one co_await between plain functions: GCC 12 mishandles
// temporaries around co_await inside larger expressions (double destruction seen in tests).
awaitable<RequestHandler::Result> RequestHandler::handle(const Request& request) {
  Plan plan = this->plan(request);
  if (!plan.immediate && plan.kind == Plan::Kind::Ingest) {
    plan.immediate = co_await serveIngest(api_, request, std::move(plan.control), plan.request_id);
  }
  if (!plan.immediate && plan.kind == Plan::Kind::Metrics) {
    const std::optional<jobs::Stats> stats = co_await stats_.stats();
    plan.immediate = metricsResponse(stats ? &*stats : nullptr);
  }
  if (!plan.immediate) {
    const json::object answer = co_await call(std::move(plan.control));
    plan.immediate = finish(plan, answer);
  }
  if (request.method() == bhttp::verb::head) {
    // HEAD: the GET answer's status and headers (Content-Length included), no body.
    Response& response = *plan.immediate;
    const auto length = response.body().size();
    response.body().clear();
    response.content_length(length);
  }
  Result result{std::move(*plan.immediate), plan.route, std::move(plan.request_id)};
  co_return result;
}

}  // namespace audit::api::http
