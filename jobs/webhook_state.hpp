#pragma once
// Webhook status per region as Konnect shows it (docs/formats.md): enabled, active/inactive/
// unconfigured, and the last attempt. Stored beside the jobs so it survives restarts.

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "webhook/retry_policy.hpp"

namespace audit::jobs {

struct WebhookState {
  std::optional<EpochMillis> last_attempt_at;
  int last_response_code = 0;  // 0: no HTTP response (transport error or no attempt)
  std::string last_response_message;
  bool last_failed = false;

  void record(const webhook::AttemptResult& attempt, EpochMillis now);
  std::string serialize() const;
  static std::optional<WebhookState> parse(std::string_view text);
};

using WebhookStates = std::map<std::string, WebhookState>;

/** "active", "inactive" (the last attempt failed) or "unconfigured" (settings null or
 *  without a webhook). */
std::string_view webhookStatusName(const config::RegionSettings* settings,
                                   const WebhookState& state);

/** {"region","webhook_enabled","webhook_status","last_attempt_at",…} */
boost::json::object webhookView(const std::string& region, const config::RegionSettings* settings,
                                const WebhookState& state);

}  // namespace audit::jobs
