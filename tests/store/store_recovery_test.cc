// The store under resource faults: out of descriptors RocksDB stops taking writes after a
// background error; health says so, and once descriptors are free again the store resumes
// by itself (no restart). Its folder and files are private whatever the umask.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "tests/fakes/sanitizer.hpp"
#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {
namespace fs = std::filesystem;

bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

// Takes every descriptor the process may still open (lowers RLIMIT_NOFILE to the highest
// one in use and fills the holes below it); gives them back on release() or at scope exit.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
      highest = std::max(highest, std::stoi(e.path().filename().string()));
    }
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest + 1);
    ::setrlimit(RLIMIT_NOFILE, &lowered);
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fillers_.push_back(fd);
    }
  }
  ~DescriptorsExhausted() { release(); }
  void release() {
    for (int fd : fillers_) ::close(fd);
    fillers_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> fillers_;
};

std::uint64_t readAllCount(source::EventSource& source) {
  std::uint64_t n = 0;
  auto reader = source.openReader(kAllTime, {});
  if (!reader) return 0;
  EventBatch batch;
  for (;;) {
    auto r = (*reader)->next(batch, {});
    if (!r || batch.empty()) break;
    n += batch.size();
  }
  return n;
}

TEST(StoreRecoveryTest, AfterEmfileWritesFailHealthSaysSoAndTheStoreResumes) {
  if (::audit::test::kUnderSanitizer) {
    GTEST_SKIP() << "out of descriptors, the sanitizer runtime cannot check calls (runs in the "
                    "normal build)";
  }
  TempDir dir;
  std::string detail;
  auto opened = Store::open(
      StoreOptions{.data_dir = dir.path() / "data", .write_buffer_bytes = 64 * 1024}, &detail);
  ASSERT_TRUE(opened) << detail;
  StorePtr store = std::move(*opened);
  auto us = store->region("us");
  std::uint64_t stored = 0;
  auto batch = [&](int round) {
    std::vector<std::string> events;
    for (int i = 0; i < 200; ++i) {
      events.push_back(event(1'700'000'000'000 + round * 1000 + i,
                             std::to_string(round) + "-" + std::string(200, 'p')));
    }
    std::vector<std::string_view> views(events.begin(), events.end());
    auto report = us->ingest(views, false);
    if (report) stored += report->ingested;
    return static_cast<bool>(report);
  };
  ASSERT_TRUE(batch(0));
  ASSERT_TRUE(store->healthy());

  int round = 1;
  {
    DescriptorsExhausted pressure;
    // Each round fills memtables; the flush (or the next WAL file) needs a descriptor.
    bool failed = false;
    for (; round < 400 && !failed; ++round) failed = !batch(round);
    ASSERT_TRUE(failed) << "writes kept succeeding without descriptors";
    EXPECT_FALSE(store->healthy());
    EXPECT_FALSE(batch(round++));  // and stays failed while the cause is there
    pressure.release();
    // No restart: the store resumes within a few attempts (one a second at most).
    EXPECT_TRUE(waitFor([&] { return store->healthy(); }, std::chrono::seconds(20)));
  }
  EXPECT_TRUE(batch(round++));
  EXPECT_EQ(readAllCount(*us), stored);
}

TEST(StoreRecoveryTest, FolderAndFilesArePrivateWhateverTheUmask) {
  TempDir dir;
  const mode_t saved = ::umask(0);
  std::string detail;
  auto opened = Store::open(StoreOptions{.data_dir = dir.path() / "data"}, &detail);
  ASSERT_TRUE(opened) << detail;
  {
    auto us = (*opened)->region("us");
    std::vector<std::string> events{event(1'700'000'000'000, "a")};
    std::vector<std::string_view> views(events.begin(), events.end());
    ASSERT_TRUE(us->ingest(views, false));
  }
  opened->reset();  // closes: every file RocksDB writes at close exists now
  ::umask(saved);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path() / "data")) {
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0027, 0u) << e.path() << " mode " << std::oct << (st.st_mode & 0777);
    ++files;
  }
  EXPECT_GT(files, 3u);
}

}  // namespace
}  // namespace audit::store::testing
