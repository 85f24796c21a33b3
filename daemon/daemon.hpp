#pragma once
// audit-replayd's life: open the store, resume jobs, serve the control socket, the spool
// directory and the HTTP API, reload on SIGHUP, and stop in order on SIGTERM.

#include <filesystem>

#include "config/config.hpp"
#include "jobs/signing_keys.hpp"

namespace audit::daemon {

/** Exit codes of docs/systemd.md. */
enum ExitCode : int {
  kExitOk = 0,
  kExitJobFailed = 1,
  kExitConfig = 2,
  kExitStore = 3,
};

struct DaemonOptions {
  /** Empty: built-in defaults, no reload source. */
  std::filesystem::path config_file;
  /** Submit `jobs:` and spooled requests, wait for them, exit (docs/cli.md). */
  bool once = false;
};

/** Runs until stopped, with the configuration's keys as loaded. @return the process exit code. */
int runDaemon(const DaemonOptions& options, config::Config config, jobs::SigningKeys keys);

}  // namespace audit::daemon
