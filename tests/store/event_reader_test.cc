#include <gtest/gtest.h>

#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

class ReaderTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    source_ = store_->region("us");
    std::vector<std::string> events;
    for (int i = 0; i < 100; ++i) events.push_back(event(1000 + i / 3, "e" + std::to_string(i)));
    ingest(*source_, events);
    all_ = readAll(*source_);
    ASSERT_EQ(all_.size(), 100u);
  }

  source::EventSourcePtr source_;
  std::vector<ReadEvent> all_;
};

TEST_F(ReaderTest, ResumingFromACheckpointYieldsExactlyTheRest) {
  for (std::size_t stop_after : {1u, 3u, 14u}) {
    auto reader = *source_->openReader(kAllTime, {});
    EventBatch batch;
    std::size_t seen = 0;
    for (std::size_t b = 0; b < stop_after; ++b) {
      ASSERT_TRUE(reader->next(batch, {.max_events = 7}));
      seen += batch.size();
    }
    std::string checkpoint = batch.checkpoint;
    reader.reset();

    auto resumed = *source_->openReader(kAllTime, checkpoint);
    std::vector<ReadEvent> rest;
    for (;;) {
      ASSERT_TRUE(resumed->next(batch, {.max_events = 10}));
      if (batch.empty()) break;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        rest.push_back({batch.time(i), std::string(batch.event(i))});
      }
    }
    EXPECT_EQ(rest, std::vector<ReadEvent>(all_.begin() + static_cast<long>(seen), all_.end()))
        << "stopped after " << stop_after << " batches";
  }
}

TEST_F(ReaderTest, CheckpointAtTheEndResumesToNothing) {
  auto reader = *source_->openReader(kAllTime, {});
  EventBatch batch;
  ASSERT_TRUE(reader->next(batch, {.max_events = 1000}));
  ASSERT_EQ(batch.size(), 100u);
  auto resumed = *source_->openReader(kAllTime, batch.checkpoint);
  ASSERT_TRUE(resumed->next(batch, {}));
  EXPECT_TRUE(batch.empty());
}

TEST_F(ReaderTest, CheckpointRespectsTheRange) {
  // A checkpoint from a wider read still stops at the range's end.
  auto reader = *source_->openReader(kAllTime, {});
  EventBatch batch;
  ASSERT_TRUE(reader->next(batch, {.max_events = 3}));  // the three events of 1000 ms
  auto resumed = *source_->openReader({1000, 1001}, batch.checkpoint);
  ASSERT_TRUE(resumed->next(batch, {.max_events = 1000}));
  ASSERT_EQ(batch.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(batch.time(i), 1001);
}

TEST_F(ReaderTest, ForeignCheckpointIsInvalidArgument) {
  EXPECT_EQ(source_->openReader(kAllTime, "garbage").error(), source::Errc::invalid_argument);
  auto eu_key = std::string("eu") + '\0' + std::string(16, 'x');
  EXPECT_EQ(source_->openReader(kAllTime, eu_key).error(), source::Errc::invalid_argument);
}

TEST_F(ReaderTest, BatchesRespectMaxEvents) {
  auto reader = *source_->openReader(kAllTime, {});
  EventBatch batch;
  std::size_t total = 0;
  for (;;) {
    ASSERT_TRUE(reader->next(batch, {.max_events = 30, .max_bytes = 1 << 20}));
    if (batch.empty()) break;
    EXPECT_LE(batch.size(), 30u);
    total += batch.size();
  }
  EXPECT_EQ(total, 100u);
}

TEST_F(ReaderTest, BatchesRespectMaxBytes) {
  const std::size_t one = all_[0].bytes.size();  // events here are all about this size
  const std::size_t max_bytes = 5 * one + one / 2;
  auto reader = *source_->openReader(kAllTime, {});
  EventBatch batch;
  std::size_t total = 0;
  for (;;) {
    ASSERT_TRUE(reader->next(batch, {.max_events = 1000, .max_bytes = max_bytes}));
    if (batch.empty()) break;
    EXPECT_LE(batch.eventBytes(), max_bytes);
    EXPECT_GE(batch.size(), 4u);  // the cap is used, not just respected
    total += batch.size();
  }
  EXPECT_EQ(total, 100u);
}

TEST_F(ReaderTest, OversizedEventGoesAlone) {
  auto eu = store_->region("eu");
  std::string big = R"({"rt":2,"pad":")" + std::string(5000, 'p') + R"("})";
  ingest(*eu, {event(1, "small1"), big, event(3, "small3"), event(4, "small4")});
  auto reader = *eu->openReader(kAllTime, {});
  EventBatch batch;
  std::vector<std::size_t> sizes;
  for (;;) {
    ASSERT_TRUE(reader->next(batch, {.max_events = 10, .max_bytes = 1000}));
    if (batch.empty()) break;
    sizes.push_back(batch.size());
    if (batch.size() == 1 && batch.time(0) == 2) {
      EXPECT_EQ(batch.event(0), big);
    }
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 1, 2}));
}

TEST_F(ReaderTest, BatchJoinedIsAJsonLinesBody) {
  auto reader = *source_->openReader({1000, 1000}, {});
  EventBatch batch;
  ASSERT_TRUE(reader->next(batch, {}));
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.joined(), all_[0].bytes + "\n" + all_[1].bytes + "\n" + all_[2].bytes);
}

TEST_F(ReaderTest, IdentityIsStableForTheSameBatchAndDiffersOtherwise) {
  auto read = [&](std::string_view checkpoint) {
    auto reader = *source_->openReader(kAllTime, checkpoint);
    EventBatch batch;
    EXPECT_TRUE(reader->next(batch, {.max_events = 10}));
    return std::make_pair(batch.identity, batch.checkpoint);
  };
  auto [id1, cp1] = read({});
  auto [id1_again, cp1_again] = read({});
  EXPECT_EQ(id1, id1_again);
  EXPECT_FALSE(id1.empty());
  auto [id2, cp2] = read(cp1);
  EXPECT_NE(id1, id2);
}

TEST_F(ReaderTest, ReaderSeesTheStoreAsOfItsOpening) {
  auto reader = *source_->openReader(kAllTime, {});
  ingest(*source_, {event(5000, "late")});
  EventBatch batch;
  std::size_t total = 0;
  for (;;) {
    ASSERT_TRUE(reader->next(batch, {}));
    if (batch.empty()) break;
    total += batch.size();
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(*source_->count(kAllTime), 101u);
}

TEST_F(ReaderTest, ZeroMaxEventsStillMakesProgress) {
  auto reader = *source_->openReader(kAllTime, {});
  EventBatch batch;
  ASSERT_TRUE(reader->next(batch, {.max_events = 0, .max_bytes = 0}));
  EXPECT_EQ(batch.size(), 1u);
}

}  // namespace
}  // namespace audit::store::testing
