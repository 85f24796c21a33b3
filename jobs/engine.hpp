#pragma once
// The job engine as every front end sees it: typed requests in, typed results out. The
// operations of docs/cli.md — one replay job per region, ingest, webhook settings, stats —
// with a refusal (status code, one line, the bad fields) where one can fail. JSON is not
// part of it: the protocol codec (api/protocol.hpp) decodes requests and encodes answers
// at the edges, so the control socket, the spool directory, the HTTP API and `jobs:` in the
// config get identical validation and status codes. Runs on the event loop; never throws.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "jobs/body_ingest.hpp"
#include "jobs/delivery_metrics.hpp"
#include "jobs/export.hpp"
#include "jobs/forward_record.hpp"
#include "jobs/job.hpp"
#include "jobs/job_request.hpp"
#include "jobs/webhook_override.hpp"
#include "jobs/webhook_state.hpp"
#include "source/event_source.hpp"

namespace audit::jobs {

/** The region a request names; none: the only configured region (400 with several). */
using RegionName = std::optional<std::string>;

/** PUT a replay job. The times are RFC 3339 text as sent; the engine checks them. */
struct ReplayRequest {
  RegionName region;
  std::optional<std::string> start_at;
  std::optional<std::string> end_at;
  /** The job's own webhook; allowed only by the region's webhook.alternate_endpoints. */
  std::optional<JobWebhook> webhook;
};

/** A region's job as get_job shows it; no record: the region never had one. */
struct JobSnapshot {
  std::string region;
  std::optional<JobRecord> record;
  std::optional<RetryState> retry;
};

/** A region's webhook status (webhook_status). */
struct WebhookStatus {
  std::string region;
  std::optional<config::RegionSettings> settings;  // none: no longer configured
  WebhookState state;
  /** The region's forwarding (docs/forwarding.md); its backlog as of the last second. */
  ForwardStatus forward;
};

/** A region's webhook settings in force (get/patch/reset_webhook). */
struct WebhookSettingsView {
  std::string region;
  config::WebhookSettings webhook;
  bool overridden = false;  // changed over the API
  EpochMillis updated_ms = 0;
};

/** Events as JSON text, stored byte for byte; the views must outlive the call. */
struct IngestRequest {
  RegionName region;
  std::vector<std::string_view> events;
  bool skip_invalid = false;
};

/** One region of the stats. */
struct RegionStats {
  std::string region;
  std::optional<JobRecord> job;
  WebhookStatus webhook;
};

/** What the service has counted since it started. */
struct Totals {
  std::uint64_t events_ingested = 0;
  std::uint64_t events_sent = 0;
  std::uint64_t batches_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t retries = 0;
  std::uint64_t signatures_reused = 0;  // signing.cache: reused instead of made
};

/** Service-wide figures (stats, /metrics). */
struct Stats {
  std::int64_t uptime_seconds = 0;
  Totals totals;
  std::optional<std::uint64_t> signatures_made;    // only with a signing key
  std::optional<std::uint64_t> signatures_stored;  // only with signing.cache
  std::uint64_t store_bytes = 0;
  std::size_t jobs_active = 0;
  std::vector<RegionStats> regions;
  DeliveryMetrics delivery;
};

class Engine {
 public:
  virtual ~Engine() = default;

  /** True once shutdown began: every operation but ping is refused with 503. */
  virtual bool stopping() const = 0;

  /** Starts the region's replay job (202). 409 while its job runs; an accepted or pending
   *  job is replaced. */
  virtual boost::asio::awaitable<Outcome<JobRecord>> putJob(ReplayRequest request) = 0;
  virtual Outcome<JobSnapshot> getJob(const RegionName& region) const = 0;
  /** Cancels an active job and waits until it has stopped; 409 once it ended. */
  virtual boost::asio::awaitable<Outcome<JobRecord>> cancelJob(RegionName region) = 0;
  virtual std::vector<JobRecord> listJobs() const = 0;

  /** The named region's webhook status, or every configured region's without a name. */
  virtual Outcome<std::vector<WebhookStatus>> webhookStatus(const RegionName& region) const = 0;
  virtual Outcome<WebhookSettingsView> getWebhook(const RegionName& region) const = 0;
  /** Lays `changes` (the fields set in it) over the region's webhook, stored first. */
  virtual boost::asio::awaitable<Outcome<WebhookSettingsView>> patchWebhook(
      RegionName region, WebhookOverride changes) = 0;
  virtual boost::asio::awaitable<Outcome<WebhookSettingsView>> resetWebhook(RegionName region) = 0;

  /** Stores events; the report names every rejected one. Atomic unless skip_invalid. */
  virtual boost::asio::awaitable<Outcome<source::IngestReport>> ingest(IngestRequest request) = 0;
  /** Decodes and stores a received body (jobs/body_ingest.hpp); `body` must outlive it. */
  virtual boost::asio::awaitable<Outcome<BodyIngestReport>> ingestBody(
      RegionName region, std::string_view body, BodyIngestOptions options) = 0;

  /** Checks an export (jobs/export.hpp): its region, its range by a replay's rules (no
   *  webhook needed) and its format. Touches no store. */
  virtual Outcome<ExportPlan> planExport(const ExportRequest& request) const = 0;
  /** Sizes and opens a planned export's range over one view of the region's source, off the
   *  loop: 503 when the region's source cannot be had, 500 when the store fails. */
  virtual boost::asio::awaitable<Outcome<OpenedExport>> openExport(ExportPlan plan) = 0;

  /** The region's forwarding, its backlog read now (off the loop). */
  virtual boost::asio::awaitable<Outcome<ForwardStatus>> forwardStatus(RegionName region) = 0;
  /** Pauses the region's forwarding until resumeForward(), across restarts (stored first);
   *  409 when the region does not forward. */
  virtual boost::asio::awaitable<Outcome<ForwardStatus>> pauseForward(RegionName region) = 0;
  /** Ends a pause, the operator's or a non-retryable answer's; 409 when the region does not
   *  forward. */
  virtual boost::asio::awaitable<Outcome<ForwardStatus>> resumeForward(RegionName region) = 0;

  virtual boost::asio::awaitable<Stats> stats() = 0;
  /** Whether the store takes writes now (a real probe, off the loop). */
  virtual boost::asio::awaitable<bool> storeWritable() = 0;
  /** The JWKS document (signing key and extra keys) as JSON text. */
  virtual std::string jwks() const = 0;
};

}  // namespace audit::jobs
