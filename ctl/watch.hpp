#pragma once
// Following a job until it ends: `watch`, and `replay --wait` after it created the job.

#include <chrono>
#include <optional>
#include <string>

#include "common/expected.hpp"
#include "ctl/client.hpp"
#include "ctl/context.hpp"
#include "ctl/job_view.hpp"
#include "ctl/progress.hpp"

namespace audit::ctl {

struct WatchOptions {
  std::string region;
  /** The job to follow; empty = the region's job as first seen. A different id ends the watch. */
  std::string job_id;
  std::chrono::milliseconds interval{500};
  /** Without a terminal (or with --json), how often a line is printed besides the last. */
  std::chrono::milliseconds plain_every{5000};
  /** How long the daemon may stay unreachable (a restart) before we give up with exit 3. */
  std::chrono::milliseconds reconnect_for{30'000};
};

/**
 * Polls get_job every `interval` until the job ends. On a terminal (and without --json) a
 * progress bar is redrawn in place; otherwise a plain line every `plain_every` (a JSON
 * answer with --json), and always the last state. Ends with a one-line outcome.
 * @return 0 completed, 1 failed (or refused, or replaced), 3 unreachable, 130 Ctrl-C.
 */
int watchJob(const Context& ctx, ControlClient& client, const WatchOptions& options);

/** The progress line's values for a job, its rate taken from `meter`. */
ProgressView jobProgressView(const JobView& job, const RateMeter& meter);

/** Parses --interval (default 500 ms); fails when it is not a positive duration. */
Expected<std::chrono::milliseconds> parseInterval(const ParsedArgs& args);

}  // namespace audit::ctl
