#pragma once
// audit-replayctl's exit codes (docs/cli.md). Scripts branch on them, so they never change.

namespace audit::ctl {

enum ExitCode : int {
  kExitOk = 0,
  /** The job failed (watch, replay --wait), the daemon refused, or verification failed. */
  kExitFailed = 1,
  /** Unknown command or option, missing argument, bad time or duration, unreadable input. */
  kExitUsage = 2,
  /** The control socket cannot be connected to, or the connection broke. */
  kExitUnreachable = 3,
  /** Interrupted by Ctrl-C (128 + SIGINT, as shells report it). */
  kExitInterrupted = 130,
};

}  // namespace audit::ctl
