#include "daemon/systemd.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace audit::daemon::systemd {
namespace {

// sd_notify() answers 0 when NOTIFY_SOCKET is unset (not under systemd) and a negative errno
// when the send fails. A failed notification must never stop the daemon: the worst outcome
// is systemd timing the start or the watchdog out, which it reports itself. Log and go on.
void send(const std::string& message) {
  // unset_environment = 0: the daemon notifies many times over its life (STATUS=, WATCHDOG=1).
  const int rc = sd_notify(0, message.c_str());
  if (rc < 0) {
    spdlog::warn("sd_notify({}) failed: {}; systemd may time out the start or the watchdog",
                 message.substr(0, message.find('=')), std::strerror(-rc));
  }
}

bool parseUnsigned(std::string_view text, unsigned long long& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

}  // namespace

void notifyReady() {
  send("READY=1");
}

void notifyStatus(std::string_view status) {
  // A newline would end the STATUS= assignment and start another one in the datagram, so a
  // multi-line status (one line per job) is flattened to one line.
  std::string message = "STATUS=";
  message.append(status);
  std::replace(message.begin(), message.end(), '\n', ' ');
  send(message);
}

void notifyWatchdog() {
  send("WATCHDOG=1");
}

void notifyStopping() {
  send("STOPPING=1");
}

void notifyReloading() {
  // Type=notify-reload (systemd 253+) matches RELOADING=1 against the moment it sent SIGHUP by
  // MONOTONIC_USEC=; older managers (Debian 12 ships 252) ignore the extra field.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(now.tv_nsec) / 1'000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

std::optional<std::chrono::microseconds> watchdogPingInterval() {
  uint64_t usec = 0;
  // sd_watchdog_enabled checks WATCHDOG_PID against getpid(), so a child that inherited the
  // environment does not think it is the one being watched. unset_environment = 0 keeps the
  // variables for a later call (e.g. after a reload).
  const int rc = sd_watchdog_enabled(0, &usec);
  if (rc < 0) {
    spdlog::warn("WATCHDOG_USEC is malformed ({}); the watchdog will not be pinged",
                 std::strerror(-rc));
    return std::nullopt;
  }
  if (rc == 0 || usec == 0) return std::nullopt;
  // Half the interval, as sd_watchdog_enabled(3) recommends: one late ping or a slow loop turn
  // must not cost the daemon a restart.
  return std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
}

std::vector<int> takeListenFds() {
  // unset_environment = 1: the fds are consumed once; neither a second call nor a process the
  // daemon starts may claim them. sd_listen_fds also checks LISTEN_PID and sets FD_CLOEXEC.
  const int n = sd_listen_fds(1);
  if (n < 0) {
    spdlog::warn("LISTEN_FDS is malformed ({}); creating the control socket instead",
                 std::strerror(-n));
    return {};
  }
  std::vector<int> fds;
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; ++fd) {
    // listening = 1, no path check: the unit decides the path, the daemon serves what it gets.
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) > 0) {
      fds.push_back(fd);
      continue;
    }
    // Only the control socket is socket-activated. Anything else is a unit misconfiguration;
    // close it so it neither leaks nor keeps a port bound behind the operator's back.
    spdlog::warn(
        "socket activation passed fd {} which is not a listening unix stream socket; closing "
        "it (check ListenStream= in audit-replayd.socket)",
        fd);
    ::close(fd);
  }
  return fds;
}

bool stderrIsJournal() {
  // systemd sets JOURNAL_STREAM="<dev>:<inode>" of the stream it connected to stdout/stderr.
  // Comparing it with stderr's identity tells a service's own stderr apart from one that a
  // user redirected (e.g. `audit-replayd ... 2>log` run from a systemd-started shell).
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  const std::string_view value(env);
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  if (!parseUnsigned(value.substr(0, colon), dev) || !parseUnsigned(value.substr(colon + 1), ino)) {
    return false;
  }
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;  // stderr closed: certainly not the journal
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

}  // namespace audit::daemon::systemd
