#pragma once
// A replay job as stored and as shown (docs/http-api.md). The record is the durable truth: every
// status transition is written (synced) before it is visible, and the checkpoint inside it
// is where a restarted daemon resumes.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::jobs {

// The statuses are the protocol's words (protocol/vocabulary.hpp), shared with the CLI.
using protocol::isActive;
using protocol::JobStatus;
using protocol::parseJobStatus;
using protocol::toString;

struct JobProgress {
  std::uint64_t events_total = 0;
  bool events_total_exact = true;
  std::uint64_t events_sent = 0;
  std::uint64_t batches_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::optional<EpochMillis> last_event_at;
};

struct JobError {
  std::string reason;
  int last_response_code = 0;  // 0: no response was received
};

struct JobRecord {
  std::string id;
  std::string region;
  std::string start_at;  // as requested
  std::string end_at;
  EpochMillis first_ms = 0;  // inclusive range in ms
  EpochMillis last_ms = 0;
  EpochMillis created_ms = 0;
  EpochMillis updated_ms = 0;
  JobStatus status = JobStatus::Accepted;
  JobProgress progress;
  std::optional<JobError> error;
  /** Source position after the last acknowledged batch (opaque; empty = from the start). */
  std::string checkpoint;
  /** The request's own webhook (allowed by webhook.alternate_endpoints); empty: the
   *  region's. Shown in the view without its authorization, which is stored (a resumed
   *  job needs it) but never rendered or logged. */
  std::string webhook_endpoint;
  std::string webhook_authorization;
};

/** While a job's batch waits to be retried. */
struct RetryState {
  std::uint64_t attempt = 0;
  int last_response_code = 0;  // 0: no response was received
  EpochMillis next_attempt_ms = 0;
  std::string reason;
};

/**
 * A region that never had a job, as Konnect shows it: status "unconfigured", id null and the
 * four times "0001-01-01T00:00:00Z".
 */
boost::json::object unconfiguredView(const std::string& region);

/** An RFC 3339 time in UTC ("…Z", milliseconds only when it had a fraction); as is when
 * it does not parse. */
std::string normalizeTime(std::string_view text);

/** The job as shown to users (socket, HTTP, spool results). */
boost::json::object toView(const JobRecord& job);

/** The stored form: the view plus the range in ms and the checkpoint. */
std::string serializeRecord(const JobRecord& job);
std::optional<JobRecord> parseRecord(std::string_view text);

/** A random 128-bit id as 32 hex digits. */
std::string newJobId();

}  // namespace audit::jobs
