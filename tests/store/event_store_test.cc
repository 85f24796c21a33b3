#include "store/event_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

using IngestTest = StoreTest;

TEST_F(IngestTest, ScanReturnsTimeOrderWhateverTheIngestOrder) {
  auto us = store_->region("us");
  auto report = ingest(*us, {event(30, "c"), event(-5, "neg"), event(10, "a"),
                             event(std::numeric_limits<EpochMillis>::min(), "min"),
                             event(0, "zero"), event(20, "b")});
  EXPECT_EQ(report.ingested, 6u);
  auto all = readAll(*us);
  std::vector<EpochMillis> times;
  for (auto& e : all) times.push_back(e.time);
  EXPECT_EQ(times,
            (std::vector<EpochMillis>{std::numeric_limits<EpochMillis>::min(), -5, 0, 10, 20, 30}));
  EXPECT_EQ(all[3].bytes, event(10, "a"));
}

TEST_F(IngestTest, TiesComeOutInAStableOrderIndependentOfIngestOrder) {
  std::vector<std::string> ties;
  for (int i = 0; i < 20; ++i) ties.push_back(event(1000, "tie" + std::to_string(i)));
  auto us = store_->region("us");
  ingest(*us, ties);
  auto first = readAll(*us);
  ASSERT_EQ(first.size(), ties.size());

  auto eu = store_->region("eu");
  std::vector<std::string> reversed(ties.rbegin(), ties.rend());
  for (auto& e : reversed) ingest(*eu, {e});  // other order, one call each
  EXPECT_EQ(readAll(*eu), first);
  EXPECT_EQ(readAll(*us), first);  // and the same again
}

TEST_F(IngestTest, SameBytesInSameRegionAreStoredOnce) {
  auto us = store_->region("us");
  auto r1 = ingest(*us, {event(1, "a"), event(2, "b")});
  EXPECT_EQ(r1.ingested, 2u);
  EXPECT_EQ(r1.duplicates, 0u);
  // Surrounding white space is not part of the event.
  auto r2 = ingest(*us, {"  " + event(1, "a") + "\r\n", event(2, "b"), event(3, "c")});
  EXPECT_EQ(r2.ingested, 1u);
  EXPECT_EQ(r2.duplicates, 2u);
  // Repeats inside one call count too.
  auto r3 = ingest(*us, {event(4, "d"), event(4, "d"), event(4, "d")});
  EXPECT_EQ(r3.ingested, 1u);
  EXPECT_EQ(r3.duplicates, 2u);
  EXPECT_EQ(*us->count(kAllTime), 4u);
  // Another region is another stream: the same bytes are new there.
  auto eu = store_->region("eu");
  EXPECT_EQ(ingest(*eu, {event(1, "a")}).ingested, 1u);
}

TEST_F(IngestTest, StoresTheTrimmedBytesAsGiven) {
  auto us = store_->region("us");
  std::string spaced = R"({ "rt" : 5,  "b":1.50 })";
  ingest(*us, {"\t" + spaced + "  "});
  auto all = readAll(*us);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].bytes, spaced);
}

TEST_F(IngestTest, PrettyPrintedEventIsStoredCompactly) {
  auto us = store_->region("us");
  std::string pretty = "{\n  \"rt\": 5,\r\n  \"name\": \"kong.login\"\n}";
  EXPECT_EQ(ingest(*us, {pretty}).ingested, 1u);
  auto all = readAll(*us);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].bytes, R"({"rt":5,"name":"kong.login"})");
  // Idempotence applies to what is stored: the compact form is a duplicate now.
  auto again = ingest(*us, {pretty, R"({"rt":5,"name":"kong.login"})"});
  EXPECT_EQ(again.duplicates, 2u);
}

TEST_F(IngestTest, OneBadEventStoresNothingAndAllBadOnesAreReported) {
  auto us = store_->region("us");
  auto report = ingest(*us, {event(1, "a"), "{bad", event(2, "b"), R"({"x":1})"}, false, 10);
  EXPECT_EQ(report.ingested, 0u);
  ASSERT_EQ(report.rejected.size(), 2u);
  EXPECT_EQ(report.rejected[0].index, 11u);
  EXPECT_TRUE(report.rejected[0].reason.starts_with("invalid JSON: "));
  EXPECT_EQ(report.rejected[1].index, 13u);
  EXPECT_EQ(report.rejected[1].reason, "no rt or event_ts field");
  EXPECT_EQ(*us->count(kAllTime), 0u);
}

TEST_F(IngestTest, SkipInvalidStoresTheGoodOnesAndReportsTheBad) {
  auto us = store_->region("us");
  auto report = ingest(*us, {event(1, "a"), "{bad", event(2, "b")}, true);
  EXPECT_EQ(report.ingested, 2u);
  ASSERT_EQ(report.rejected.size(), 1u);
  EXPECT_EQ(report.rejected[0].index, 1u);
  EXPECT_EQ(*us->count(kAllTime), 2u);
}

TEST_F(IngestTest, RegionsWithSharedPrefixesStaySeparate) {
  ingest(*store_->region("u"), {event(1, "u")});
  ingest(*store_->region("us"), {event(1, "us"), event(2, "us")});
  ingest(*store_->region("us1"), {event(0, "us1")});
  EXPECT_EQ(*store_->region("u")->count(kAllTime), 1u);
  EXPECT_EQ(*store_->region("us")->count(kAllTime), 2u);
  EXPECT_EQ(readAll(*store_->region("us1")), (std::vector<ReadEvent>{{0, event(0, "us1")}}));
}

TEST_F(IngestTest, BadRegionNameIsInvalidArgument) {
  std::string name("a\0b", 3);
  std::vector<std::string_view> none;
  auto r = store_->region(name)->ingest(none, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), source::Errc::invalid_argument);
  EXPECT_FALSE(store_->region("")->count(kAllTime));
}

TEST_F(IngestTest, CountIsInclusiveAtBothEnds) {
  auto us = store_->region("us");
  const EpochMillis x = 1'795'204'800'000;
  ingest(*us, {event(x - 1, "before"), event(x, "first"), event(x + 999, "last"),
               event(x + 1000, "after")});
  EXPECT_EQ(*us->count({x, x + 999}), 2u);
  EXPECT_EQ(*us->count({x, x}), 1u);
  EXPECT_EQ(*us->count({x + 999, x + 999}), 1u);
  EXPECT_EQ(*us->count({x + 1, x + 998}), 0u);
  EXPECT_EQ(*us->count({x, x - 1}), 0u);  // empty range
  auto in = readAll(*us, {x, x + 999});
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].bytes, event(x, "first"));
  EXPECT_EQ(in[1].bytes, event(x + 999, "last"));
}

TEST_F(IngestTest, ConcurrentIngestCountsEachEventOnce) {
  auto us = store_->region("us");
  constexpr int kThreads = 4;
  constexpr int kEvents = 500;
  std::vector<source::IngestReport> reports(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread sends the same events, in chunks of 50.
      for (int begin = 0; begin < kEvents; begin += 50) {
        std::vector<std::string> chunk;
        for (int i = begin; i < begin + 50; ++i) chunk.push_back(event(i, "e" + std::to_string(i)));
        auto r = ingest(*us, chunk);
        reports[t].ingested += r.ingested;
        reports[t].duplicates += r.duplicates;
      }
    });
  }
  for (auto& th : threads) th.join();
  std::size_t ingested = 0;
  std::size_t duplicates = 0;
  for (auto& r : reports) {
    ingested += r.ingested;
    duplicates += r.duplicates;
  }
  EXPECT_EQ(ingested, std::size_t{kEvents});
  EXPECT_EQ(duplicates, std::size_t{kEvents * (kThreads - 1)});
  EXPECT_EQ(*us->count(kAllTime), std::uint64_t{kEvents});
}

TEST_F(IngestTest, SurvivesReopen) {
  ingest(*store_->region("us"), {event(1, "a"), event(2, "b")});
  reopen();
  EXPECT_EQ(*store_->region("us")->count(kAllTime), 2u);
  EXPECT_EQ(ingest(*store_->region("us"), {event(1, "a")}).duplicates, 1u);
}

TEST_F(IngestTest, RegionHandleDoesNotKeepTheStoreOpen) {
  auto us = store_->region("us");
  ingest(*us, {event(1, "a")});
  auto reader = *us->openReader(kAllTime, {});
  store_.reset();
  std::vector<std::string_view> none;
  EXPECT_EQ(us->ingest(none, false).error(), source::Errc::closed);
  EXPECT_EQ(us->count(kAllTime).error(), source::Errc::closed);
  // The open reader still works: its database closes when it goes.
  EventBatch batch;
  ASSERT_TRUE(reader->next(batch, {}));
  EXPECT_EQ(batch.size(), 1u);
  reader.reset();
  reopen();
  EXPECT_EQ(*store_->region("us")->count(kAllTime), 1u);
}

TEST_F(IngestTest, ReportsSizeAndHealth) {
  ingest(*store_->region("us"), {event(1, "a")});
  EXPECT_GT(store_->approximateSize(), 0u);
  EXPECT_TRUE(store_->healthy());
}

}  // namespace
}  // namespace audit::store::testing
