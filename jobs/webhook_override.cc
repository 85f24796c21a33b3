#include "jobs/webhook_override.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/rfc3339.hpp"
#include "jobs/log_format.hpp"

namespace audit::jobs {
namespace json = boost::json;

std::optional<config::EventFormat> parseLogFormat(std::string_view text) {
  if (text == "json") return config::EventFormat::Json;
  if (text == "cef") return config::EventFormat::Cef;
  if (text == "cps") return config::EventFormat::Cps;
  return std::nullopt;
}

namespace {

void bad(Refusal& refusal, std::string field, std::string reason) {
  refusal.code = 400;
  if (!refusal.reason.empty()) refusal.reason += "; ";
  refusal.reason += reason;
  refusal.fields.emplace_back(std::move(field), std::move(reason));
}

}  // namespace

bool WebhookOverride::empty() const {
  return !endpoint && !authorization && !enabled && !log_format && !skip_ssl_verification;
}

void WebhookOverride::applyTo(config::WebhookSettings& webhook) const {
  if (endpoint) webhook.endpoint = *endpoint;
  if (authorization) {
    webhook.authorization = *authorization;
    webhook.authorization_file.reset();  // the API's value replaces the file's
  }
  if (enabled) webhook.enabled = *enabled;
  if (log_format) webhook.log_format = *log_format;
  if (skip_ssl_verification) webhook.skip_ssl_verification = *skip_ssl_verification;
}

std::string WebhookOverride::serialize() const {
  json::object o;
  if (endpoint) o["endpoint"] = *endpoint;
  if (authorization) o["authorization"] = *authorization;
  if (enabled) o["enabled"] = *enabled;
  if (log_format) o["log_format"] = config::toString(*log_format);
  if (skip_ssl_verification) o["skip_ssl_verification"] = *skip_ssl_verification;
  o["updated_ms"] = updated_ms;
  return json::serialize(o);
}

std::optional<WebhookOverride> WebhookOverride::parse(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  WebhookOverride out;
  if (const auto* e = o.if_contains("endpoint"); e && e->is_string()) {
    out.endpoint = std::string(e->get_string());
  }
  if (const auto* a = o.if_contains("authorization"); a && a->is_string()) {
    out.authorization = std::string(a->get_string());
  }
  if (const auto* e = o.if_contains("enabled"); e && e->is_bool()) out.enabled = e->get_bool();
  if (const auto* f = o.if_contains("log_format"); f && f->is_string()) {
    out.log_format = parseLogFormat(f->get_string());
  }
  if (const auto* s = o.if_contains("skip_ssl_verification"); s && s->is_bool()) {
    out.skip_ssl_verification = s->get_bool();
  }
  if (const auto* u = o.if_contains("updated_ms"); u && u->is_int64())
    out.updated_ms = u->get_int64();
  return out;
}

bool mergePatch(const json::object& changes, WebhookOverride& override_, Refusal& refusal) {
  WebhookOverride next = override_;
  for (const auto& [key, value] : changes) {
    if (key == "endpoint") {
      if (!value.is_string()) {
        bad(refusal, "endpoint", "endpoint must be an http:// or https:// URL");
      } else if (auto problem = config::checkWebhookEndpoint(value.get_string())) {
        // The value itself is not echoed: a URL may hold a password.
        bad(refusal, "endpoint", "endpoint: " + *problem);
      } else {
        next.endpoint = std::string(value.get_string());
      }
    } else if (key == "authorization") {
      // A secret: never quoted back.
      if (!value.is_string()) {
        bad(refusal, "authorization", "authorization must be a string");
      } else if (value.get_string().find_first_of("\r\n") != json::string::npos) {
        bad(refusal, "authorization",
            "authorization must be a single line (it becomes the Authorization header)");
      } else {
        next.authorization = std::string(value.get_string());
      }
    } else if (key == "enabled" || key == "skip_ssl_verification") {
      if (!value.is_bool()) {
        bad(refusal, std::string(key), std::string(key) + " must be true or false");
      } else if (key == "enabled") {
        next.enabled = value.get_bool();
      } else {
        next.skip_ssl_verification = value.get_bool();
      }
    } else if (key == "log_format") {
      const auto format = value.is_string() ? parseLogFormat(value.get_string()) : std::nullopt;
      if (!format) {
        bad(refusal, "log_format", "log_format must be json, cef or cps");
      } else {
        next.log_format = format;
      }
    } else {
      bad(refusal, std::string(key),
          std::string(key) +
              " is not a webhook setting; use endpoint, authorization, enabled, log_format or "
              "skip_ssl_verification");
    }
  }
  if (!refusal.fields.empty()) return false;
  override_ = std::move(next);
  return true;
}

json::object webhookConfigView(const std::string& region, const config::WebhookSettings& webhook,
                               bool overridden, EpochMillis updated_ms) {
  json::object o;
  o["region"] = region;
  o["endpoint"] = webhook.endpoint;
  o["enabled"] = webhook.enabled;
  o["log_format"] = config::toString(webhook.log_format);
  o["skip_ssl_verification"] = webhook.skip_ssl_verification;
  o["updated_at"] = formatRfc3339(updated_ms / 1000 * 1000);
  o["overridden"] = overridden;
  return o;
}

config::Config withOverrides(const config::Config& config,
                             const std::map<std::string, WebhookOverride>& overrides) {
  config::Config out = config;
  for (const auto& [region, override_] : overrides) {
    auto it = out.regions.find(region);
    if (it != out.regions.end()) override_.applyTo(it->second.webhook);
  }
  return out;
}

}  // namespace audit::jobs
