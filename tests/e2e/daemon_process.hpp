#pragma once
// Runs the real audit-replayd (and audit-replayctl) binaries for end-to-end tests: a temp
// folder with a config, the process with its output in a log file, and a JSON Lines
// client of its control socket. Waits are on conditions with deadlines, never sleeps.

#include <signal.h>
#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"

namespace audit::e2e {

using namespace std::chrono_literals;

std::filesystem::path binaryPath(const std::string& relative);  // under the build tree

/** Polls `pred` every few milliseconds until it holds or `deadline` passes. */
bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds deadline);

struct ProcessResult {
  bool exited = false;
  int exit_code = -1;
  int signal = 0;
};

/** A child process with stdout+stderr captured to `log_file`. */
class Process {
 public:
  Process(std::vector<std::string> argv, std::filesystem::path log_file,
          std::vector<std::string> extra_env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);
  /** Waits for exit up to `deadline`; kills with SIGKILL after it. */
  ProcessResult wait(std::chrono::milliseconds deadline = 15s);
  bool running();
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_file_;
  std::optional<ProcessResult> result_;
};

/** Runs a program to completion, capturing stdout (and stderr into `err` if given). */
ProcessResult runProgram(const std::vector<std::string>& argv, std::string* out,
                         std::string* err = nullptr, const std::string& stdin_text = {},
                         std::chrono::milliseconds deadline = 60s);

/**
 * Writes a new Ed25519 private key (PEM, as `signing.key_file` takes it) to `file` with
 * openssl, replacing any key there. Fails with openssl's words.
 */
Expected<> writeEd25519Key(const std::filesystem::path& file);

/** A blocking JSON Lines client of the control socket. */
class ControlClient {
 public:
  explicit ControlClient(const std::filesystem::path& socket);
  ~ControlClient();
  bool connected() const { return fd_ >= 0; }
  /** Sends one raw line (a '\n' is appended) and reads one response line. */
  std::optional<std::string> roundTrip(const std::string& line,
                                       std::chrono::milliseconds deadline = 30s);
  std::optional<boost::json::object> call(const boost::json::object& request,
                                          std::chrono::milliseconds deadline = 30s);
  void sendRaw(const std::string& bytes);
  /** True when the daemon closed the connection (read returns 0). */
  bool closedByPeer(std::chrono::milliseconds deadline = 5s);

 private:
  std::optional<std::string> readLine(std::chrono::milliseconds deadline);
  int fd_ = -1;
  std::string buffer_;
};

/** A temp folder with a config file, a data dir and a socket; starts/stops the daemon. */
class DaemonFixture {
 public:
  DaemonFixture();
  ~DaemonFixture();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path socket() const { return dir_ / "run" / "control.sock"; }
  std::filesystem::path spool() const { return dir_ / "spool"; }
  std::filesystem::path configFile() const { return dir_ / "config.yaml"; }

  /**
   * Writes config.yaml: the common part (data_dir, control) followed by `regions_yaml`,
   * which holds `regions:` and anything else (jobs:, http:, signing:).
   */
  void writeConfig(const std::string& regions_yaml);

  /** Starts audit-replayd and waits until the control socket answers ping. */
  bool start(std::vector<std::string> extra_args = {});
  /** Starts without waiting (for --once and failure cases). */
  void launch(std::vector<std::string> extra_args = {});
  /**
   * Like launch(), with `wrapper` in front of the daemon's command line, e.g.
   * {"/usr/bin/prlimit", "--fsize=262144", "--"}: runs `wrapper... audit-replayd --config …`.
   */
  void launchWrapped(const std::vector<std::string>& wrapper,
                     std::vector<std::string> extra_args = {});
  /** Every launch's output so far (daemon-1.log, daemon-2.log, …), concatenated. */
  std::string allLogs() const;
  Process& process() { return *process_; }
  /** True once launch() has started a process (which may have ended since). */
  bool launched() const { return process_ != nullptr; }
  ProcessResult stop(int sig = SIGTERM, std::chrono::milliseconds deadline = 15s);
  void kill9();

  std::optional<boost::json::object> call(const boost::json::object& request);
  /** Ingests NDJSON lines into a region through the socket; returns the answer. */
  boost::json::object ingest(const std::string& region, const std::vector<std::string>& lines);
  /** The region's job's retry state (get_job's "retry"), while it waits to retry a batch. */
  std::optional<boost::json::object> retryState(const std::string& region);
  /** Polls get_job until the status is completed or failed. */
  std::optional<boost::json::object> waitJobEnded(const std::string& region,
                                                  std::chrono::milliseconds deadline = 60s);
  std::string log() const { return process_ ? process_->log() : std::string(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Process> process_;
  int launches_ = 0;
};

/** "2026-11-20T20:00:00.123Z" for ms since the epoch. */
std::string isoMillis(std::int64_t ms);
/** A small event with `rt` and a marker field, compact JSON. */
std::string makeEvent(std::int64_t rt_ms, const std::string& marker);
/** Milliseconds since the epoch, now. */
std::int64_t nowMs();

}  // namespace audit::e2e
