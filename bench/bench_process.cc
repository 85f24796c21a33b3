#include "bench/bench_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace audit::bench {
namespace {

constexpr std::size_t kMaxMessage = 64 * 1024;

// Launcher protocol (SOCK_SEQPACKET, one message each way):
//   'S' log_path \0 argv0 \0 argv1 \0 …   →  SpawnReply
//   'R' ReapRequest                          →  ReapReply
struct SpawnReply {
  pid_t pid = -1;
};
struct ReapRequest {
  pid_t pid = -1;
  long deadline_ms = 0;
};
struct ReapReply {
  int exited = 0;
  int exit_code = -1;
  int signal = 0;
  long user_us = 0;
  long system_us = 0;
  long max_rss_kib = 0;
};

int pidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

pid_t startChild(const std::string& log_file, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: output to the log, nothing on stdin, and gone if the launcher goes.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  ::unsetenv("NOTIFY_SOCKET");  // not under systemd, whatever the environment says
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
  ::_exit(127);
}

ReapReply reapChild(const ReapRequest& req) {
  ReapReply reply;
  int pidfd = pidfdOpen(req.pid);
  bool ended = true;
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    ended = ::poll(&p, 1, static_cast<int>(req.deadline_ms)) > 0;
    ::close(pidfd);
  }
  if (!ended) ::kill(req.pid, SIGKILL);
  int status = 0;
  rusage usage{};
  if (::wait4(req.pid, &status, 0, &usage) != req.pid) return reply;
  reply.exited = ended && WIFEXITED(status);
  reply.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  reply.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  reply.user_us = usage.ru_utime.tv_sec * 1'000'000L + usage.ru_utime.tv_usec;
  reply.system_us = usage.ru_stime.tv_sec * 1'000'000L + usage.ru_stime.tv_usec;
  reply.max_rss_kib = usage.ru_maxrss;
  return reply;
}

// The launcher's whole life: serve requests until the benchmark closes its end.
[[noreturn]] void serve(int fd) {
  std::set<pid_t> live;
  std::vector<char> buf(kMaxMessage);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (buf[0] == 'S') {
      std::vector<std::string> parts;
      std::string cur;
      for (ssize_t i = 1; i < n; ++i) {
        if (buf[i] == '\0') {
          parts.push_back(std::move(cur));
          cur.clear();
        } else {
          cur.push_back(buf[i]);
        }
      }
      SpawnReply reply;
      if (parts.size() >= 2) {
        std::string log = parts.front();
        parts.erase(parts.begin());
        reply.pid = startChild(log, std::move(parts));
        if (reply.pid > 0) live.insert(reply.pid);
      }
      (void)::send(fd, &reply, sizeof reply, MSG_NOSIGNAL);
    } else if (buf[0] == 'R' && static_cast<std::size_t>(n) == 1 + sizeof(ReapRequest)) {
      ReapRequest req;
      std::memcpy(&req, buf.data() + 1, sizeof req);
      ReapReply reply = reapChild(req);
      live.erase(req.pid);
      (void)::send(fd, &reply, sizeof reply, MSG_NOSIGNAL);
    }
  }
  // The benchmark ended (or crashed): leave no daemon behind.
  for (pid_t pid : live) {
    ::kill(pid, SIGTERM);
    ReapRequest req{pid, 15'000};
    reapChild(req);
  }
  ::_exit(0);
}

}  // namespace

Launcher Launcher::forkEarly() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    std::perror("socketpair");
    std::exit(1);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    serve(fds[1]);
  }
  ::close(fds[1]);
  return Launcher(fds[0], pid);
}

Launcher::~Launcher() {
  // Closing our end makes the launcher stop any child left and exit. It is our child:
  // reap it so it does not linger as a zombie.
  if (fd_ >= 0) {
    ::close(fd_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

Launcher::Launcher(Launcher&& other) noexcept : fd_(other.fd_), pid_(other.pid_) {
  other.fd_ = -1;
}

pid_t Launcher::spawn(const std::vector<std::string>& argv, const std::filesystem::path& log_file) {
  std::string msg = "S";
  msg += log_file.string();
  msg.push_back('\0');
  for (const auto& a : argv) {
    msg += a;
    msg.push_back('\0');
  }
  if (msg.size() > kMaxMessage) return -1;
  if (::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
    return -1;
  SpawnReply reply;
  if (::recv(fd_, &reply, sizeof reply, 0) != sizeof reply) return -1;
  return reply.pid;
}

ChildUsage Launcher::reap(pid_t pid, std::chrono::milliseconds deadline) {
  char msg[1 + sizeof(ReapRequest)];
  msg[0] = 'R';
  ReapRequest req{pid, static_cast<long>(deadline.count())};
  std::memcpy(msg + 1, &req, sizeof req);
  ChildUsage usage;
  if (::send(fd_, msg, sizeof msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof msg)) return usage;
  ReapReply reply;
  if (::recv(fd_, &reply, sizeof reply, 0) != sizeof reply) return usage;
  usage.exited = reply.exited != 0;
  usage.exit_code = reply.exit_code;
  usage.signal = reply.signal;
  usage.user_s = static_cast<double>(reply.user_us) * 1e-6;
  usage.system_s = static_cast<double>(reply.system_us) * 1e-6;
  usage.max_rss_mib = static_cast<double>(reply.max_rss_kib) / 1024.0;
  return usage;
}

// ---- ProcessWatch ----------------------------------------------------------------------

ProcessWatch::ProcessWatch(pid_t pid) : fd_(pidfdOpen(pid)) {}

ProcessWatch::~ProcessWatch() {
  if (fd_ >= 0) ::close(fd_);
}

bool ProcessWatch::waitExit(std::chrono::milliseconds timeout) const {
  if (fd_ < 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

double liveHighWaterMib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

namespace {

// CPU ticks used so far by the RocksDB background threads of `pid`.
unsigned long long storeThreadTicks(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  unsigned long long ticks = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("rocksdb:", 0) != 0) continue;
    std::ifstream stat(task.path() / "stat");
    std::string text;
    std::getline(stat, text);
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 1; i <= 13 && rest >> field; ++i) {
      if (i == 12) utime = std::stoull(field);
      if (i == 13) stime = std::stoull(field);
    }
    ticks += utime + stime;
  }
  return ticks;
}

}  // namespace

bool waitForQuietStore(pid_t pid, std::chrono::milliseconds quiet,
                       std::chrono::milliseconds deadline) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + deadline;
  unsigned long long last = storeThreadTicks(pid);
  auto since = Clock::now();
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // sampling, not syncing
    const unsigned long long now = storeThreadTicks(pid);
    if (now != last) {
      last = now;
      since = Clock::now();
    } else if (Clock::now() - since >= quiet) {
      return true;
    }
  }
  return false;
}

// ---- ControlClient ---------------------------------------------------------------------

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool ControlClient::connect(const std::filesystem::path& socket) {
  if (fd_ >= 0) ::close(fd_);
  buffer_.clear();
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

std::optional<std::string> ControlClient::readLine(std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;  // timeout: checked above
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return std::nullopt;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<boost::json::object> ControlClient::call(const boost::json::object& request,
                                                       std::chrono::milliseconds deadline) {
  if (fd_ < 0) return std::nullopt;
  std::string line = boost::json::serialize(request) + "\n";
  for (std::size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return std::nullopt;
    off += static_cast<std::size_t>(n);
  }
  auto answer = readLine(deadline);
  if (!answer) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*answer, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

}  // namespace audit::bench
