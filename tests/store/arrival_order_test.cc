// Arrival order (forwarding): every stored event in the order it was stored, late ones
// included; positions survive a reopen; retention's removals show as gaps, never silently.

#include <gtest/gtest.h>

#include <chrono>

#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

class ArrivalOrderTest : public StoreTest {
 protected:
  struct Read {
    std::vector<std::string> ids;  // the events' "id" tags, in the order read
    std::string position;          // after the last batch
    source::Skipped skipped;
  };

  /** Reads everything after `position` in batches of `max_events`. */
  Read readArrivals(source::EventSource& source, const std::string& position,
                    std::size_t max_events = 1000) {
    Read out{{}, position, {}};
    auto reader = source.openArrivals(position);
    EXPECT_TRUE(reader) << reader.error().message();
    if (!reader) return out;
    EventBatch batch;
    for (;;) {
      auto r = (*reader)->next(batch, BatchLimits{max_events, 1 << 20});
      EXPECT_TRUE(r) << r.error().message();
      out.skipped.add((*reader)->takeSkipped());
      if (!r || batch.checkpoint.empty()) break;
      out.position = batch.checkpoint;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        std::string_view e = batch.event(i);
        const auto at = e.find(R"("id":")") + 6;
        out.ids.emplace_back(e.substr(at, e.find('"', at) - at));
      }
    }
    return out;
  }

  static EpochMillis now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  const EpochMillis t0 = 1'700'000'000'000;
};

TEST_F(ArrivalOrderTest, LateEventsComeInTheOrderTheyArrivedNotByTime) {
  auto us = store_->region("us");
  ingest(*us, {event(t0 + 5000, "a"), event(t0 + 6000, "b")});
  ingest(*us, {event(t0 + 1000, "late")});  // an old event time, stored after a and b
  ingest(*us, {event(t0 + 7000, "c"), event(t0 + 6000, "b")});  // b again: not a new arrival

  const Read read = readArrivals(*us, "0", 2);
  EXPECT_EQ(read.ids, (std::vector<std::string>{"a", "b", "late", "c"}));
  EXPECT_FALSE(read.skipped.any());
  // A time-ordered read of the same region puts "late" first: the two orders differ.
  EXPECT_EQ(readAll(*us).front().bytes, event(t0 + 1000, "late"));
}

TEST_F(ArrivalOrderTest, AReaderFollowsWhatIsStoredAfterItCaughtUp) {
  auto us = store_->region("us");
  ingest(*us, {event(t0, "a")});
  auto reader = us->openArrivals("0");
  ASSERT_TRUE(reader);
  EventBatch batch;
  ASSERT_TRUE((*reader)->next(batch, {}));
  EXPECT_EQ(batch.size(), 1u);
  ASSERT_TRUE((*reader)->next(batch, {}));
  EXPECT_TRUE(batch.checkpoint.empty()) << "nothing more yet";
  ingest(*us, {event(t0 - 1000, "b")});
  ASSERT_TRUE((*reader)->next(batch, {}));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.event(0), event(t0 - 1000, "b"));
  EXPECT_EQ(batch.checkpoint, "2");
}

TEST_F(ArrivalOrderTest, RegionsHaveTheirOwnSequencesThatContinueAfterAReopen) {
  ingest(*store_->region("us"), {event(t0, "u1"), event(t0 + 1, "u2")});
  ingest(*store_->region("eu"), {event(t0, "e1")});
  reopen();
  auto us = store_->region("us");
  ingest(*us, {event(t0 + 2, "u3")});
  EXPECT_EQ(readArrivals(*us, "2").ids, std::vector<std::string>{"u3"});
  EXPECT_EQ(readArrivals(*store_->region("eu"), "0").ids, std::vector<std::string>{"e1"});
  auto backlog = us->arrivalBacklog("1");
  ASSERT_TRUE(backlog);
  EXPECT_EQ(backlog->events, 2u);
  EXPECT_GT(backlog->oldest_arrival_ms, 0);
  EXPECT_EQ(us->arrivalBacklog("3")->events, 0u);
}

TEST_F(ArrivalOrderTest, StartPositionsNowOldestAndATime) {
  auto us = store_->region("us");
  ingest(*us, {event(t0, "a"), event(t0 + 1, "b")});
  const EpochMillis between = now() + 1;
  // Arrival times have millisecond resolution: wait (on the clock, not a sleep) until the
  // next millisecond so "c" arrives strictly after `between`.
  while (now() <= between) {
  }
  ingest(*us, {event(t0 + 2, "c")});

  auto at_now = us->arrivalPosition(source::ArrivalStart::Now, 0);
  ASSERT_TRUE(at_now);
  EXPECT_TRUE(readArrivals(*us, *at_now).ids.empty());
  auto oldest = us->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  EXPECT_EQ(readArrivals(*us, *oldest).ids, (std::vector<std::string>{"a", "b", "c"}));
  auto at = us->arrivalPosition(source::ArrivalStart::At, between);
  ASSERT_TRUE(at);
  EXPECT_EQ(readArrivals(*us, *at).ids, std::vector<std::string>{"c"});
  auto empty = store_->region("none")->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "0");
}

TEST_F(ArrivalOrderTest, RetentionRemovingUnforwardedEventsShowsAsAGapWithTheirTimes) {
  auto us = store_->region("us");
  ingest(*us, {event(t0 + 1000, "old1"), event(t0 + 60'000, "keep"), event(t0 + 2000, "old2")});
  // Removes the two old events; their arrival entries are recent and stay.
  ASSERT_TRUE(store_->removeBefore(t0 + 30'000));
  const Read read = readArrivals(*us, "0");
  EXPECT_EQ(read.ids, std::vector<std::string>{"keep"});
  EXPECT_EQ(read.skipped.events, 2u);
  EXPECT_EQ(read.skipped.first, t0 + 1000);
  EXPECT_EQ(read.skipped.last, t0 + 2000);
  EXPECT_EQ(read.position, "3");
}

TEST_F(ArrivalOrderTest, EntriesOlderThanRetentionGoAndAReaderBehindThemCountsTheGap) {
  auto us = store_->region("us");
  ingest(*us, {event(t0, "a"), event(t0 + 1, "b")});
  const EpochMillis cutoff = now() + 1;
  while (now() <= cutoff) {
  }
  ingest(*us, {event(t0 + 2, "c")});
  // Everything that arrived before the cutoff goes, even though "c"'s own event time is old.
  ASSERT_TRUE(store_->removeBefore(cutoff));
  auto oldest = us->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  EXPECT_EQ(*oldest, "2");
  const Read behind = readArrivals(*us, "0");
  EXPECT_TRUE(behind.ids.empty()) << "c's event is older than the cutoff too";
  EXPECT_EQ(behind.skipped.events, 3u);
}

TEST_F(ArrivalOrderTest, TheLastEntryOutlivesRetentionSoSequencesGoOnAfterAReopen) {
  auto us = store_->region("us");
  ingest(*us, {event(t0, "a"), event(t0 + 1, "b")});
  const EpochMillis cutoff = now() + 1;
  while (now() <= cutoff) {
  }
  // Every entry arrived before the cutoff: all but the last go, and the sequence with it
  // would start again at 1 after a reopen, behind a stored position of "2".
  ASSERT_TRUE(store_->removeBefore(cutoff));
  us.reset();
  reopen();
  us = store_->region("us");
  ingest(*us, {event(now(), "c")});
  const Read read = readArrivals(*us, "2");
  EXPECT_EQ(read.ids, std::vector<std::string>{"c"});
  EXPECT_EQ(read.position, "3");
  EXPECT_EQ(read.skipped.events, 0u);
}

TEST_F(ArrivalOrderTest, ALargeIngestIsReadInOrderFromAnyPositionAcrossItsEntries) {
  // 2,500 events of one call fill three entries (1,024 events each at most); positions
  // inside and at the edges of an entry resume where they should.
  auto us = store_->region("us");
  std::vector<std::string> events;
  for (int i = 0; i < 2500; ++i) events.push_back(event(t0 + (i * 7919) % 5000, std::to_string(i)));
  ingest(*us, events);
  for (const std::uint64_t from : {0, 1, 1023, 1024, 1025, 2047, 2048, 2499}) {
    const Read read = readArrivals(*us, std::to_string(from), 300);
    ASSERT_EQ(read.ids.size(), 2500 - from) << "from " << from;
    for (std::size_t i = 0; i < read.ids.size(); ++i) {
      ASSERT_EQ(read.ids[i], std::to_string(from + i)) << "from " << from << ", event " << i;
    }
    EXPECT_EQ(read.position, "2500");
  }
  auto backlog = us->arrivalBacklog("1500");
  ASSERT_TRUE(backlog);
  EXPECT_EQ(backlog->events, 1000u);
  EXPECT_GT(backlog->oldest_arrival_ms, 0);
}

TEST_F(ArrivalOrderTest, APositionNotMadeByTheStoreIsRefused) {
  auto us = store_->region("us");
  EXPECT_EQ(us->openArrivals("x1").error(), source::Errc::invalid_argument);
  EXPECT_EQ(us->openArrivals("").error(), source::Errc::invalid_argument);
  EXPECT_EQ(us->arrivalBacklog("-1").error(), source::Errc::invalid_argument);
}

}  // namespace
}  // namespace audit::store::testing
