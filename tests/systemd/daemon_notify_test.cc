// The real audit-replayd as systemd runs it (docs/systemd.md): notifications on a notify socket
// bound by the test, the watchdog, SIGTERM, socket activation on fd 3, and the exit codes the
// unit's RestartPreventExitStatus= relies on. Skipped until the daemon binary is built.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/systemd/process_util.hpp"

namespace audit::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kDaemon = fs::path(AUDIT_BINARY_DIR) / "daemon" / "audit-replayd";

constexpr const char* kConfig = R"(data_dir: data
control: {socket: ctl.sock, spool_dir: spool}
regions:
  us:
    webhook: {endpoint: "http://127.0.0.1:9/audit"}
)";

/** A started daemon: its pid and where its stderr goes. Killed and reaped if left running. */
class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() {
    if (pid_ > 0) killAndReap(pid_);
  }

  /**
   * fork + execv as systemd would: NOTIFY_SOCKET, WATCHDOG_USEC/WATCHDOG_PID (the child's own
   * pid, known only after fork) and, with `listen_fd`, the socket at fd 3 with LISTEN_FDS=1.
   */
  void start(const fs::path& config, const fs::path& stderr_file, const std::string& notify,
             std::optional<int> listen_fd = std::nullopt) {
    stderr_file_ = stderr_file;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ != 0) return;

    const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err < 0) ::_exit(126);
    ::dup2(err, STDERR_FILENO);
    ::dup2(err, STDOUT_FILENO);
    for (const char* name : {"JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                             "WATCHDOG_USEC", "WATCHDOG_PID", "NOTIFY_SOCKET"}) {
      ::unsetenv(name);  // whatever the test runner inherited; this child gets only ours
    }
    const std::string self = std::to_string(::getpid());
    if (!notify.empty()) {
      ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
      ::setenv("WATCHDOG_USEC", "1000000", 1);
      ::setenv("WATCHDOG_PID", self.c_str(), 1);
    }
    if (listen_fd) {
      if (*listen_fd != 3 && ::dup2(*listen_fd, 3) != 3) ::_exit(125);
      ::fcntl(3, F_SETFD, 0);  // systemd passes it without close-on-exec
      ::setenv("LISTEN_FDS", "1", 1);
      ::setenv("LISTEN_PID", self.c_str(), 1);
    }
    const std::string path = kDaemon.string();
    const std::string config_arg = config.string();
    char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>("--config"),
                    const_cast<char*>(config_arg.c_str()), nullptr};
    ::execv(argv[0], argv);
    ::_exit(127);
  }

  /** Waits up to `timeout` for the exit; @return the wait status (the pid is then reaped). */
  std::optional<int> waitExit(std::chrono::milliseconds timeout) {
    auto status = waitForExit(pid_, Clock::now() + timeout);
    if (status) pid_ = -1;
    return status;
  }

  pid_t pid() const { return pid_; }
  std::string log() const { return readFile(stderr_file_); }

 private:
  pid_t pid_ = -1;
  fs::path stderr_file_;
};

class DaemonUnderSystemd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kDaemon)) {
      GTEST_SKIP() << kDaemon << " is not built yet; these tests run once it is";
    }
    writeFile(config_, kConfig);
  }

  /**
   * Collects notifications until every one of `wanted` (exact "READY=1", or a prefix ending in
   * '=' such as "STATUS=") was seen or `timeout` passed. @return those not seen.
   */
  std::set<std::string> awaitNotifications(std::set<std::string> wanted,
                                           std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!wanted.empty()) {
      const auto datagram = notify_.receive(deadline);
      if (!datagram) break;
      std::istringstream lines(*datagram);  // one datagram may carry several assignments
      for (std::string line; std::getline(lines, line);) {
        seen_.push_back(line);
        for (auto it = wanted.begin(); it != wanted.end(); ++it) {
          if (line == *it || (it->back() == '=' && line.rfind(*it, 0) == 0)) {
            wanted.erase(it);
            break;
          }
        }
      }
    }
    return wanted;
  }

  std::string diagnostics() const {
    std::string text = "notifications seen:";
    for (const auto& s : seen_) text += " [" + s + "]";
    return text + "\ndaemon stderr:\n" + daemon_.log();
  }

  TempDir dir_;
  fs::path config_ = dir_ / "config.yaml";
  NotifyListener notify_{(dir_ / "notify.sock").string()};
  DaemonProcess daemon_;
  std::vector<std::string> seen_;
};

TEST_F(DaemonUnderSystemd, NotifiesReadyStatusWatchdogThenStopsCleanlyOnSigterm) {
  daemon_.start(config_, dir_ / "stderr.log", notify_.path());

  // Readiness comes once the store is open and the socket listens; WATCHDOG_USEC=1 s means a
  // ping at least every 500 ms.
  const auto missing = awaitNotifications({"READY=1", "STATUS=", "WATCHDOG=1"}, 10s);
  ASSERT_TRUE(missing.empty()) << "missing " << *missing.begin() << "\n" << diagnostics();

  ASSERT_EQ(::kill(daemon_.pid(), SIGTERM), 0);
  EXPECT_TRUE(awaitNotifications({"STOPPING=1"}, 10s).empty()) << diagnostics();
  const auto status = daemon_.waitExit(10s);  // docs/systemd.md: stops within 10 s
  ASSERT_TRUE(status) << "still running 10 s after SIGTERM\n" << diagnostics();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describeStatus(*status) << "\n"
                                                               << diagnostics();
}

/** Sends one JSON line on a unix socket and reads one line back (deadline: 10 s). */
std::string requestLine(const std::string& socket_path, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto addr = unixAddress(socket_path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "connect failed: " + std::string(std::strerror(errno));
  }
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "send failed";
  }
  std::string answer;
  const auto deadline = Clock::now() + 10s;
  while (answer.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, msLeft(deadline)) != 1) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

TEST_F(DaemonUnderSystemd, ServesTheSocketPassedBySocketActivation) {
  // The activated socket sits where the config's control.socket points, as with
  // audit-replayd.socket. The daemon must serve it rather than bind a new one there.
  const auto path = (dir_ / "ctl.sock").string();
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto addr = unixAddress(path);
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  daemon_.start(config_, dir_ / "stderr.log", notify_.path(), listener);
  ::close(listener);  // the daemon holds the only copy now, as after systemd's exec

  const auto missing = awaitNotifications({"READY=1"}, 10s);
  ASSERT_TRUE(missing.empty()) << diagnostics();

  const auto answer = requestLine(path, "{\"op\":\"ping\"}\n");
  EXPECT_NE(answer.find("\"ok\":true"), std::string::npos) << answer << "\n" << diagnostics();
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the daemon replaced the activated socket";

  ASSERT_EQ(::kill(daemon_.pid(), SIGTERM), 0);
  const auto status = daemon_.waitExit(10s);
  ASSERT_TRUE(status) << diagnostics();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describeStatus(*status);
}

TEST_F(DaemonUnderSystemd, ConfigErrorExitsWithCode2AndNeverReady) {
  // RestartPreventExitStatus=2: systemd must not restart a daemon with a bad config.
  writeFile(config_, std::string(kConfig) + "no_such_key: 1\n");
  daemon_.start(config_, dir_ / "stderr.log", notify_.path());
  const auto status = daemon_.waitExit(10s);
  ASSERT_TRUE(status) << diagnostics();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << describeStatus(*status);
  EXPECT_FALSE(awaitNotifications({"READY=1"}, 0ms).empty()) << "READY=1 sent with a bad config";
}

TEST_F(DaemonUnderSystemd, LockedStoreExitsWithCode3) {
  // RestartPreventExitStatus=3: a second daemon on the same data_dir cannot fix that by
  // restarting.
  daemon_.start(config_, dir_ / "stderr.log", notify_.path());
  ASSERT_TRUE(awaitNotifications({"READY=1"}, 10s).empty()) << diagnostics();

  // The second one on the same data_dir, with another control socket.
  const auto second_config = dir_ / "second.yaml";
  writeFile(second_config,
            "data_dir: data\ncontrol: {socket: ctl2.sock, spool_dir: spool2}\n"
            "regions: {us: {webhook: {endpoint: \"http://127.0.0.1:9/audit\"}}}\n");
  DaemonProcess second;
  second.start(second_config, dir_ / "second.log", "");
  const auto status = second.waitExit(10s);
  ASSERT_TRUE(status) << second.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 3)
      << describeStatus(*status) << "\nsecond daemon stderr:\n"
      << second.log() << "\nfirst daemon: " << diagnostics();

  ASSERT_EQ(::kill(daemon_.pid(), SIGTERM), 0);
  EXPECT_TRUE(daemon_.waitExit(10s)) << diagnostics();
}

TEST(ShippedConfig, ExampleConfigPassesCheckConfig) {
  if (!fs::exists(kDaemon)) GTEST_SKIP() << kDaemon << " is not built yet";
  TempDir dir;
  const auto result = runCommand(
      {kDaemon.string(), "--config",
       (fs::path(AUDIT_SOURCE_DIR) / "systemd/config.example.yaml").string(), "--check-config"},
      dir.path(), {}, std::chrono::seconds(30));
  EXPECT_TRUE(result.exitedWith(0)) << result.output;
}

}  // namespace
}  // namespace audit::test
