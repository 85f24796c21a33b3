// Forwarding from a Kafka region (docs/kafka.md#forwarding) on the mock cluster: arrival
// positions, the following reader (per-partition order, resume, "nothing more yet"), the
// backlog, and records deleted by retention reported as a gap.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "kafka/detail/checkpoint.hpp"
#include "tests/kafka/mock_cluster.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

constexpr EpochMillis kBase = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
using Steady = std::chrono::steady_clock;

std::vector<std::string> ladder(int n, EpochMillis from, std::string_view tag,
                                std::size_t padding = 0) {
  std::vector<std::string> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(R"({"rt":)" + std::to_string(from + i) + R"(,"id":")" + std::string(tag) +
                     std::to_string(i) + R"(","pad":")" + std::string(padding, 'x') + R"("})");
  }
  return events;
}

void ingestAll(source::EventSource& source, const std::vector<std::string>& events,
               std::size_t chunk = 50) {
  for (std::size_t i = 0; i < events.size(); i += chunk) {
    std::vector<std::string_view> part(
        events.begin() + static_cast<long>(i),
        events.begin() + static_cast<long>(std::min(i + chunk, events.size())));
    auto report = source.ingest(part, false, i);
    ASSERT_TRUE(report) << report.error().message();
    ASSERT_EQ(report->ingested, part.size());
  }
}

struct Where {
  std::int32_t partition;
  std::int64_t offset;
};

std::map<std::string, Where> positions(const MockCluster& cluster) {
  std::map<std::string, Where> where;
  for (const RawRecord& r : cluster.records()) where[r.value] = {r.partition, r.offset};
  return where;
}

struct Read {
  std::vector<std::string> events;
  std::vector<std::string> checkpoints;  // one per batch, in order
  std::string last_checkpoint;
  source::Skipped skipped;
  bool ended = false;  // saw "nothing more yet"
};

/**
 * Reads exactly `want` events (the last batch capped to fit), checking each partition's log order
 * across batches. Fails after 15 s.
 */
Read readArrivals(source::EventReader& reader, std::size_t want,
                  const std::map<std::string, Where>& where, BatchLimits limits = {50, 1 << 20},
                  std::map<std::int32_t, std::int64_t>* last_offsets = nullptr) {
  Read read;
  std::map<std::int32_t, std::int64_t> local;
  auto& last = last_offsets ? *last_offsets : local;
  const auto deadline = Steady::now() + std::chrono::seconds(15);
  EventBatch batch;
  while (read.events.size() < want && Steady::now() < deadline) {
    BatchLimits capped = limits;
    capped.max_events = std::min(limits.max_events, want - read.events.size());
    auto r = reader.next(batch, capped);
    EXPECT_TRUE(r) << r.error().message() << " " << reader.lastErrorDetail();
    if (!r) break;
    read.skipped.add(reader.takeSkipped());
    if (batch.empty() && batch.checkpoint.empty()) continue;  // nothing more yet: poll again
    EXPECT_FALSE(batch.checkpoint.empty());
    EXPECT_LE(batch.size(), std::max<std::size_t>(limits.max_events, 1));
    read.checkpoints.push_back(batch.checkpoint);
    read.last_checkpoint = batch.checkpoint;
    if (!batch.empty()) {
      EXPECT_FALSE(batch.identity.empty());
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::string value(batch.event(i));
      read.events.push_back(value);
      auto it = where.find(value);
      if (it == where.end()) continue;  // produced after `where` was taken
      auto [p, o] = it->second;
      if (auto prev = last.find(p); prev != last.end()) {
        EXPECT_GT(o, prev->second) << "partition " << p << " went back";
      }
      last[p] = o;
    }
  }
  EXPECT_EQ(read.events.size(), want) << "timed out";
  return read;
}

/** One next() that should say "nothing more yet"; returns how long it took. */
Millis expectNothingMoreYet(source::EventReader& reader) {
  EventBatch batch;
  const auto started = Steady::now();
  auto r = reader.next(batch, {50, 1 << 20});
  const auto took = std::chrono::duration_cast<Millis>(Steady::now() - started);
  EXPECT_TRUE(r) << r.error().message();
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.checkpoint.empty()) << batch.checkpoint;
  return took;
}

std::multiset<std::string> asSet(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

MockCluster& spread(MockCluster& cluster) {
  // A fast producer sticks to one partition per linger period: spread every event instead.
  cluster.properties = {{"sticky.partitioning.linger.ms", "0"}};
  return cluster;
}

TEST(KafkaArrivals, PositionTextRoundTripsAndIsTiedToTheTopic) {
  std::vector<detail::ArrivalOffset> offsets{{0, 12}, {1, 0}, {4, 99}};
  const std::string text = detail::encodeArrivalPosition("audit.eu", offsets);
  EXPECT_EQ(text, "kafka-arrivals1;audit.eu;0:12,1:0,4:99");
  EXPECT_EQ(detail::decodeArrivalPosition(text, "audit.eu"), offsets);
  EXPECT_FALSE(detail::decodeArrivalPosition(text, "audit"));
  EXPECT_FALSE(detail::decodeArrivalPosition("kafka1;audit.eu;0:1:2", "audit.eu"));
  EXPECT_FALSE(detail::decodeArrivalPosition("kafka-arrivals1;audit.eu;1:1,0:1", "audit.eu"));
  EXPECT_FALSE(detail::decodeArrivalPosition("kafka-arrivals1;audit.eu;0:-1", "audit.eu"));
  EXPECT_FALSE(detail::decodeArrivalPosition("kafka-arrivals1;audit.eu;", "audit.eu"));
}

TEST(KafkaArrivals, ReadsEveryEventOnceInEachPartitionsOrder) {
  MockCluster cluster(3);
  auto source = spread(cluster).source();
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  EXPECT_EQ(*oldest, "kafka-arrivals1;audit;0:0,1:0,2:0");
  auto events = ladder(600, kBase, "e");
  ingestAll(*source, events);
  auto where = positions(cluster);
  ASSERT_EQ(where.size(), events.size());
  std::set<std::int32_t> used;
  for (const auto& [value, w] : where) used.insert(w.partition);
  ASSERT_EQ(used.size(), 3u) << "events should spread over the partitions";

  auto reader = source->openArrivals(*oldest);
  ASSERT_TRUE(reader);
  std::map<std::int32_t, std::int64_t> last;
  Read read = readArrivals(**reader, events.size(), where, {50, 1 << 20}, &last);
  EXPECT_EQ(asSet(read.events), asSet(events));
  EXPECT_GE(read.checkpoints.size(), events.size() / 50);
  EXPECT_FALSE(read.skipped.any());
  // Every partition to its end, and the last checkpoint says so.
  std::map<std::int32_t, std::int64_t> ends;
  for (const auto& [value, w] : where) ends[w.partition] = std::max(ends[w.partition], w.offset);
  EXPECT_EQ(last, ends);
  auto now = source->arrivalPosition(source::ArrivalStart::Now, 0);
  ASSERT_TRUE(now);
  EXPECT_EQ(read.last_checkpoint, *now);
  // Caught up: "nothing more yet", after a short poll only.
  EXPECT_LT(expectNothingMoreYet(**reader).count(), 1'000);
  EXPECT_LT(expectNothingMoreYet(**reader).count(), 1'000);
}

TEST(KafkaArrivals, ReopenedAtABatchCheckpointContinuesWithoutLossOrDuplicates) {
  MockCluster cluster(3);
  auto source = spread(cluster).source();
  auto events = ladder(300, kBase, "r");
  ingestAll(*source, events);
  auto where = positions(cluster);
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);

  auto first = source->openArrivals(*oldest);
  ASSERT_TRUE(first);
  Read head = readArrivals(**first, 90, where, {30, 1 << 20});
  ASSERT_EQ(head.events.size(), 90u);
  first->reset();

  auto backlog = source->arrivalBacklog(head.last_checkpoint);
  ASSERT_TRUE(backlog);
  EXPECT_EQ(backlog->events, 210u);
  EXPECT_EQ(backlog->oldest_arrival_ms, 0);  // not looked up (docs/kafka.md#forwarding)

  auto second = source->openArrivals(head.last_checkpoint);
  ASSERT_TRUE(second);
  Read tail = readArrivals(**second, 210, where, {30, 1 << 20});
  std::vector<std::string> all = head.events;
  all.insert(all.end(), tail.events.begin(), tail.events.end());
  EXPECT_EQ(asSet(all), asSet(events));
  expectNothingMoreYet(**second);
  auto none = source->arrivalBacklog(tail.last_checkpoint);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->events, 0u);
}

TEST(KafkaArrivals, SameRecordsMakeTheSameIdentity) {
  MockCluster cluster(1);
  auto source = cluster.source();
  ingestAll(*source, ladder(40, kBase, "i"));
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  std::vector<std::string> identities[2];
  for (auto& ids : identities) {
    auto reader = source->openArrivals(*oldest);
    ASSERT_TRUE(reader);
    EventBatch batch;
    std::size_t n = 0;
    while (n < 40) {
      ASSERT_TRUE((*reader)->next(batch, {10, 1 << 20}));
      if (batch.empty()) continue;
      n += batch.size();
      ids.push_back(batch.identity);
    }
  }
  EXPECT_EQ(identities[0], identities[1]);
  EXPECT_EQ(identities[0].size(), 4u);
  EXPECT_EQ(std::set<std::string>(identities[0].begin(), identities[0].end()).size(), 4u);
}

TEST(KafkaArrivals, FollowsEventsProducedAfterNothingMoreYet) {
  MockCluster cluster(3);
  auto source = spread(cluster).source();
  auto now = source->arrivalPosition(source::ArrivalStart::Now, 0);
  ASSERT_TRUE(now);
  auto reader = source->openArrivals(*now);
  ASSERT_TRUE(reader);
  EXPECT_LT(expectNothingMoreYet(**reader).count(), 1'000);

  auto later = ladder(60, kBase + 1'000, "f");
  ingestAll(*source, later, 20);
  auto where = positions(cluster);
  Read read = readArrivals(**reader, later.size(), where);  // the same reader
  EXPECT_EQ(asSet(read.events), asSet(later));
  expectNothingMoreYet(**reader);

  auto more = ladder(15, kBase + 2'000, "g");
  ingestAll(*source, more, 5);
  where = positions(cluster);
  auto reopened = source->openArrivals(read.last_checkpoint);
  ASSERT_TRUE(reopened);
  Read rest = readArrivals(**reopened, more.size(), where);
  EXPECT_EQ(asSet(rest.events), asSet(more));
  // The forwarder reopens its reader after each "nothing more yet": closing one is quick.
  const auto closing = Steady::now();
  reopened->reset();
  const auto took = std::chrono::duration_cast<Millis>(Steady::now() - closing);
  EXPECT_LT(took.count(), 1'000);
}

TEST(KafkaArrivals, NowOldestAndAtPositionsAndTheBacklog) {
  MockCluster cluster(3);
  auto source = spread(cluster).source();
  auto events = ladder(90, kBase, "p");
  ingestAll(*source, events, 10);
  auto where = positions(cluster);
  std::map<std::int32_t, std::int64_t> counts;
  for (const auto& [value, w] : where) ++counts[w.partition];

  auto now = source->arrivalPosition(source::ArrivalStart::Now, 0);
  ASSERT_TRUE(now);
  EXPECT_EQ(*now, "kafka-arrivals1;audit;0:" + std::to_string(counts[0]) +
                      ",1:" + std::to_string(counts[1]) + ",2:" + std::to_string(counts[2]));
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  EXPECT_EQ(*oldest, "kafka-arrivals1;audit;0:0,1:0,2:0");

  auto full = source->arrivalBacklog(*oldest);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->events, 90u);
  auto nothing = source->arrivalBacklog(*now);
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->events, 0u);

  // At: the first record of each partition whose timestamp is at or after the time.
  auto at = source->arrivalPosition(source::ArrivalStart::At, kBase + 60);
  ASSERT_TRUE(at);
  auto from_at = source->openArrivals(*at);
  ASSERT_TRUE(from_at);
  Read read = readArrivals(**from_at, 30, where);
  EXPECT_EQ(asSet(read.events), asSet(std::vector<std::string>(events.begin() + 60, events.end())));
  auto at_backlog = source->arrivalBacklog(*at);
  ASSERT_TRUE(at_backlog);
  EXPECT_EQ(at_backlog->events, 30u);

  // Now: only what is produced afterwards.
  auto after = ladder(10, kBase - 5'000, "late");  // an old event time arrives now
  ingestAll(*source, after);
  auto waiting = source->arrivalBacklog(*now);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->events, 10u);
  auto from_now = source->openArrivals(*now);
  ASSERT_TRUE(from_now);
  Read fresh = readArrivals(**from_now, 10, positions(cluster));
  EXPECT_EQ(asSet(fresh.events), asSet(after));
  expectNothingMoreYet(**from_now);
}

TEST(KafkaArrivals, APositionOfAnotherTopicIsRefusedWithReason) {
  MockCluster cluster(1);
  auto source = cluster.source();
  auto backlog = source->arrivalBacklog("kafka-arrivals1;other;0:0");
  ASSERT_FALSE(backlog);
  EXPECT_EQ(backlog.error(), source::Errc::invalid_argument);
  auto reader = source->openArrivals("kafka1;audit;0:0:0");
  ASSERT_TRUE(reader);
  EventBatch batch;
  auto read = (*reader)->next(batch, {});
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), source::Errc::invalid_argument);
  EXPECT_NE((*reader)->lastErrorDetail().find("is not one of this topic's"), std::string::npos);
}

TEST(KafkaArrivals, BrokersDownMakeTheReadBusyAndTheReaderGoesOnAfterwards) {
  MockCluster cluster(3);
  // Bound the read-ahead (see KafkaFaults.BrokersDown...): the read needs the brokers again.
  cluster.properties = {{"queued.max.messages.kbytes", "1"}};
  auto options = cluster.options();
  options.fetch_timeout = Millis(1'500);
  options.request_timeout = Millis(1'000);
  auto source = cluster.source(options);
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  std::vector<std::string> events;
  for (int call = 0; call < 6; ++call) {
    auto part = ladder(10, kBase + 10 * call, "d" + std::to_string(call) + "-", 300);
    ingestAll(*source, part);
    events.insert(events.end(), part.begin(), part.end());
  }
  auto reader = source->openArrivals(*oldest);
  ASSERT_TRUE(reader);

  rd_kafka_mock_broker_set_down(cluster.get(), -1);
  std::vector<std::string> read;
  EventBatch batch;
  source::Result<void> r;
  for (;;) {
    r = (*reader)->next(batch, {10, 1 << 20});
    if (!r) break;
    ASSERT_FALSE(batch.checkpoint.empty()) << "nothing more yet although records are missing";
    for (std::size_t i = 0; i < batch.size(); ++i) read.emplace_back(batch.event(i));
  }
  EXPECT_EQ(r.error(), source::Errc::busy);
  EXPECT_LT(read.size(), events.size());
  EXPECT_NE((*reader)->lastErrorDetail().find("no records for 1500 ms from partitions "),
            std::string::npos)
      << (*reader)->lastErrorDetail();
  // Positions and backlogs need the brokers too: busy, so the forwarder backs off.
  auto backlog = source->arrivalBacklog(*oldest);
  ASSERT_FALSE(backlog);
  EXPECT_EQ(backlog.error(), source::Errc::busy);
  auto failed = source->openArrivals(*oldest);
  ASSERT_TRUE(failed);
  auto none = (*failed)->next(batch, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), source::Errc::busy);

  rd_kafka_mock_broker_set_up(cluster.get(), -1);
  const auto deadline = Steady::now() + std::chrono::seconds(30);
  while (read.size() < events.size()) {
    ASSERT_LT(Steady::now(), deadline) << "the brokers are back";
    auto more = (*reader)->next(batch, {10, 1 << 20});
    if (!more) {
      ASSERT_EQ(more.error(), source::Errc::busy) << (*reader)->lastErrorDetail();
      continue;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) read.emplace_back(batch.event(i));
  }
  EXPECT_EQ(asSet(read), asSet(events)) << "the reader keeps its place across failed calls";
}

// The mock cluster keeps at most 5 MiB per partition and drops its oldest record batches
// beyond that, as retention would. Six 1 MiB calls overflow one partition.
void overflowRetention(source::EventSource& source, EpochMillis from, int calls) {
  for (int c = 0; c < calls; ++c) {
    ingestAll(source, ladder(1'000, from + c * 1'000, "big" + std::to_string(c) + "-", 1'000),
              1'000);
  }
}

TEST(KafkaArrivals, RecordsDeletedByRetentionBeforeTheyWereReadAreAGap) {
  MockCluster cluster(1);
  auto source = cluster.source();
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  overflowRetention(*source, kBase, 6);
  auto held = cluster.records();
  ASSERT_FALSE(held.empty());
  const std::int64_t low = held.front().offset;
  ASSERT_GT(low, 0) << "the mock should have dropped the oldest records";

  auto backlog = source->arrivalBacklog(*oldest);
  ASSERT_TRUE(backlog);
  EXPECT_EQ(backlog->events, held.size()) << "deleted records are not waiting";

  LogCapture log;
  auto reader = source->openArrivals(*oldest);
  ASSERT_TRUE(reader);
  std::map<std::string, Where> where;
  for (const RawRecord& r : held) where[r.value] = {r.partition, r.offset};
  Read read = readArrivals(**reader, held.size(), where, {500, 4 << 20});
  EXPECT_EQ(read.skipped.events, static_cast<std::uint64_t>(low));
  EXPECT_EQ(read.events.front(), held.front().value);
  EXPECT_NE(log.text().find("deleted by the topic's retention before they were forwarded"),
            std::string::npos)
      << log.text();
  expectNothingMoreYet(**reader);
}

TEST(KafkaArrivals, RecordsDeletedWhileReadingAreAGap) {
  MockCluster cluster(1);
  auto options = cluster.options();
  options.partition_buffer_bytes = 4096;  // librdkafka reads ahead one small fetch at a time
  auto source = cluster.source(options);
  auto oldest = source->arrivalPosition(source::ArrivalStart::Oldest, 0);
  ASSERT_TRUE(oldest);
  // Many small record batches: a fetch takes one of them.
  for (int c = 0; c < 40; ++c) {
    ingestAll(*source, ladder(10, kBase + c * 10, "s" + std::to_string(c) + "-", 200));
  }
  auto reader = source->openArrivals(*oldest);
  ASSERT_TRUE(reader);
  EventBatch batch;
  std::size_t got = 0;
  while (got == 0) {
    ASSERT_TRUE((*reader)->next(batch, {5, 1 << 20}));
    got = batch.size();
  }

  // Retention deletes what the reader has not fetched yet.
  overflowRetention(*source, kBase + 100'000, 6);
  auto held = cluster.records();
  ASSERT_FALSE(held.empty());
  std::map<std::string, Where> where;
  for (const RawRecord& r : held) where[r.value] = {r.partition, r.offset};
  const std::int64_t high = held.back().offset + 1;

  source::Skipped skipped;
  std::uint64_t delivered = got;
  const auto deadline = Steady::now() + std::chrono::seconds(20);
  std::string last_value;
  while (Steady::now() < deadline) {
    auto r = (*reader)->next(batch, {500, 4 << 20});
    ASSERT_TRUE(r) << (*reader)->lastErrorDetail();
    skipped.add((*reader)->takeSkipped());
    if (batch.empty() && batch.checkpoint.empty()) {
      if (delivered + skipped.events >= static_cast<std::uint64_t>(high)) break;
      continue;
    }
    delivered += batch.size();
    if (!batch.empty()) last_value = std::string(batch.event(batch.size() - 1));
  }
  EXPECT_TRUE(skipped.any()) << "the reader should have met deleted records";
  // Every offset below the end was delivered once or reported as a gap.
  EXPECT_EQ(delivered + skipped.events, static_cast<std::uint64_t>(high));
  EXPECT_EQ(last_value, held.back().value);
}

}  // namespace
}  // namespace audit::kafka::testing
