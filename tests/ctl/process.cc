#include "process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace audit::ctl::test {

namespace {

using Clock = std::chrono::steady_clock;

// argv for execv, built before fork: the child may only make async-signal-safe calls.
std::vector<char*> argvOf(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int waitExit(pid_t pid, bool killed) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (killed || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

int millisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

}  // namespace

std::string ctlBinary() {
  return std::string(AUDIT_BINARY_DIR) + "/ctl/audit-replayctl";
}

ProcessResult runCtl(const std::vector<std::string>& args, const std::string& input,
                     std::chrono::seconds deadline) {
  std::vector<std::string> argv{ctlBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return runProgram(argv, input, deadline);
}

ProcessResult runProgram(const std::vector<std::string>& args, const std::string& input,
                         std::chrono::seconds deadline_in) {
  // A child that exits before reading all its input must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return {};
  }
  auto argv = argvOf(args);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);

  ProcessResult result;
  auto deadline = Clock::now() + deadline_in;
  std::size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  int out_fd = out[0], err_fd = err[0];
  bool killed = false;
  while (out_fd >= 0 || err_fd >= 0) {
    std::vector<pollfd> fds;
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    if (out_fd >= 0) fds.push_back({out_fd, POLLIN, 0});
    if (err_fd >= 0) fds.push_back({err_fd, POLLIN, 0});
    int left = millisLeft(deadline);
    if (left == 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      ADD_FAILURE() << "audit-replayctl did not finish in time";
      break;
    }
    if (::poll(fds.data(), fds.size(), left) <= 0) continue;
    for (auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == in_fd) {
        ssize_t n = ::write(in_fd, input.data() + written,
                            std::min<std::size_t>(input.size() - written, 65536));
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buffer[65536];
      ssize_t n = ::read(p.fd, buffer, sizeof buffer);
      std::string& sink = p.fd == out_fd ? result.out : result.err;
      if (n > 0) {
        sink.append(buffer, static_cast<std::size_t>(n));
      } else {
        ::close(p.fd);
        (p.fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  result.exit_code = waitExit(pid, killed);
  return result;
}

ProcessResult runCtlInPty(const std::vector<std::string>& args, int columns,
                          std::chrono::seconds deadline_in) {
  std::vector<std::string> all{ctlBinary()};
  all.insert(all.end(), args.begin(), args.end());
  auto argv = argvOf(all);
  winsize size{};
  size.ws_row = 24;
  size.ws_col = static_cast<unsigned short>(columns);
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return {};
  }
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ProcessResult result;
  auto deadline = Clock::now() + deadline_in;
  bool killed = false;
  for (;;) {
    int left = millisLeft(deadline);
    if (left == 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      ADD_FAILURE() << "audit-replayctl did not finish in time";
      break;
    }
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) continue;
    char buffer[65536];
    ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n > 0) {
      result.out.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO: the child closed its side of the terminal
    }
  }
  ::close(master);
  result.exit_code = waitExit(pid, killed);
  return result;
}

}  // namespace audit::ctl::test
