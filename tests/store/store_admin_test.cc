// Records, retention and opening: the parts of Store beside ingest and reading.

#include <gtest/gtest.h>

#include <fstream>

#include "common/clock.hpp"
#include "store/detail/status.hpp"
#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

using RecordsTest = StoreTest;
using RetentionTest = StoreTest;

TEST_F(RecordsTest, SyncedWritesRoundTripAndSurviveReopen) {
  ASSERT_TRUE(store_->putRecord(RecordKind::Job, "us", R"({"status":"running"})"));
  ASSERT_TRUE(store_->putRecord(RecordKind::Job, "eu", R"({"status":"accepted"})"));
  ASSERT_TRUE(store_->putRecord(RecordKind::WebhookStatus, "us", "active"));
  ASSERT_TRUE(store_->putRecord(RecordKind::Job, "us", R"({"status":"completed"})"));  // replace
  reopen();
  EXPECT_EQ(**store_->getRecord(RecordKind::Job, "us"), R"({"status":"completed"})");
  EXPECT_EQ(**store_->getRecord(RecordKind::WebhookStatus, "us"), "active");
  EXPECT_FALSE(*store_->getRecord(RecordKind::WebhookStatus, "eu"));
  EXPECT_FALSE(*store_->getRecord(RecordKind::Meta, "us"));
  auto jobs = *store_->listRecords(RecordKind::Job);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(jobs, (Pairs{{"eu", R"({"status":"accepted"})"}, {"us", R"({"status":"completed"})"}}));
  EXPECT_EQ(*store_->listRecords(RecordKind::WebhookStatus), (Pairs{{"us", "active"}}));
  EXPECT_TRUE(store_->listRecords(RecordKind::Meta)->empty());
}

TEST_F(RecordsTest, BinaryKeysAndValuesAreKept) {
  std::string key("k\0\xff", 3);
  std::string value("\0v\n", 3);
  ASSERT_TRUE(store_->putRecord(RecordKind::Meta, key, value));
  EXPECT_EQ(**store_->getRecord(RecordKind::Meta, key), value);
}

TEST_F(RetentionTest, OldEventsDisappearAndNewOnesStay) {
  FakeClock clock(1'795'204'800'000);
  const EpochMillis day = 86'400'000;
  const EpochMillis now = clock.nowMillis();
  auto us = store_->region("us");
  auto eu = store_->region("eu");
  ingest(*us, {event(now - 8 * day, "old"), event(now - 7 * day - 1, "just-old"),
               event(now - 7 * day, "edge"), event(now - day, "new")});
  ingest(*eu, {event(now - 6 * day, "eu-new")});
  ingest(*store_->region("ap"), {event(now - 9 * day, "ap-old")});

  const EpochMillis retention = 7 * day;
  auto touched = store_->removeBefore(clock.nowMillis() - retention);
  ASSERT_TRUE(touched) << touched.error().message();
  EXPECT_EQ(*touched, 2u);  // us and ap; eu had nothing that old
  std::vector<std::string> left;
  for (auto& e : readAll(*us)) left.push_back(e.bytes);
  EXPECT_EQ(left,
            (std::vector<std::string>{event(now - 7 * day, "edge"), event(now - day, "new")}));
  EXPECT_EQ(*eu->count(kAllTime), 1u);
  EXPECT_EQ(*store_->region("ap")->count(kAllTime), 0u);

  // Nothing left to remove: no region touched.
  EXPECT_EQ(*store_->removeBefore(clock.nowMillis() - retention), 0u);
  // A millisecond later the edge event is past the retention too.
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(*store_->removeBefore(clock.nowMillis() - retention), 1u);
  EXPECT_EQ(*us->count(kAllTime), 1u);

  // The events are gone for good, not just hidden until a reopen.
  reopen();
  EXPECT_EQ(*store_->region("us")->count(kAllTime), 1u);
  // And can be ingested again (a replay source re-sending them stores them anew).
  EXPECT_EQ(ingest(*store_->region("us"), {event(now - 8 * day, "old")}).ingested, 1u);
}

TEST_F(RetentionTest, EmptyStoreTouchesNothing) {
  EXPECT_EQ(*store_->removeBefore(0), 0u);
}

using OpenTest = StoreTest;

TEST_F(OpenTest, SecondOpenOfTheSameDirFailsWithLocked) {
  std::string detail;
  auto second = Store::open(StoreOptions{.data_dir = dir_.path() / "data"}, &detail);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), source::Errc::locked);
  EXPECT_NE(detail.find("lock"), std::string::npos) << detail;
  // Once the first is closed the directory is free again.
  store_.reset();
  auto third = Store::open(StoreOptions{.data_dir = dir_.path() / "data"}, &detail);
  EXPECT_TRUE(third) << detail;
}

TEST_F(OpenTest, CorruptCurrentFileIsCorruption) {
  store_.reset();
  {
    std::ofstream current(dir_.path() / "data" / "CURRENT", std::ios::trunc);
    current << "garbage";  // no trailing newline: RocksDB calls that corrupt
  }
  std::string detail;
  auto opened = Store::open(StoreOptions{.data_dir = dir_.path() / "data"}, &detail);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error(), source::Errc::corruption) << detail;
  EXPECT_FALSE(detail.empty());
}

TEST_F(OpenTest, DataDirThatIsAFileIsAnError) {
  std::ofstream(dir_.path() / "file") << "x";
  std::string detail;
  auto opened = Store::open(StoreOptions{.data_dir = dir_.path() / "file" / "data"}, &detail);
  ASSERT_FALSE(opened);
  EXPECT_FALSE(detail.empty());
}

// Root ignores file modes, so the permission case is checked on RocksDB's own wording.
TEST(StatusTranslation, MapsRocksDbWordsToStoreErrors) {
  using rocksdb::Status;
  EXPECT_EQ(detail::translate(
                Status::IOError("While lock file: /d/LOCK", "Resource temporarily unavailable")),
            source::Errc::locked);
  EXPECT_EQ(detail::translate(Status::IOError("lock hold by current process", "/d/LOCK")),
            source::Errc::locked);
  EXPECT_EQ(detail::translate(
                Status::IOError("While open a file for appending: /d/LOG", "Permission denied")),
            source::Errc::no_permission);
  EXPECT_EQ(detail::translate(Status::Corruption("bad block")), source::Errc::corruption);
  EXPECT_EQ(detail::translate(Status::IOError("No space left on device")), source::Errc::no_space);
  EXPECT_EQ(detail::translate(Status::Busy()), source::Errc::busy);
  std::string words;
  detail::translate(Status::Corruption("bad block"), "open /d", &words);
  EXPECT_EQ(words, "open /d: Corruption: bad block");
}

}  // namespace
}  // namespace audit::store::testing
