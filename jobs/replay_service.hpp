#pragma once
// The job engine behind every front end: one job per region, the operations of docs/cli.md,
// webhook status per region, resume after restart. Lives on the event loop thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "jobs/delivery_metrics.hpp"
#include "jobs/engine.hpp"
#include "jobs/forward_job.hpp"
#include "jobs/job_observer.hpp"
#include "jobs/replay_job.hpp"
#include "jobs/runtime.hpp"
#include "jobs/source_registry.hpp"
#include "jobs/webhook_override.hpp"
#include "jobs/webhook_state.hpp"

namespace audit::jobs {

class ReplayService final : public Engine, private JobObserver {
 public:
  explicit ReplayService(Runtime& runtime);

  /** Loads stored jobs and webhook states and resumes jobs left pending or running. */
  boost::asio::awaitable<Expected<>> start();

  // Engine
  bool stopping() const override { return stopping_; }
  boost::asio::awaitable<Outcome<JobRecord>> putJob(ReplayRequest request) override;
  Outcome<JobSnapshot> getJob(const RegionName& region) const override;
  boost::asio::awaitable<Outcome<JobRecord>> cancelJob(RegionName region) override;
  std::vector<JobRecord> listJobs() const override;
  Outcome<std::vector<WebhookStatus>> webhookStatus(const RegionName& region) const override;
  Outcome<WebhookSettingsView> getWebhook(const RegionName& region) const override;
  boost::asio::awaitable<Outcome<WebhookSettingsView>> patchWebhook(
      RegionName region, WebhookOverride changes) override;
  boost::asio::awaitable<Outcome<WebhookSettingsView>> resetWebhook(RegionName region) override;
  boost::asio::awaitable<Outcome<source::IngestReport>> ingest(IngestRequest request) override;
  boost::asio::awaitable<Outcome<BodyIngestReport>> ingestBody(RegionName region,
                                                               std::string_view body,
                                                               BodyIngestOptions options) override;
  Outcome<ExportPlan> planExport(const ExportRequest& request) const override;
  boost::asio::awaitable<Outcome<OpenedExport>> openExport(ExportPlan plan) override;
  boost::asio::awaitable<Outcome<ForwardStatus>> forwardStatus(RegionName region) override;
  boost::asio::awaitable<Outcome<ForwardStatus>> pauseForward(RegionName region) override;
  boost::asio::awaitable<Outcome<ForwardStatus>> resumeForward(RegionName region) override;
  boost::asio::awaitable<Stats> stats() override;
  boost::asio::awaitable<bool> storeWritable() override;
  std::string jwks() const override;

  /** Submits the config's `jobs:`; a region whose same job is running or done keeps it. */
  boost::asio::awaitable<void> submitConfiguredJobs();

  /** Call after runtime.config/signer were replaced by a reload. */
  void configurationChanged();

  /** Stores the webhook states changed since the last call, and reads how much waits to be
   *  forwarded (the backlog the webhook status and /metrics show). They change with every
   *  attempt, and storing them synced each time would cost an fsync per batch: the daemon's
   *  housekeeping calls this once a second, shutdown once more. */
  boost::asio::awaitable<void> flushWebhookStates();

  /** Stops every job at its checkpoint, waits for them, stores webhook states. */
  boost::asio::awaitable<void> shutdown();

  /** Waits until no job is active. @return true when every job seen since start completed. */
  boost::asio::awaitable<bool> waitIdle();

  /** One line for sd_notify STATUS=: "us: running 64000/120000; eu: completed". */
  std::string statusLine() const;
  bool anyActive() const;

 private:
  static Refusal shuttingDown();
  /** The status of `region`'s webhook (of the configuration in force). */
  WebhookStatus webhookStatusOf(const std::string& region) const;
  /** runtime_.config = the file's configuration with the API's webhook overrides. */
  void applyOverrides();
  /** Active jobs take changed settings from their next batch. */
  void settingsChanged();

  void launch(const ReplayJobPtr& job);

  /** Starts forwarding where the configuration enables it and stops it where it no longer
   *  does; running forwarders take changed settings from their next batch. */
  void reconcileForwarders();
  void launch(const ForwarderPtr& forwarder);
  /** Events were stored for `region`: its forwarder looks for them now. */
  void wakeForwarder(const std::string& region);
  /** The region's forwarding as shown; disabled when it has no forwarder. */
  ForwardStatus forwardStatusOf(const std::string& region) const;
  /** The forwarder of a named region, or the refusal (400, 404, 409). */
  Outcome<ForwarderPtr> forwarderFor(const RegionName& region) const;

  // JobObserver: what the jobs report, kept for the webhook status, stats and /metrics.
  void webhookAttempt(const std::string& region, const webhook::AttemptResult& attempt) override;
  void retrySent(const std::string& region) override;
  void batchDelivered(const std::string& region, const DeliveredBatch& batch) override;
  void signaturesReused(std::uint64_t count) override;

  Runtime& runtime_;
  Totals counters_;                                 // loop thread only
  DeliveryMetrics delivery_;                        // per region
  std::map<std::string, ReplayJobPtr> jobs_;        // the current job of each region
  std::set<std::string> replacing_;                 // regions whose job is being replaced
  std::map<std::string, ForwarderPtr> forwarders_;  // regions with forward.enabled
  std::vector<ForwarderPtr> retiring_;              // stopped, still storing their position
  SourceRegistry sources_;
  WebhookStates webhooks_;
  std::map<std::string, WebhookOverride> overrides_;   // PATCHed webhooks, by region
  std::shared_ptr<const config::Config> file_config_;  // as loaded, before the overrides
  EpochMillis file_loaded_ms_ = 0;
  bool webhooks_dirty_ = false;
  bool failed_since_start_ = false;
  bool stopping_ = false;
  boost::asio::steady_timer idle_signal_;
};

}  // namespace audit::jobs
