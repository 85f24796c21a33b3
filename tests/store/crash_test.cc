// kill -9 in the middle of ingesting: everything acknowledged survives, nothing is half there.
//
// The writer must be a separate process. A plain fork() of a process that already ran
// RocksDB would inherit its thread pool's bookkeeping but not its threads, so the child is
// this binary re-executed: the hook below turns it into the writer before gtest starts.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "tests/store/store_fixture.hpp"

extern char** environ;

namespace audit::store::testing {
namespace {

constexpr const char* kDirVar = "AUDIT_STORE_CRASH_WRITER_DIR";
constexpr const char* kFdVar = "AUDIT_STORE_CRASH_WRITER_FD";
constexpr int kEventsPerCall = 50;

std::vector<std::string> eventsOfCall(std::uint64_t call) {
  std::vector<std::string> events;
  for (int i = 0; i < kEventsPerCall; ++i) {
    auto t = static_cast<EpochMillis>(call * 1000 + static_cast<std::uint64_t>(i));
    events.push_back(event(t, "call" + std::to_string(call) + "-" + std::string(200, 'x')));
  }
  return events;
}

// Ingests call after call and a synced record, and acknowledges each call on `fd` once both
// returned. Runs until killed.
[[noreturn]] void runWriter(const char* dir, int fd) {
  auto store = Store::open(StoreOptions{.data_dir = dir}, nullptr);
  if (!store) std::_Exit(2);
  auto us = (*store)->region("us");
  for (std::uint64_t call = 0;; ++call) {
    auto events = eventsOfCall(call);
    std::vector<std::string_view> views(events.begin(), events.end());
    auto report = us->ingest(views, false);
    if (!report || report->ingested != kEventsPerCall) std::_Exit(3);
    if (!(*store)->putRecord(RecordKind::Job, "last", std::to_string(call))) std::_Exit(4);
    if (::write(fd, &call, sizeof call) != sizeof call) std::_Exit(5);
  }
}

[[maybe_unused]] const bool kWriterHook = [] {
  const char* dir = std::getenv(kDirVar);
  const char* fd = std::getenv(kFdVar);
  if (dir != nullptr && fd != nullptr) runWriter(dir, std::atoi(fd));
  return false;
}();

// Reads one ack, waiting until `deadline`. @return false at EOF, on error or timeout.
bool readAck(int fd, std::uint64_t& ack, std::chrono::steady_clock::time_point deadline) {
  std::size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(&ack);
  while (got < sizeof ack) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(fd, bytes + got, sizeof ack - got);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

class CrashTest : public StoreTest {};

TEST_F(CrashTest, KilledWriterLosesNothingAcknowledged) {
  store_.reset();  // the writer owns the directory now
  const std::string data_dir = (dir_.path() / "data").string();

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
  // Built before fork(): the child may only call async-signal-safe functions before exec.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kDirVar) + "=" + data_dir);
  env_strings.push_back(std::string(kFdVar) + "=" + std::to_string(fds[1]));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execve(self, argv, envp.data());
    std::_Exit(127);
  }
  ::close(fds[1]);

  // Let it acknowledge a few dozen calls, then kill it wherever it is.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::int64_t last_ack = -1;
  std::uint64_t ack = 0;
  while (last_ack < 30 && readAck(fds[0], ack, deadline)) last_ack = static_cast<std::int64_t>(ack);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_GE(last_ack, 30) << "writer stopped early, wait status " << status;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // Acks written before the kill are still in the pipe.
  while (readAck(fds[0], ack, deadline)) last_ack = static_cast<std::int64_t>(ack);
  ::close(fds[0]);

  reopen();
  auto us = store_->region("us");
  // Every acknowledged call is complete; the one in flight is all there or not at all.
  for (std::int64_t call = 0; call <= last_ack + 1; ++call) {
    EpochMillis first = call * 1000;
    auto n = us->count({first, first + 999});
    ASSERT_TRUE(n);
    if (call <= last_ack) {
      EXPECT_EQ(*n, std::uint64_t{kEventsPerCall}) << "acknowledged call " << call;
    } else {
      EXPECT_TRUE(*n == 0 || *n == kEventsPerCall) << "in-flight call has " << *n;
    }
  }
  auto record = store_->getRecord(RecordKind::Job, "last");
  ASSERT_TRUE(record && *record);
  std::int64_t recorded = std::stoll(**record);
  EXPECT_TRUE(recorded == last_ack || recorded == last_ack + 1) << recorded << " vs " << last_ack;
  // Re-sending an acknowledged call stores nothing new.
  auto again = ingest(*us, eventsOfCall(static_cast<std::uint64_t>(last_ack)));
  EXPECT_EQ(again.duplicates, std::size_t{kEventsPerCall});
}

}  // namespace
}  // namespace audit::store::testing
