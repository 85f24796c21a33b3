// ReplayService: each region's webhook — its status, the settings changed over the API, and their
// persistence (jobs/replay_service.hpp).

#include <spdlog/spdlog.h>

#include "common/offload.hpp"
#include "jobs/job_request.hpp"
#include "jobs/replay_service.hpp"

namespace audit::jobs {
namespace asio = boost::asio;

WebhookStatus ReplayService::webhookStatusOf(const std::string& region) const {
  WebhookStatus status;
  status.region = region;
  if (const config::RegionSettings* settings = runtime_.region(region)) status.settings = *settings;
  if (auto it = webhooks_.find(region); it != webhooks_.end()) status.state = it->second;
  status.forward = forwardStatusOf(region);
  return status;
}

Outcome<std::vector<WebhookStatus>> ReplayService::webhookStatus(const RegionName& named) const {
  if (stopping_) return shuttingDown();
  const config::Config& config = *runtime_.config;
  std::vector<WebhookStatus> all;
  if (named) {
    auto resolved = resolveRegion(named, config);
    if (!resolved) return resolved.error();
    const std::string region = std::move(*resolved);
    all.push_back(webhookStatusOf(region));
    return all;
  }
  for (const auto& [region, settings] : config.regions) all.push_back(webhookStatusOf(region));
  return all;
}

Outcome<WebhookSettingsView> ReplayService::getWebhook(const RegionName& named) const {
  if (stopping_) return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) return resolved.error();
  const std::string region = std::move(*resolved);
  const auto it = overrides_.find(region);
  WebhookSettingsView view;
  view.region = region;
  view.webhook = runtime_.config->regions.at(region).webhook;
  view.overridden = it != overrides_.end();
  view.updated_ms = view.overridden ? it->second.updated_ms : file_loaded_ms_;
  return view;
}

asio::awaitable<Outcome<WebhookSettingsView>> ReplayService::patchWebhook(RegionName named,
                                                                          WebhookOverride changes) {
  if (stopping_) co_return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  WebhookOverride next;
  if (auto it = overrides_.find(region); it != overrides_.end()) next = it->second;
  std::string fields;  // names only: the values (an authorization, a URL) stay out of the log
  auto take = [&fields](auto& into, auto& from, const char* name) {
    if (!from) return;
    into = std::move(from);
    fields += (fields.empty() ? "" : ",") + std::string(name);
  };
  take(next.endpoint, changes.endpoint, "endpoint");
  take(next.authorization, changes.authorization, "authorization");
  take(next.enabled, changes.enabled, "enabled");
  take(next.log_format, changes.log_format, "log_format");
  const bool tls_changed = changes.skip_ssl_verification.has_value();
  take(next.skip_ssl_verification, changes.skip_ssl_verification, "skip_ssl_verification");
  next.updated_ms = runtime_.clock.nowMillis();
  // Stored (synced) before it is in force: what a restart finds is what was answered.
  auto work = [&store = runtime_.store, region, text = next.serialize()] {
    return store.putRecord(store::RecordKind::WebhookOverride, region, text);
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored) {
    co_return Refusal{500, "cannot store the webhook settings: " + stored.error().message(), {}};
  }
  overrides_[region] = std::move(next);
  applyOverrides();
  runtime_.generation += 1;  // from the next batch, as a reload
  settingsChanged();
  spdlog::info("region={} webhook changed over the API: {}", region, fields);
  if (tls_changed && runtime_.config->regions.at(region).webhook.skip_ssl_verification) {
    spdlog::warn("region={} webhook: TLS certificate verification is now OFF", region);
  }
  co_return getWebhook(region);
}

asio::awaitable<Outcome<WebhookSettingsView>> ReplayService::resetWebhook(RegionName named) {
  if (stopping_) co_return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  WebhookOverride none;
  none.updated_ms = runtime_.clock.nowMillis();
  auto work = [&store = runtime_.store, region, text = none.serialize()] {
    return store.putRecord(store::RecordKind::WebhookOverride, region, text);
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored) {
    co_return Refusal{500, "cannot store the webhook settings: " + stored.error().message(), {}};
  }
  const bool had = overrides_.erase(region) > 0;
  applyOverrides();
  if (had) {
    runtime_.generation += 1;
    settingsChanged();
    spdlog::info("region={} webhook reset to the configuration file's settings", region);
  }
  co_return getWebhook(region);
}

void ReplayService::webhookAttempt(const std::string& region,
                                   const webhook::AttemptResult& attempt) {
  webhooks_[region].record(attempt, runtime_.clock.nowMillis());
  delivery_.attempt(region, attempt);
  webhooks_dirty_ = true;
}

asio::awaitable<void> ReplayService::flushWebhookStates() {
  std::vector<ForwarderPtr> forwarders;
  for (const auto& [region, forwarder] : forwarders_) forwarders.push_back(forwarder);
  for (const auto& forwarder : forwarders) co_await forwarder->refreshBacklog();
  if (!webhooks_dirty_) co_return;
  webhooks_dirty_ = false;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [region, state] : webhooks_) rows.emplace_back(region, state.serialize());
  auto work = [&store = runtime_.store, rows] {
    for (const auto& [region, text] : rows) {
      auto r = store.putRecord(store::RecordKind::WebhookStatus, region, text);
      if (!r) return r;
    }
    return source::Result<void>{};
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored) spdlog::error("webhook status not stored: {}", stored.error().message());
}

}  // namespace audit::jobs
