#pragma once
// The job engine behind every front end: one job per region, the operations of docs/cli.md,
// webhook status per region, resume after restart. Lives on the event loop thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "daemon/control_api.hpp"
#include "daemon/replay_job.hpp"
#include "daemon/runtime.hpp"
#include "daemon/webhook_override.hpp"
#include "daemon/webhook_state.hpp"

namespace audit::daemon {

class ReplayService final : public ControlApi {
 public:
  explicit ReplayService(Runtime& runtime);

  /** Loads stored jobs and webhook states and resumes jobs left pending or running. */
  boost::asio::awaitable<bool> start(std::string* error);

  boost::asio::awaitable<boost::json::object> execute(boost::json::object request) override;

  /** A received body of events to the store (daemon/body_ingest.cc). */
  boost::asio::awaitable<boost::json::object> ingestBody(boost::json::object request,
                                                         std::string_view body,
                                                         BodyIngestOptions options) override;

  /** Submits the config's `jobs:`; a region whose same job is running or done keeps it. */
  boost::asio::awaitable<void> submitConfiguredJobs();

  /** Call after runtime.config/signer were replaced by a reload. */
  void configurationChanged();

  /** Stops every job at its checkpoint, waits for them, stores webhook states. */
  boost::asio::awaitable<void> shutdown();

  /** Waits until no job is active. @return true when every job seen since start completed. */
  boost::asio::awaitable<bool> waitIdle();

  /** One line for sd_notify STATUS=: "us: running 64000/120000; eu: completed". */
  std::string statusLine() const;
  bool anyActive() const;

  /** Where a region's events are read from: the local store or its Kafka-API log. */
  store::EventSourcePtr sourceFor(const std::string& region);

 private:
  using Object = boost::json::object;
  boost::asio::awaitable<Object> dispatch(Object request);
  boost::asio::awaitable<Object> putJob(const Object& request);
  boost::asio::awaitable<Object> getJob(const Object& request);
  boost::asio::awaitable<Object> cancelJob(const Object& request);
  boost::asio::awaitable<Object> ingest(const Object& request);
  boost::asio::awaitable<Object> stats();
  boost::asio::awaitable<Object> health();
  Object listJobs() const;
  Object webhookStatus(const Object& request) const;
  Object jwks() const;
  Object getWebhook(const Object& request) const;
  boost::asio::awaitable<Object> patchWebhook(const Object& request);
  boost::asio::awaitable<Object> resetWebhook(const Object& request);
  /** runtime_.config = the file's configuration with the API's webhook overrides. */
  void applyOverrides();
  /** Active jobs take changed settings from their next batch. */
  void settingsChanged();

  void launch(const ReplayJobPtr& job);
  void onAttempt(const std::string& region, const webhook::AttemptResult& attempt);
  boost::asio::awaitable<void> flushWebhookStates();
  boost::asio::awaitable<void> flushLoop();

  Runtime& runtime_;
  std::map<std::string, ReplayJobPtr> jobs_;  // the current job of each region
  std::set<std::string> replacing_;           // regions whose job is being replaced
  std::map<std::string, store::EventSourcePtr> kafka_sources_;
  WebhookStates webhooks_;
  std::map<std::string, WebhookOverride> overrides_;   // PATCHed webhooks, by region
  std::shared_ptr<const config::Config> file_config_;  // as loaded, before the overrides
  EpochMillis file_loaded_ms_ = 0;
  bool webhooks_dirty_ = false;
  bool failed_since_start_ = false;
  bool stopping_ = false;
  boost::asio::steady_timer idle_signal_;
  boost::asio::steady_timer flush_timer_;
};

}  // namespace audit::daemon
