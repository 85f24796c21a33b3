#include "jobs/webhook_state.hpp"

#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/rfc3339.hpp"

namespace audit::jobs {
namespace json = boost::json;

namespace {
constexpr std::size_t kMessageLimit = 512;
}

void WebhookState::record(const webhook::AttemptResult& attempt, EpochMillis now) {
  last_attempt_at = now;
  last_response_code = attempt.error ? 0 : attempt.status;
  last_failed = attempt.error || attempt.status < 200 || attempt.status >= 300;
  if (attempt.error) {
    last_response_message =
        (attempt.step.empty() ? std::string() : attempt.step + ": ") + attempt.error.message();
  } else {
    namespace http = boost::beast::http;
    std::string reason(
        http::obsolete_reason(http::int_to_status(static_cast<unsigned>(attempt.status))));
    if (last_failed && !attempt.body_excerpt.empty()) reason += ": " + attempt.body_excerpt;
    last_response_message = std::move(reason);
  }
  if (last_response_message.size() > kMessageLimit) last_response_message.resize(kMessageLimit);
}

std::string WebhookState::serialize() const {
  json::object o;
  if (last_attempt_at) o["last_attempt_at"] = *last_attempt_at;
  o["last_response_code"] = last_response_code;
  o["last_response_message"] = last_response_message;
  o["last_failed"] = last_failed;
  return json::serialize(o);
}

std::optional<WebhookState> WebhookState::parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  WebhookState s;
  if (auto* t = o.if_contains("last_attempt_at"); t && t->is_int64())
    s.last_attempt_at = t->as_int64();
  if (auto* c = o.if_contains("last_response_code"); c && c->is_int64()) {
    s.last_response_code = static_cast<int>(c->as_int64());
  }
  if (auto* m = o.if_contains("last_response_message"); m && m->is_string()) {
    s.last_response_message = std::string(m->as_string());
  }
  if (auto* f = o.if_contains("last_failed"); f && f->is_bool()) s.last_failed = f->as_bool();
  return s;
}

std::string_view webhookStatusName(const config::RegionSettings* settings,
                                   const WebhookState& state) {
  const bool configured = settings != nullptr && settings->webhook.configured();
  return !configured ? "unconfigured" : state.last_failed ? "inactive" : "active";
}

json::object webhookView(const std::string& region, const config::RegionSettings* settings,
                         const WebhookState& state) {
  bool configured = settings != nullptr && settings->webhook.configured();
  json::object o;
  o["region"] = region;
  o["webhook_enabled"] = configured && settings->webhook.enabled;
  o["webhook_status"] = webhookStatusName(settings, state);
  if (state.last_attempt_at) {
    o["last_attempt_at"] = formatRfc3339Millis(*state.last_attempt_at);
    o["last_response_code"] = state.last_response_code == 0 ? json::value(nullptr)
                                                            : json::value(state.last_response_code);
    o["last_response_message"] = state.last_response_message;
  } else {
    o["last_attempt_at"] = nullptr;
    o["last_response_code"] = nullptr;
    o["last_response_message"] = nullptr;
  }
  return o;
}

}  // namespace audit::jobs
