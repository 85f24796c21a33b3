// End-to-end process faults: `kill -9` of the real audit-replayd at points of a job chosen by
// fixed seeds and at each job transition, then restart; and disk errors (a data_dir that is
// not a directory, a read-only data_dir, a disk that fills up while a job runs), then a
// normal restart on the same data. In every case nothing of the replayed range may be
// missing at the webhook (docs/http-api.md: at-least-once, resume from the last durable
// checkpoint).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "tests/e2e/fault_webhook.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kEvents = 3000;
constexpr int kBatch = 50;  // 60 batches per pass

/** Kills the daemon from the receiver's I/O thread while it answers request `at`. */
class Killer {
 public:
  void arm(pid_t pid, std::size_t at) {
    at_ = at;
    fired_ = false;
    pid_ = pid;
  }
  void disarm() { pid_ = -1; }
  bool fired() const { return fired_; }
  /** From the plan: true when this request was the kill point (the daemon is then gone). */
  bool maybeKill(const Arrival& a) { return a.n >= at_.load() && fire(); }
  /** Kills now if armed (once). */
  bool fire() {
    const pid_t pid = pid_.exchange(-1);
    if (pid <= 0) return false;
    ::kill(pid, SIGKILL);
    fired_ = true;
    return true;
  }

 private:
  std::atomic<pid_t> pid_{-1};
  std::atomic<std::size_t> at_{0};
  std::atomic<bool> fired_{false};
};

enum class KillPoint {
  WhileAnswering,  // inside the receiver, before the 2xx of request k is written
  AnswerCounted,   // as soon as the receiver has counted the 2xx of request k
  AckTaken,        // as soon as the daemon shows the batch as sent (its checkpoint moment)
};

const char* toString(KillPoint p) {
  switch (p) {
    case KillPoint::WhileAnswering:
      return "while-answering";
    case KillPoint::AnswerCounted:
      return "answer-counted";
    default:
      return "ack-taken";
  }
}

class Kill9E2E : public ::testing::Test {
 protected:
  void SetUp() override {
    hook_.setPlan([this](const Arrival& a) {
      // The killed daemon never sees an answer; the receiver must not count one either.
      if (killer_.maybeKill(a)) return fault(sink::Reply::Kind::CloseWithoutAnswer);
      return answer(200, {}, {}, milliseconds(25));  // a pass of 60 batches takes > 1.5 s
    });
    RegionSettings settings;
    settings.max_events = kBatch;
    daemon_.writeConfig(usRegionYaml(hook_.url(), settings));
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    start_ = nowMs() - 3'600'000;
    events_ = rangeEvents(start_, kEvents, "crash-");
    ASSERT_TRUE(ingestAll(daemon_, events_));
  }

  void TearDown() override { killer_.disarm(); }

  json::object putRange() { return putJob(daemon_, start_, start_ + kEvents - 1); }

  std::optional<json::object> job() {
    auto answer = daemon_.call({{"op", "get_job"}, {"region", "us"}});
    if (!answer || !answer->at("ok").as_bool()) return std::nullopt;
    return answer->at("job").as_object();
  }
  bool jobEnded() {
    auto j = job();
    return j &&
           (j->at("status").as_string() == "completed" || j->at("status").as_string() == "failed");
  }
  std::int64_t batchesSent() {
    auto j = job();
    return j ? j->at("progress").at("batches_sent").as_int64() : -1;
  }

  /**
   * Kills the daemon `k` requests (or, for AckTaken, `k` batches) from now at `point`.
   * @return false when the job ended before that point was reached (no kill).
   */
  bool killAt(KillPoint point, std::size_t k) {
    killed_at_.push_back(std::string(toString(point)) + "+" + std::to_string(k));
    switch (point) {
      case KillPoint::WhileAnswering: {
        killer_.arm(daemon_.process().pid(), hook_.arrivals().size() + k);
        bool reached = waitUntil([&] { return killer_.fired() || jobEnded(); }, 60s);
        if (!killer_.fired()) {
          killer_.disarm();
          EXPECT_TRUE(reached);
          return false;
        }
        auto result = daemon_.process().wait(10s);
        EXPECT_EQ(result.signal, SIGKILL);
        return true;
      }
      case KillPoint::AnswerCounted: {
        const auto target = hook_.receiver().stats().accepted + k + 1;
        bool reached = waitUntil(
            [&] { return hook_.receiver().stats().accepted >= target || jobEnded(); }, 60s);
        EXPECT_TRUE(reached);
        if (hook_.receiver().stats().accepted < target) return false;
        daemon_.kill9();
        return true;
      }
      case KillPoint::AckTaken: {
        const auto target =
            std::max<std::int64_t>(batchesSent(), 0) + static_cast<std::int64_t>(k) + 1;
        std::int64_t sent = 0;
        bool reached = waitUntil(
            [&] {
              sent = batchesSent();
              return sent >= target || jobEnded();
            },
            60s);
        EXPECT_TRUE(reached);
        if (sent < target) return false;
        daemon_.kill9();
        return true;
      }
    }
    return false;
  }

  void restart() { ASSERT_TRUE(daemon_.start()) << daemon_.log(); }

  /** Where each restart resumed: events_sent of the last durable checkpoint, from the log. */
  std::vector<std::int64_t> resumePoints() const {
    std::vector<std::int64_t> out;
    const std::string log = daemon_.allLogs();
    for (auto at = log.find("resuming job"); at != std::string::npos;
         at = log.find("resuming job", at + 1)) {
      auto sent = log.find("events_sent=", at);
      if (sent != std::string::npos) out.push_back(std::atoll(log.c_str() + sent + 12));
    }
    return out;
  }

  /** Waits for the end of the job and checks the promise: completed, 0 events lost. */
  void expectCompletedWithNothingLost() {
    auto job = daemon_.waitJobEnded("us", 60s);
    ASSERT_TRUE(job) << daemon_.log();
    EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
    EXPECT_EQ(job->at("progress").at("events_total").as_int64(), kEvents) << json::serialize(*job);
    EXPECT_EQ(job->at("progress").at("events_sent").as_int64(), kEvents) << json::serialize(*job);
    auto accepted = hook_.receiver().acceptedEvents();
    EXPECT_TRUE(nothingMissing(accepted, events_));  // 0 lost
    EXPECT_TRUE(requestsWellFormed(hook_.receiver().requests()));
    std::string points;
    for (const auto& p : killed_at_) points += p + " ";
    RecordProperty("kill_points", points);
    RecordProperty("events_sent_again", static_cast<int>(accepted.size() - events_.size()));
    std::string resumed;
    for (auto sent : resumePoints()) resumed += std::to_string(sent) + " ";
    RecordProperty("resumed_from_events_sent", resumed);
    EXPECT_EQ(daemon_.stop().exit_code, 0) << daemon_.log();
  }

  FaultyWebhook hook_;
  Killer killer_;
  DaemonFixture daemon_;  // destroyed first: the daemon is gone before the receiver stops
  std::int64_t start_ = 0;
  std::vector<std::string> events_;
  std::vector<std::string> killed_at_;
};

TEST_F(Kill9E2E, KillAtEachJobTransitionThenRestart) {
  // Right after the 202: the job is accepted, maybe pending (sizing) or just running.
  ASSERT_EQ(putRange().at("code").as_int64(), 202);
  daemon_.kill9();
  killed_at_.push_back("after-202");
  ASSERT_NO_FATAL_FAILURE(restart());
  // While the first request after the restart is answered.
  ASSERT_TRUE(killAt(KillPoint::WhileAnswering, 0));
  ASSERT_NO_FATAL_FAILURE(restart());
  // While the batch holding the range's last event is answered: the daemon was about to
  // store `completed`.
  const std::string last = events_.back();
  std::atomic<std::size_t> last_n{SIZE_MAX};
  killer_.arm(daemon_.process().pid(), SIZE_MAX);
  hook_.setPlan([this, last, &last_n](const Arrival& a) {
    if (a.last_line == last) {
      if (killer_.fire()) return fault(sink::Reply::Kind::CloseWithoutAnswer);
      last_n = a.n;
    }
    return answer(200);
  });
  ASSERT_TRUE(waitUntil([&] { return killer_.fired(); }, 60s));
  EXPECT_EQ(daemon_.process().wait(10s).signal, SIGKILL);
  killed_at_.push_back("last-batch-answer");
  ASSERT_NO_FATAL_FAILURE(restart());
  // As soon as the last batch's 2xx is counted: the `completed` write is under way.
  ASSERT_TRUE(waitUntil(
      [&] {
        const std::size_t n = last_n;
        return n != SIZE_MAX && hook_.receiver().requests().at(n).status == 200;
      },
      60s));
  daemon_.kill9();
  killed_at_.push_back("last-batch-counted");
  ASSERT_NO_FATAL_FAILURE(restart());
  expectCompletedWithNothingLost();
}

class SeededKill9E2E : public Kill9E2E, public ::testing::WithParamInterface<unsigned> {};

TEST_P(SeededKill9E2E, KillAtSeededPointsThenRestartLosesNothing) {
  std::mt19937 rng(GetParam());
  ASSERT_EQ(putRange().at("code").as_int64(), 202);
  // First kill: at request (or batch) 45 to 54 of the first pass, 25 ms each, so after
  // the periodic checkpoint (once a second, docs/http-api.md) that the restart must resume from.
  // Second kill: 0 to 19 requests after the restart, before the next periodic checkpoint.
  int kills = 0;
  for (int round = 0; round < 2; ++round) {
    const auto point = static_cast<KillPoint>(rng() % 3);
    const std::size_t k = round == 0 ? 45 + rng() % 10 : rng() % 20;
    if (!killAt(point, k)) break;  // the job ended first
    ++kills;
    ASSERT_NO_FATAL_FAILURE(restart());
  }
  EXPECT_GE(kills, 1);
  expectCompletedWithNothingLost();
  auto resumed = resumePoints();
  ASSERT_FALSE(resumed.empty());
  EXPECT_GT(resumed.front(), 0) << "the first restart did not resume from a checkpoint";
}

INSTANTIATE_TEST_SUITE_P(Seeds, SeededKill9E2E, ::testing::Values(7u, 1234u, 99991u));

// ---- disk errors ---------------------------------------------------------------------------

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(DiskFaultsE2E, DataDirThatIsAFileExits3NamingIt) {
  sink::Receiver receiver{sink::ReceiverOptions{}};
  receiver.start();
  DaemonFixture d;
  d.writeConfig(usRegionYaml(receiver.url()));
  std::ofstream(d.dir() / "data") << "not a directory\n";
  d.launch();
  auto result = d.process().wait(20s);
  EXPECT_TRUE(result.exited) << d.log();
  EXPECT_EQ(result.exit_code, 3) << d.log();
  EXPECT_TRUE(contains(d.log(), "cannot open the store in " + (d.dir() / "data").string()))
      << d.log();
  EXPECT_FALSE(fs::exists(d.socket()));
}

/** How to make a folder read-only even for root: a read-only bind mount in a private mount
 *  namespace (unshare -m), set up by a shell that then execs the daemon. */
std::vector<std::string> readOnlyWrapper(const fs::path& dir) {
  return {"/usr/bin/unshare",
          "-m",
          "/bin/sh",
          "-c",
          "mount --bind \"$0\" \"$0\" && mount -o remount,ro,bind \"$0\" \"$0\" && exec \"$@\"",
          dir.string()};
}

bool canMountPrivately() {
  if (!fs::exists("/usr/bin/unshare")) return false;
  std::string out, err;
  auto r = runProgram({"/usr/bin/unshare", "-m", "/bin/sh", "-c", "mount --bind / /tmp"}, &out,
                      &err, {}, 10s);
  return r.exited && r.exit_code == 0;
}

TEST(DiskFaultsE2E, ReadOnlyDataDirExits3ThenTheStoreReopensIntact) {
  FaultyWebhook hook;
  DaemonFixture d;
  d.writeConfig(usRegionYaml(hook.url()));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = rangeEvents(start, 1000, "ro-");
  ASSERT_TRUE(ingestAll(d, events));
  ASSERT_EQ(d.stop().exit_code, 0);

  const fs::path data = d.dir() / "data";
  if (::geteuid() == 0) {
    // chmod does not stop root; a read-only mount does.
    if (!canMountPrivately())
      GTEST_SKIP() << "root without mount namespaces: cannot make " << data << " read-only";
    d.launchWrapped(readOnlyWrapper(data));
  } else {
    fs::permissions(data, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
    d.launch();
  }
  auto result = d.process().wait(20s);
  if (::geteuid() != 0) fs::permissions(data, fs::perms::owner_write, fs::perm_options::add);
  EXPECT_TRUE(result.exited) << d.log();
  EXPECT_EQ(result.exit_code, 3) << d.log();
  const std::string log = d.log();
  EXPECT_TRUE(contains(log, "cannot open the store in " + data.string())) << log;
  EXPECT_TRUE(contains(log, "Read-only file system") || contains(log, "Permission denied")) << log;

  // Writable again: the same data opens, nothing was lost or damaged.
  ASSERT_TRUE(d.start()) << d.log();
  auto again = d.ingest("us", std::vector<std::string>(events.begin(), events.begin() + 100));
  EXPECT_EQ(again.at("duplicates").as_int64(), 100) << json::serialize(again);
  ASSERT_EQ(putJob(d, start, start + 999).at("code").as_int64(), 202);
  auto job = d.waitJobEnded("us", 60s);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
  EXPECT_TRUE(nothingMissing(hook.receiver().acceptedEvents(), events));
  EXPECT_EQ(d.stop().exit_code, 0);
}

/**
 * A small tmpfs mounted on `dir` in a private mount namespace of this test process (the
 * daemons it starts inherit it); unmounted when this goes out of scope. Needs root.
 */
class SmallDisk {
 public:
  SmallDisk(const fs::path& dir, const std::string& size) : dir_(dir) {
    if (::geteuid() != 0) {
      why_ = "needs root to mount a tmpfs";
      return;
    }
    // The daemon may abort on the full disk (see below): no core file in the working folder.
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      why_ = std::string("no private mount namespace: ") + std::strerror(errno);
      return;
    }
    fs::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      why_ = std::string("mount tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

  /** Writes filler files until the disk has not a byte left. */
  void fill() {
    int n = 0;
    for (std::size_t chunk : {std::size_t(1) << 20, std::size_t(4096), std::size_t(1)}) {
      const std::string path = (dir_ / ("filler-" + std::to_string(n++))).string();
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      std::string bytes(chunk, 'z');
      while (::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())) {
      }
      ::close(fd);
    }
  }
  void freeUp() {
    for (int n = 0; n < 3; ++n) fs::remove(dir_ / ("filler-" + std::to_string(n)));
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string why_;
};

/** Ingest calls of 1 MiB (ten 100 KiB events) until one is not acknowledged.
 *  @return the acknowledged calls; `last` gets the answer that was not ok. */
std::vector<std::vector<std::string>> ingestUntilRefused(DaemonFixture& d, std::int64_t from,
                                                         json::object& last) {
  std::vector<std::vector<std::string>> acknowledged;
  for (int call = 0; call < 64; ++call) {
    std::vector<std::string> chunk;
    for (int i = 0; i < 10; ++i) {
      std::string e = makeEvent(from + call * 10 + i, "big-" + std::to_string(call * 10 + i));
      e.insert(e.size() - 1, ",\"pad\":\"" + std::string(100 * 1024, 'q') + "\"");
      chunk.push_back(std::move(e));
    }
    last = d.ingest("us", chunk);
    auto* ok = last.if_contains("ok");
    if (ok == nullptr || !ok->as_bool()) break;
    acknowledged.push_back(std::move(chunk));
  }
  return acknowledged;
}

// The disk fills up while a job runs and ingest goes on. Whatever the daemon then does, once
// space is freed a restart on the same data finds every acknowledged event, and the job
// completes with nothing of its range missing.
TEST(DiskFaultsE2E, DiskFullThenFreedRestartLosesNothingAcknowledged) {
  FaultyWebhook hook([](const Arrival&) { return answer(200, {}, {}, milliseconds(25)); });
  DaemonFixture d;
  SmallDisk disk(d.dir() / "data", "32m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  RegionSettings settings;
  settings.max_events = kBatch;
  d.writeConfig(usRegionYaml(hook.url(), settings));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = rangeEvents(start, kEvents, "full-");
  ASSERT_TRUE(ingestAll(d, events));
  ASSERT_EQ(putJob(d, start, start + kEvents - 1).at("code").as_int64(), 202);
  ASSERT_TRUE(
      hook.receiver().waitFor([](const sink::ReceiverStats& s) { return s.accepted >= 5; }, 20s));

  disk.fill();
  json::object refused;
  auto acknowledged = ingestUntilRefused(d, start - 600'000, refused);
  ASSERT_FALSE(refused.empty()) << "no answer, the daemon is gone: " << d.log();
  ASSERT_FALSE(refused.at("ok").as_bool()) << "the disk never filled up";
  RecordProperty("refused_ingest_answer", json::serialize(refused));
  d.stop(SIGTERM, 15s);

  disk.freeUp();
  ASSERT_TRUE(d.start()) << d.allLogs();
  // Every acknowledged ingest call is there: sent again, all of it is duplicates.
  for (const auto& chunk : acknowledged) {
    auto again = d.ingest("us", chunk);
    EXPECT_EQ(again.at("duplicates").as_int64(), 10) << json::serialize(again);
  }
  auto job = d.waitJobEnded("us", 60s);
  ASSERT_TRUE(job) << d.log();
  if (job->at("status").as_string() != "completed") {
    // A job that failed on the store error is replayed again.
    ASSERT_EQ(putJob(d, start, start + kEvents - 1).at("code").as_int64(), 202);
    job = d.waitJobEnded("us", 60s);
    ASSERT_TRUE(job);
  }
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
  EXPECT_TRUE(nothingMissing(hook.receiver().acceptedEvents(), events));  // 0 lost
  EXPECT_EQ(d.stop().exit_code, 0);
}

// What an operator should see when the disk is full (docs/cli.md: no request stops the daemon).
// Regression: RocksDB's info LOG in data_dir used to trip Debian RocksDB's assertion
// `sync_without_flush_called_` (writable_file_writer.h:312) after a failed write to it, so
// the daemon aborted; its messages now go to our log (store/detail/rocksdb_logger.hpp).
TEST(DiskFaultsE2E, DiskFullFailsRequestsCleanlyAndTheDaemonStaysUp) {
  FaultyWebhook hook;
  DaemonFixture d;
  SmallDisk disk(d.dir() / "data", "32m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  d.writeConfig(usRegionYaml(hook.url()));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  ASSERT_TRUE(ingestAll(d, rangeEvents(start, 1000, "full-")));
  disk.fill();
  json::object refused;
  ingestUntilRefused(d, start - 600'000, refused);
  ASSERT_TRUE(refused.contains("code") && d.process().running())
      << "no answer, the daemon is gone: " << d.log();
  EXPECT_EQ(refused.at("code").as_int64(), 500) << json::serialize(refused);
  EXPECT_TRUE(contains(std::string(refused.at("error").as_string()), "No space left on device"))
      << json::serialize(refused);
  auto pong = d.call({{"op", "ping"}});
  EXPECT_TRUE(pong && pong->at("ok").as_bool());
  EXPECT_EQ(d.stop().exit_code, 0) << d.log();
  // Started on the full disk, the daemon comes up (what is stored can still be replayed)
  // and refuses writes with the same clear reason.
  ASSERT_TRUE(d.start()) << d.log();
  json::object again;
  ingestUntilRefused(d, start - 900'000, again);
  ASSERT_TRUE(again.contains("code") && d.process().running()) << d.log();
  EXPECT_EQ(again.at("code").as_int64(), 500) << json::serialize(again);
  EXPECT_TRUE(contains(std::string(again.at("error").as_string()), "No space left on device"))
      << json::serialize(again);
  EXPECT_EQ(d.stop().exit_code, 0) << d.log();
}

}  // namespace
}  // namespace audit::e2e

namespace audit::e2e {
namespace {

// `health` reports the store's write state: unhealthy while the full disk refuses writes,
// healthy again once space is freed — and the store takes writes again without a restart.
// RocksDB clears a full-disk error only once 64 MiB are free (its reserved buffer: four
// 16 MiB write buffers), checking every 5 s: hence a 128 MiB disk and the 30 s wait.
TEST(DiskFaultsE2E, DiskFullMakesHealthFailUntilSpaceIsFreedNoRestart) {
  FaultyWebhook hook;
  DaemonFixture d;
  SmallDisk disk(d.dir() / "data", "128m");
  if (!disk.mounted()) GTEST_SKIP() << disk.why();
  d.writeConfig(usRegionYaml(hook.url()));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  ASSERT_TRUE(ingestAll(d, rangeEvents(start, 1000, "health-")));
  auto healthy = [&] {
    auto answer = d.call({{"op", "health"}});
    return answer && answer->at("ok").as_bool();
  };
  ASSERT_TRUE(healthy());
  disk.fill();
  json::object refused;
  ingestUntilRefused(d, start - 600'000, refused);
  ASSERT_TRUE(refused.contains("ok") && !refused.at("ok").as_bool()) << d.log();
  auto sick = d.call({{"op", "health"}});
  ASSERT_TRUE(sick) << d.log();
  EXPECT_FALSE(sick->at("ok").as_bool()) << json::serialize(*sick);
  EXPECT_EQ(sick->at("code").as_int64(), 503) << json::serialize(*sick);

  disk.freeUp();
  const auto freed = std::chrono::steady_clock::now();
  EXPECT_TRUE(waitUntil(healthy, 30s)) << d.log();
  RecordProperty("healthy_again_ms",
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - freed)
                                    .count()));
  auto after = d.ingest("us", {makeEvent(start - 900'000, "after-the-disk-was-freed")});
  EXPECT_TRUE(after.at("ok").as_bool()) << json::serialize(after);
  EXPECT_EQ(d.stop().exit_code, 0) << d.log();
}

}  // namespace
}  // namespace audit::e2e
