// The sd_notify wrappers, the watchdog interval, socket activation and JOURNAL_STREAM, each
// against what systemd would do: a real notify socket bound by the test, real fds at 3.

#include "daemon/systemd.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>

#include "tests/systemd/process_util.hpp"

namespace audit::daemon::systemd {
namespace {

using audit::test::NotifyListener;
using audit::test::TempDir;
using namespace std::chrono_literals;

/**
 * Sets (or with nullopt, unsets) an environment variable for one test and restores the
 * previous value after it, so the tests pass also when ctest itself runs under systemd.
 */
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class Notify : public ::testing::Test {
 protected:
  TempDir dir_;
  NotifyListener listener_{(dir_ / "notify.sock").string()};
  ScopedEnv env_{"NOTIFY_SOCKET", listener_.path()};
};

TEST_F(Notify, ReadySendsReady) {
  notifyReady();
  EXPECT_EQ(listener_.receive(5s), "READY=1");
}

TEST_F(Notify, StatusIsFlattenedToOneLine) {
  notifyStatus("2 jobs running\nus: 640/1200 events");
  EXPECT_EQ(listener_.receive(5s), "STATUS=2 jobs running us: 640/1200 events");
}

TEST_F(Notify, WatchdogAndStopping) {
  notifyWatchdog();
  EXPECT_EQ(listener_.receive(5s), "WATCHDOG=1");
  notifyStopping();
  EXPECT_EQ(listener_.receive(5s), "STOPPING=1");
}

TEST_F(Notify, ReloadingCarriesMonotonicTimeOfNow) {
  timespec before{};
  clock_gettime(CLOCK_MONOTONIC, &before);
  notifyReloading();
  timespec after{};
  clock_gettime(CLOCK_MONOTONIC, &after);

  const auto message = listener_.receive(5s);
  ASSERT_TRUE(message);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(message->substr(0, prefix.size()), prefix) << *message;
  const auto usec = std::stoull(message->substr(prefix.size()));
  const auto toUsec = [](const timespec& t) {
    return static_cast<unsigned long long>(t.tv_sec) * 1'000'000ULL +
           static_cast<unsigned long long>(t.tv_nsec) / 1'000ULL;
  };
  EXPECT_GE(usec, toUsec(before));
  EXPECT_LE(usec, toUsec(after));
}

TEST(NotifyWithoutSystemd, IsANoOp) {
  // Run by hand (no NOTIFY_SOCKET): nothing to send, nothing to fail.
  ScopedEnv env("NOTIFY_SOCKET", std::nullopt);
  notifyReady();
  notifyStatus("idle");
  notifyWatchdog();
  notifyReloading();
  notifyStopping();
}

TEST(NotifyToMissingSocket, DoesNotThrow) {
  // systemd gone mid-run: the send fails and is only logged.
  TempDir dir;
  ScopedEnv env("NOTIFY_SOCKET", (dir / "nobody-listens.sock").string());
  notifyReady();
  notifyStopping();
}

TEST(Watchdog, PingsAtHalfTheInterval) {
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()));
  EXPECT_EQ(watchdogPingInterval(), std::chrono::microseconds(1'000'000));
  // The environment is kept: asked again (e.g. after a reload), the answer is the same.
  EXPECT_EQ(watchdogPingInterval(), std::chrono::microseconds(1'000'000));
}

TEST(Watchdog, OffForAnotherProcess) {
  // WATCHDOG_PID names the service's main process; a child that inherited it is not watched.
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid() + 1));
  EXPECT_EQ(watchdogPingInterval(), std::nullopt);
}

TEST(Watchdog, OffWithoutWatchdogUsec) {
  ScopedEnv usec("WATCHDOG_USEC", std::nullopt);
  EXPECT_EQ(watchdogPingInterval(), std::nullopt);
}

TEST(Watchdog, OffWhenMalformed) {
  ScopedEnv usec("WATCHDOG_USEC", "soon");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()));
  EXPECT_EQ(watchdogPingInterval(), std::nullopt);
}

// ---- socket activation ----------------------------------------------------------------------
// Each case runs in a forked child: it rearranges fd 3 and LISTEN_* as systemd would before
// exec, which must not leak into the test process. The child reports by exit code; 0 = pass.

int runInChild(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  const auto status = audit::test::waitForExit(pid, audit::test::Clock::now() + 30s);
  if (!status) {
    audit::test::killAndReap(pid);
    return -1;
  }
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

/** Puts a new socket of `type` (listening if `listen`) at fd 3, as systemd passes it. */
bool socketAtFd3(int type, bool listen, const std::string& path) {
  const int fd = ::socket(AF_UNIX, type, 0);
  if (fd < 0) return false;
  const auto addr = audit::test::unixAddress(path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) return false;
  if (listen && ::listen(fd, 16) != 0) return false;
  if (fd != 3) {
    if (::dup2(fd, 3) != 3) return false;
    ::close(fd);
  }
  return true;
}

TEST(ListenFds, TakesAListeningUnixStreamSocketOnce) {
  TempDir dir;
  const auto path = (dir / "control.sock").string();
  EXPECT_EQ(
      runInChild([&] {
        if (!socketAtFd3(SOCK_STREAM, true, path)) return 10;
        ::setenv("LISTEN_FDS", "1", 1);
        ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        const auto fds = takeListenFds();
        if (fds != std::vector<int>{3}) return 11;
        // Consumed: the environment is gone, so neither a second call nor a process the
        // daemon starts claims the socket.
        if (std::getenv("LISTEN_FDS") != nullptr || std::getenv("LISTEN_PID") != nullptr) {
          return 12;
        }
        if (!takeListenFds().empty()) return 13;
        // Close-on-exec now set, and the fd still a working listener.
        if ((::fcntl(3, F_GETFD) & FD_CLOEXEC) == 0) return 14;
        int accepting = 0;
        socklen_t len = sizeof(accepting);
        if (::getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || accepting != 1) {
          return 15;
        }
        return 0;
      }),
      0);
}

TEST(ListenFds, IgnoresFdsMeantForAnotherProcess) {
  TempDir dir;
  const auto path = (dir / "control.sock").string();
  EXPECT_EQ(runInChild([&] {
              if (!socketAtFd3(SOCK_STREAM, true, path)) return 10;
              ::setenv("LISTEN_FDS", "1", 1);
              ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
              if (!takeListenFds().empty()) return 11;
              if (::fcntl(3, F_GETFD) < 0) return 12;  // not ours to close
              return 0;
            }),
            0);
}

TEST(ListenFds, ClosesASocketOfTheWrongKind) {
  TempDir dir;
  const auto path = (dir / "dgram.sock").string();
  EXPECT_EQ(runInChild([&] {
              if (!socketAtFd3(SOCK_DGRAM, false, path)) return 10;
              ::setenv("LISTEN_FDS", "1", 1);
              ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
              if (!takeListenFds().empty()) return 11;
              if (::fcntl(3, F_GETFD) >= 0 || errno != EBADF) return 12;
              return 0;
            }),
            0);
}

TEST(ListenFds, NoneWithoutSocketActivation) {
  ScopedEnv fds("LISTEN_FDS", std::nullopt);
  EXPECT_TRUE(takeListenFds().empty());
}

// ---- JOURNAL_STREAM -------------------------------------------------------------------------

std::string streamIdOf(int fd, long inode_delta = 0) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + inode_delta);
}

TEST(JournalStream, MatchesStderr) {
  ScopedEnv env("JOURNAL_STREAM", streamIdOf(STDERR_FILENO));
  EXPECT_TRUE(stderrIsJournal());
}

TEST(JournalStream, OtherStreamIsNotTheJournal) {
  // e.g. `audit-replayd 2>file` from a shell that systemd started: the variable is inherited
  // but stderr is no longer the journal's stream.
  ScopedEnv env("JOURNAL_STREAM", streamIdOf(STDERR_FILENO, 1));
  EXPECT_FALSE(stderrIsJournal());
}

TEST(JournalStream, MalformedOrAbsentIsNotTheJournal) {
  {
    ScopedEnv env("JOURNAL_STREAM", "garbage");
    EXPECT_FALSE(stderrIsJournal());
  }
  {
    ScopedEnv env("JOURNAL_STREAM", streamIdOf(STDERR_FILENO) + "x");
    EXPECT_FALSE(stderrIsJournal());
  }
  {
    ScopedEnv env("JOURNAL_STREAM", ":");
    EXPECT_FALSE(stderrIsJournal());
  }
  ScopedEnv env("JOURNAL_STREAM", std::nullopt);
  EXPECT_FALSE(stderrIsJournal());
}

}  // namespace
}  // namespace audit::daemon::systemd
