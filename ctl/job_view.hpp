#pragma once
// The daemon's job and webhook objects (docs/http-api.md, docs/formats.md) read leniently into
// plain structs, and their renderings: the status table, one job's details, the end-of-job summary.
// Missing fields read as empty or zero, so a newer or older daemon still prints.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

struct JobView {
  std::string id;
  std::string region;
  std::string start_at;
  std::string end_at;
  std::string created_at;
  std::string updated_at;
  /** As the daemon sent it: a job status, or "unconfigured" for a region that never had a
   *  job (shown as is, so a newer daemon's word still prints). */
  std::string status;
  /** The status in the protocol's words; none for "unconfigured" or an unknown word. */
  std::optional<protocol::JobStatus> state;
  std::uint64_t events_total = 0;
  std::uint64_t events_sent = 0;
  std::uint64_t batches_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::string last_event_at;
  std::optional<std::string> error_reason;  // set on a failed job
  std::optional<std::int64_t> last_response_code;

  /** While a batch waits to be retried (the get_job answer's "retry"). */
  struct Retry {
    std::uint64_t attempt = 0;
    std::optional<std::int64_t> last_response_code;
    std::string next_attempt_at;  // RFC 3339
    std::string reason;
  };
  std::optional<Retry> retry;

  bool is(protocol::JobStatus s) const { return state == s; }
  bool ended() const { return state && protocol::hasEnded(*state); }
  bool unconfigured() const { return status == "unconfigured"; }
};

JobView parseJob(const boost::json::object& job);
/** Adds the "retry" member of a get_job answer, if any, to `job`. */
void readRetry(const boost::json::object& answer, JobView& job);
/** "retrying: attempt 3, last response 503, next try in 2s" (`now`: ms since the epoch). */
std::string formatRetry(const JobView::Retry& retry, std::int64_t now_ms);

/** String member or ""; a number is printed, null is "". */
std::string stringField(const boost::json::object& object, std::string_view key);
/** Non-negative integer member or 0 (also from a double or a numeric string). */
std::uint64_t countField(const boost::json::object& object, std::string_view key);

/** "64,000/120,000" ("64,000/?" while the total is unknown). */
std::string formatProgressCount(const JobView& job);
/** "2026-11-20T20:00:00Z .. 2026-11-21T20:00:00Z" */
std::string formatRange(const JobView& job);

/** REGION STATUS PROGRESS RANGE UPDATED, one row per job. */
std::string formatJobTable(const std::vector<JobView>& jobs, EpochMillis now);

/** One job, field per line, including the error of a failed job. */
std::string formatJobDetails(const JobView& job, EpochMillis now);

/** The one-line job summary printed when replay prints or cancel changes a job. */
std::string formatJobLine(const JobView& job);

/**
 * The end-of-watch line: "completed: 120,000 events in 64 batches (39.1 MiB)" or
 * "failed: webhook answered 400 (last response code 400) after 64,000/120,000 events".
 */
std::string formatJobOutcome(const JobView& job);

/** REGION ENABLED STATUS LAST ATTEMPT CODE MESSAGE, from webhook_status objects. */
std::string formatWebhookTable(const std::vector<boost::json::object>& webhooks, EpochMillis now);
std::string formatWebhookDetails(const boost::json::object& webhook, EpochMillis now);

/** The stats object (docs/cli.md) as aligned "name: value" lines, regions last. */
std::string formatStats(const boost::json::object& stats);

}  // namespace audit::ctl
