// audit-replayctl against the real audit-replayd, when it has been built (skipped before).
// The daemon is started with NOTIFY_SOCKET pointing at our datagram socket, so "ready"
// is its READY=1 (docs/systemd.md), awaited with a deadline; a pidfd tells us if it died instead.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "process.hpp"

namespace audit::ctl::test {
namespace {

std::string daemonBinary() {
  return std::string(AUDIT_BINARY_DIR) + "/daemon/audit-replayd";
}

class RealDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct stat st {};
    if (::stat(daemonBinary().c_str(), &st) != 0) GTEST_SKIP() << "audit-replayd not built";
    char tmpl[] = "/tmp/ctl-real-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/run/control.sock";
    std::filesystem::create_directories(dir_ + "/run");
    // Port 9 (discard) refuses connections: these tests never need the webhook to answer.
    std::ofstream(dir_ + "/config.yaml") << "data_dir: data\n"
                                            "control:\n"
                                            "  socket: run/control.sock\n"
                                            "  spool_dir: spool\n"
                                            "regions:\n"
                                            "  us:\n"
                                            "    webhook:\n"
                                            "      endpoint: http://127.0.0.1:9/audit\n"
                                            "      compression: none\n";
    startDaemon();
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (pidfd_ >= 0) ::close(pidfd_);
    if (notify_fd_ >= 0) ::close(notify_fd_);
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  void startDaemon() {
    std::string notify_path = dir_ + "/notify.sock";
    notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, notify_path.c_str(), notify_path.size() + 1);
    ASSERT_EQ(::bind(notify_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

    std::string binary = daemonBinary(), flag = "--config", config = dir_ + "/config.yaml";
    std::string env_notify = "NOTIFY_SOCKET=" + notify_path, log = dir_ + "/daemon.log";
    char* argv[] = {binary.data(), flag.data(), config.data(), nullptr};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::putenv(env_notify.data());
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    ASSERT_GE(pidfd_, 0);

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      ASSERT_GT(left.count(), 0) << "audit-replayd did not get ready; log:\n" << daemonLog();
      pollfd fds[] = {{notify_fd_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
      ::poll(fds, 2, static_cast<int>(left.count()));
      if (fds[1].revents != 0) {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        FAIL() << "audit-replayd exited; log:\n" << daemonLog();
      }
      if (fds[0].revents != 0) {
        char buffer[4096];
        ssize_t n = ::recv(notify_fd_, buffer, sizeof buffer, 0);
        if (n > 0 && std::string_view(buffer, static_cast<std::size_t>(n)).find("READY=1") !=
                         std::string_view::npos) {
          return;
        }
      }
    }
  }

  std::string daemonLog() {
    std::ifstream in(dir_ + "/daemon.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ProcessResult ctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--socket", socket_});
    return runCtl(args, input);
  }

  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int notify_fd_ = -1;
};

TEST_F(RealDaemonTest, StatsAndPingAnswer) {
  auto r = ctl({"ping"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = ctl({"stats"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("uptime:"), std::string::npos) << r.out;
  r = ctl({"stats", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("ok":true)"), std::string::npos) << r.out;
}

TEST_F(RealDaemonTest, IngestThenReplayAndStatus) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::string events;
  for (int i = 0; i < 3; ++i) {
    events += R"({"rt":)" + std::to_string(now_ms - 2 * 86'400'000 + i) + R"(,"i":)" +
              std::to_string(i) + "}\n";
  }
  auto r = ctl({"ingest", "--region", "us", "-"}, events);
  ASSERT_EQ(r.exit_code, 0) << r.err << daemonLog();
  EXPECT_NE(r.out.find("sent 3 events"), std::string::npos) << r.out;

  r = ctl({"ingest", "--region", "us", "-"}, events + "{\"no_time\":1}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("stdin:4: no rt or event_ts field"), std::string::npos) << r.err;

  // The last hour holds none of those events: the job has nothing to send and completes.
  r = ctl({"replay", "--region", "us", "--since", "1h", "--wait", "--interval", "50ms"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemonLog();
  EXPECT_NE(r.out.find("completed: 0 events"), std::string::npos) << r.out;

  r = ctl({"status", "--region", "us"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status:      completed"), std::string::npos) << r.out;
  r = ctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("us      completed"), std::string::npos) << r.out;

  r = ctl({"replay", "--region", "nowhere", "--since", "1h"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("(code 404)"), std::string::npos) << r.err;
  r = ctl({"cancel", "--region", "us"});
  EXPECT_EQ(r.exit_code, 1);  // already ended: 409
  EXPECT_NE(r.err.find("(code 409)"), std::string::npos) << r.err;
}

TEST_F(RealDaemonTest, LargeFileGoesInSpansOverSeveralConnectionsExactlyOnce) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // 23,456 events: several requests of at most 5000 events, sent over as many connections as
  // there are cores; CRLF endings, blank lines and no '\n' after the last line.
  std::string text;
  constexpr int kEvents = 23'456;
  for (int i = 0; i < kEvents; ++i) {
    text += R"({"rt":)" + std::to_string(now_ms - 3 * 86'400'000 + i) + R"(,"i":)" +
            std::to_string(i) + R"(,"pad":")" + std::string(200, 'p') + "\"}";
    if (i + 1 < kEvents) text += i % 1000 == 0 ? "\r\n\n" : "\n";
  }
  const std::string path = dir_ + "/events.ndjson";
  std::ofstream(path, std::ios::binary) << text;

  auto r = ctl({"ingest", "--region", "us", path});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemonLog();
  EXPECT_EQ(r.out, path +
                       ": sent 23,456 events to region us: 23,456 ingested, 0 duplicates, 0 "
                       "rejected\n");
  r = ctl({"ingest", "--region", "us", path});  // idempotent: every event is a duplicate
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, path +
                       ": sent 23,456 events to region us: 0 ingested, 23,456 duplicates, 0 "
                       "rejected\n");

  // With --skip-invalid the good lines of a file with bad ones are stored, the bad named.
  const std::string mixed_path = dir_ + "/mixed.ndjson";
  std::ofstream(mixed_path, std::ios::binary)
      << R"({"rt":)" << now_ms - 86'400'000
      << "}\n{\"no_time\":1}\n\n{\"rt\":" << now_ms - 86'400'001 << "}\n";
  r = ctl({"ingest", "--region", "us", "--skip-invalid", mixed_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(mixed_path + ":2: no rt or event_ts field"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, mixed_path +
                       ": sent 2 events to region us: 2 ingested, 0 duplicates, 1 "
                       "rejected\n");

  r = ctl({"stats", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("events_ingested":)" + std::to_string(kEvents + 2)), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace audit::ctl::test
