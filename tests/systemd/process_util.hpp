#pragma once
// Helpers the systemd tests share: a temp dir, a datagram socket standing in for systemd's
// notify socket, and child processes waited on with deadlines (a pidfd polled with a timeout,
// never a sleep).

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace audit::test {

using Clock = std::chrono::steady_clock;

/** Milliseconds left until `deadline` as poll(2) wants them (0 once it has passed). */
inline int msLeft(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/** A fresh directory under $TMPDIR (or /tmp), removed with everything in it. */
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    // Short base: unix socket paths inside must fit sun_path (108 bytes).
    std::string tmpl =
        std::string(base != nullptr && std::strlen(base) < 40 ? base : "/tmp") + "/audit-sd-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;  // best effort: a leftover temp dir must not fail a test
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline sockaddr_un unixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) throw std::runtime_error("socket path too long");
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

/** A bound AF_UNIX datagram socket: what systemd listens on at $NOTIFY_SOCKET. */
class NotifyListener {
 public:
  explicit NotifyListener(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    const auto addr = unixAddress(path_);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("bind " + path_ + ": " + std::strerror(errno));
    }
  }
  ~NotifyListener() { ::close(fd_); }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  const std::string& path() const { return path_; }

  /** The next datagram, or nullopt if none arrives before `deadline`. */
  std::optional<std::string> receive(Clock::time_point deadline) {
    pollfd p{fd_, POLLIN, 0};
    for (;;) {
      const int rc = ::poll(&p, 1, msLeft(deadline));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return std::nullopt;
      std::string buf(64 * 1024, '\0');
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0) return std::nullopt;
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
  }

  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    return receive(Clock::now() + timeout);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

/**
 * Waits for `pid` to end, at most until `deadline`. @return its wait status, or nullopt on
 * timeout (the child is then still running and still the caller's to kill and reap).
 */
inline std::optional<int> waitForExit(pid_t pid, Clock::time_point deadline) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc = 0;
    do {
      rc = ::poll(&p, 1, msLeft(deadline));
    } while (rc < 0 && errno == EINTR);
    ::close(pidfd);
    if (rc == 0) return std::nullopt;
  }
  // Exited (or a kernel without pidfds, where only a blocking wait is left).
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return std::nullopt;
  }
  return status;
}

/** Kills and reaps a child a failed test left behind. */
inline void killAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

inline std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

struct CommandResult {
  int status = -1;     // wait status; -1 if it did not end in time
  std::string output;  // stdout and stderr together
  bool exitedWith(int code) const {
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == code;
  }
};

/**
 * Runs argv[0] (searched in PATH) with extra environment `env` ("NAME=value"), stdout and
 * stderr captured into `scratch`/command.out, waiting at most `timeout`.
 */
inline CommandResult runCommand(const std::vector<std::string>& argv,
                                const std::filesystem::path& scratch,
                                const std::vector<std::string>& env = {},
                                std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto out_path = scratch / "command.out";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) ::_exit(126);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  CommandResult result;
  if (auto status = waitForExit(pid, Clock::now() + timeout)) {
    result.status = *status;
  } else {
    killAndReap(pid);
  }
  result.output = readFile(out_path);
  return result;
}

/** True if `name` is an executable in PATH. */
inline bool haveProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((std::filesystem::path(dir) / name).c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace audit::test
