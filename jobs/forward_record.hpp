#pragma once
// Forwarding's durable position and what an operator sees of it (docs/forwarding.md).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "jobs/job.hpp"

namespace audit::jobs {

enum class ForwardState {
  Following,   // delivering events as they arrive
  CatchingUp,  // delivering events that waited (an outage, a restart, a start in the past)
  Retrying,    // a batch waits to be retried: the webhook does not take it now
  Paused,      // by the operator, or by a non-retryable answer until resume or a reload
  Disabled,    // forward.enabled is off, or the region cannot forward
};
std::string_view toString(ForwardState state);

/** What is stored per region (the record kind Forward), at least once a second while moving. */
struct ForwardRecord {
  std::string position;  // the event source's arrival position: everything up to it was delivered
  std::optional<EpochMillis> last_forwarded_at;  // time of the last event delivered
  std::uint64_t events_forwarded = 0;
  std::uint64_t batches_forwarded = 0;
  std::uint64_t gap_events = 0;  // removed by retention before they were forwarded
  std::optional<EpochMillis> gap_first_at;
  std::optional<EpochMillis> gap_last_at;
  bool paused_by_operator = false;
  EpochMillis updated_ms = 0;
};
std::string serializeForward(const ForwardRecord& record);
std::optional<ForwardRecord> parseForward(std::string_view text);

/** A region's forwarding as forward_status, the webhook status and /metrics show it. */
struct ForwardStatus {
  std::string region;
  ForwardState state = ForwardState::Disabled;
  std::string reason;  // empty: none
  ForwardRecord record;
  std::uint64_t backlog_events = 0;  // stored and not yet delivered
  double lag_seconds = 0;            // how long the oldest of them has waited; 0 without backlog
  std::optional<RetryState> retry;   // while a batch waits to be retried
};

}  // namespace audit::jobs
