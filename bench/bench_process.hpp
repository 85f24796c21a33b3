#pragma once
// Child processes for replay_bench: a launcher forked before the benchmark grows, which
// starts the daemon and reaps it with wait4(), and a JSON Lines client of the daemon's
// control socket. Waits are on conditions (a pidfd, a socket) with deadlines, never sleeps.
//
// Why a launcher: Linux records the RSS high-water mark of the address space a process
// leaves at exec() into its ru_maxrss. A daemon forked straight from the benchmark (tens of
// MiB of event bodies, a receiver, RocksDB's allocations) would report at least the
// benchmark's RSS as its own peak. The launcher is forked first thing in main(), so its
// few MiB are the only floor under the daemon's figure.

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace audit::bench {

/** How a child ended, with its resource usage from wait4(). */
struct ChildUsage {
  bool exited = false;  // by itself (not killed after the deadline)
  int exit_code = -1;
  int signal = 0;
  double user_s = 0;
  double system_s = 0;
  double max_rss_mib = 0;  // ru_maxrss
};

/** Starts and reaps children from a small process forked early. Not thread-safe. */
class Launcher {
 public:
  /** Forks the launcher. Call before the process starts threads or allocates much. */
  static Launcher forkEarly();
  ~Launcher();
  Launcher(Launcher&& other) noexcept;
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  /** Starts argv[0] (an absolute path) with stdout and stderr appended to `log_file`.
   *  @return the pid, or -1. */
  pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  /** Waits until `pid` ends (SIGKILL after `deadline`) and returns its wait4() usage. */
  ChildUsage reap(pid_t pid, std::chrono::milliseconds deadline);

 private:
  Launcher(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  int fd_ = -1;
  pid_t pid_ = -1;  // the launcher itself
};

/** Watches a process that is not our child (a pidfd): alive or not, without reaping it. */
class ProcessWatch {
 public:
  explicit ProcessWatch(pid_t pid);
  ~ProcessWatch();
  ProcessWatch(const ProcessWatch&) = delete;
  ProcessWatch& operator=(const ProcessWatch&) = delete;

  /** Blocks until the process ends or `timeout` passes. @return true if it ended. */
  bool waitExit(std::chrono::milliseconds timeout) const;
  bool alive() const { return !waitExit(std::chrono::milliseconds(0)); }

 private:
  int fd_ = -1;
};

/** Peak RSS of a live process so far (VmHWM of /proc/PID/status), in MiB; 0 if unknown. */
double liveHighWaterMib(pid_t pid);

/**
 * Waits until RocksDB's background threads of process `pid` ("rocksdb:low", "rocksdb:high":
 * flushes and compactions) used no CPU for `quiet`, or `deadline` passed. A store just
 * written compacts when it is next opened; a figure taken meanwhile measures the compaction
 * too. @return true when they went quiet.
 */
bool waitForQuietStore(pid_t pid, std::chrono::milliseconds quiet = std::chrono::milliseconds(500),
                       std::chrono::milliseconds deadline = std::chrono::seconds(120));

/** A blocking JSON Lines client of the control socket. */
class ControlClient {
 public:
  ControlClient() = default;
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  /** One connection attempt. @return whether it connected. */
  bool connect(const std::filesystem::path& socket);
  /** Sends one request and reads one answer line; nullopt on I/O failure or timeout. */
  std::optional<boost::json::object> call(const boost::json::object& request,
                                          std::chrono::milliseconds deadline);

 private:
  std::optional<std::string> readLine(std::chrono::milliseconds deadline);
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace audit::bench
