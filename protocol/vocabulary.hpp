#pragma once
// The words of the control protocol (docs/cli.md) that the daemon and audit-replayctl share:
// the operations by their wire names and a job's statuses. One definition on each side of
// the socket, so neither spells them by hand.

#include <optional>
#include <string_view>

namespace audit::protocol {

/** The operations of the socket protocol. */
enum class Op {
  PutJob,
  GetJob,
  CancelJob,
  ListJobs,
  WebhookStatus,
  GetWebhook,
  PatchWebhook,
  ResetWebhook,
  ForwardStatus,
  ForwardPause,
  ForwardResume,
  Ingest,
  IngestRaw,  // a header line, then raw NDJSON bytes
  Export,     // a range streamed as encoded lines
  Stats,
  Health,
  Jwks,
  Ping,
};

/** "put_job", "get_job", … */
std::string_view toString(Op op);
std::optional<Op> parseOp(std::string_view name);

/** accepted → pending → running → completed | failed */
enum class JobStatus { Accepted, Pending, Running, Completed, Failed };

/** "accepted", "pending", … */
std::string_view toString(JobStatus status);
std::optional<JobStatus> parseJobStatus(std::string_view name);

inline bool isActive(JobStatus s) {
  return s == JobStatus::Accepted || s == JobStatus::Pending || s == JobStatus::Running;
}
inline bool hasEnded(JobStatus s) {
  return s == JobStatus::Completed || s == JobStatus::Failed;
}

}  // namespace audit::protocol
