#pragma once
// A region's webhook as changed over the API (PATCH /v2/audit-log-webhook, the socket's
// patch_webhook): the changed settings only, stored durably beside the jobs and laid over
// the configuration file's webhook until reset. Plain values; not thread-safe.

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "jobs/job_request.hpp"

namespace audit::jobs {

struct WebhookOverride {
  std::optional<std::string> endpoint;
  std::optional<std::string> authorization;  // secret: never shown, never logged
  std::optional<bool> enabled;
  std::optional<config::EventFormat> log_format;
  std::optional<bool> skip_ssl_verification;
  EpochMillis updated_ms = 0;

  /** No setting changed (what a reset stores). */
  bool empty() const;
  /** Lays the changed settings over `webhook` (the file's). */
  void applyTo(config::WebhookSettings& webhook) const;

  std::string serialize() const;
  static std::optional<WebhookOverride> parse(std::string_view text);
};

/**
 * Validates a PATCH body and merges it into `override_`. Accepts any of endpoint,
 * authorization, enabled, log_format, skip_ssl_verification; a refusal (400) names every
 * bad or unknown field. On refusal `override_` is unchanged.
 */
bool mergePatch(const boost::json::object& changes, WebhookOverride& override_, Refusal& refusal);

/**
 * The webhook as Konnect shows it: endpoint, enabled, log_format, skip_ssl_verification,
 * updated_at (`updated_ms`: the override's time, or when the file was loaded), plus region
 * and `overridden`; authorization is never part of it.
 */
boost::json::object webhookConfigView(const std::string& region,
                                      const config::WebhookSettings& webhook, bool overridden,
                                      EpochMillis updated_ms);

/** `config` with each region's override laid over its webhook (unknown regions skipped). */
config::Config withOverrides(const config::Config& config,
                             const std::map<std::string, WebhookOverride>& overrides);

}  // namespace audit::jobs
