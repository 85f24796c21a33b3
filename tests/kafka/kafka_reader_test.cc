// The Kafka reader on the mock cluster: out-of-order event times across 8 partitions,
// per-partition order across batches, read-ahead bounds, resume and counting.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "tests/kafka/mock_cluster.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

constexpr EpochMillis kBase = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

struct Generated {
  std::vector<std::string> events;
  std::vector<EpochMillis> times;
};

/**
 * `n` events arriving over n ms of wall time, each stamped up to 5 s earlier than its
 * arrival (late producers), and 1 % stamped up to an hour into the future (skewed clocks).
 */
Generated outOfOrder(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<EpochMillis> late(0, 5'000);
  std::uniform_int_distribution<EpochMillis> ahead(1, 3'600'000);
  std::uniform_int_distribution<int> percent(0, 99);
  Generated g;
  for (int i = 0; i < n; ++i) {
    EpochMillis t = kBase + i - late(rng);
    if (percent(rng) == 0) t = kBase + i + ahead(rng);
    g.times.push_back(t);
    g.events.push_back(event(t, "n" + std::to_string(i)));
  }
  return g;
}

void ingestInChunks(source::EventSource& source, const std::vector<std::string>& events,
                    std::size_t chunk) {
  for (std::size_t i = 0; i < events.size(); i += chunk) {
    std::vector<std::string_view> part(
        events.begin() + static_cast<long>(i),
        events.begin() + static_cast<long>(std::min(i + chunk, events.size())));
    auto report = source.ingest(part, false, i);
    ASSERT_TRUE(report) << report.error().message();
    ASSERT_EQ(report->ingested, part.size());
  }
}

struct Position {
  std::int32_t partition;
  std::int64_t offset;
};

/**
 * Reads the range, checking: every batch in time order, and each partition's events in log
 * order across batches (every offset of a batch above every earlier batch's offsets).
 */
std::vector<ReadEvent> readChecked(source::EventSource& source, source::TimeRange range,
                                   const std::map<std::string, Position>& where, BatchLimits limits,
                                   std::size_t* batches = nullptr) {
  auto reader = source.openReader(range, {});
  EXPECT_TRUE(reader) << reader.error().message();
  std::vector<ReadEvent> out;
  if (!reader) return out;
  std::map<std::int32_t, std::int64_t> high_so_far;
  EventBatch batch;
  std::size_t n = 0;
  for (;;) {
    auto r = (*reader)->next(batch, limits);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || batch.empty()) break;
    ++n;
    collect(batch, limits, out);
    std::map<std::int32_t, std::int64_t> batch_high;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Position& pos = where.at(std::string(batch.event(i)));
      auto previous = high_so_far.find(pos.partition);
      if (previous != high_so_far.end()) {
        EXPECT_GT(pos.offset, previous->second)
            << "partition " << pos.partition << " went back in batch " << n;
      }
      batch_high[pos.partition] = std::max(batch_high[pos.partition], pos.offset);
    }
    for (auto [p, o] : batch_high) high_so_far[p] = o;
  }
  if (batches) *batches = n;
  return out;
}

std::map<std::string, Position> positions(const MockCluster& cluster) {
  std::map<std::string, Position> where;
  for (const RawRecord& r : cluster.records()) where[r.value] = {r.partition, r.offset};
  return where;
}

TEST(KafkaReader, OutOfOrderTimesOverEightPartitionsYieldExactlyTheRange) {
  MockCluster cluster(8);
  // A fast producer sticks to one partition per linger period; spread every event instead,
  // so all eight partitions interleave.
  cluster.properties = {{"sticky.partitioning.linger.ms", "0"}};
  auto source = cluster.source();
  Generated g = outOfOrder(20'000, 7);
  ingestInChunks(*source, g.events, 2'000);
  auto where = positions(cluster);
  ASSERT_EQ(where.size(), 20'000u);
  std::set<std::int32_t> used;
  for (const auto& [value, pos] : where) used.insert(pos.partition);
  EXPECT_EQ(used.size(), 8u) << "events should spread over the partitions";

  const source::TimeRange range{kBase + 5'000, kBase + 14'999};
  std::vector<ReadEvent> expected;
  for (std::size_t i = 0; i < g.events.size(); ++i) {
    if (g.times[i] >= range.first && g.times[i] <= range.last)
      expected.push_back({g.times[i], g.events[i]});
  }
  auto counted = source->count(range);
  ASSERT_TRUE(counted);
  EXPECT_GE(*counted, expected.size()) << "count is an upper bound";

  std::size_t batches = 0;
  auto read = readChecked(*source, range, where, {500, 1 << 20}, &batches);
  auto got = sorted(read);
  std::sort(expected.begin(), expected.end());
  std::vector<ReadEvent> missing, outside;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(outside));
  EXPECT_EQ(missing.size(), 0u);
  EXPECT_EQ(outside.size(), 0u);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_GE(batches, expected.size() / 500);
}

TEST(KafkaReader, SmallReadAheadStopsAndRestartsFetchingWithoutLosingRecords) {
  MockCluster cluster(4);
  cluster.properties = {{"sticky.partitioning.linger.ms", "0"}};
  auto options = cluster.options();
  // librdkafka stops fetching a partition at 4 KiB queued, and the reader makes it fetch
  // again when the queue runs dry, many times per partition.
  options.partition_buffer_bytes = 4096;
  auto source = cluster.source(options);
  Generated g = outOfOrder(3'000, 11);
  ingestInChunks(*source, g.events, 1'000);
  auto where = positions(cluster);
  auto read = readChecked(*source, kAllTime, where, {64, 1 << 20});
  std::vector<ReadEvent> expected;
  for (std::size_t i = 0; i < g.events.size(); ++i) expected.push_back({g.times[i], g.events[i]});
  EXPECT_EQ(sorted(read), sorted(expected));
}

TEST(KafkaReader, BatchesFollowEventTimeAcrossPartitions) {
  // In-order producers: the merge makes the whole replay time-ordered, not just each batch.
  MockCluster cluster(3);
  cluster.properties = {{"sticky.partitioning.linger.ms", "0"}};
  auto source = cluster.source();
  std::vector<std::string> events;
  for (int i = 0; i < 300; ++i) events.push_back(event(kBase + i, "o" + std::to_string(i)));
  ingestInChunks(*source, events, 50);
  auto reader = *source->openReader(kAllTime, {});
  auto read = drain(*reader, {40, 1 << 20});
  ASSERT_EQ(read.size(), 300u);
  EXPECT_TRUE(std::is_sorted(read.begin(), read.end(), [](const ReadEvent& a, const ReadEvent& b) {
    return a.time < b.time;
  }));
}

TEST(KafkaReader, EndIsTheHighWatermarkWhenTheReaderOpened) {
  MockCluster cluster(3);
  auto source = cluster.source();
  std::vector<std::string> before{event(kBase, "a"), event(kBase + 1, "b")};
  ingestInChunks(*source, before, 10);
  auto reader = *source->openReader(kAllTime, {});
  std::vector<std::string> after{event(kBase + 2, "late")};
  ingestInChunks(*source, after, 10);
  EXPECT_EQ(drain(*reader).size(), 2u) << "records appended after the start are not replayed";
}

TEST(KafkaReader, UnparsableRecordsAreSkippedAndLogged) {
  MockCluster cluster(1);
  auto source = cluster.source();
  // Another producer wrote a record that is not an event.
  {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstrap().c_str(), error, sizeof error);
    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    ASSERT_NE(producer, nullptr);
    std::string value = "garbage";
    ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("audit"),
                                RD_KAFKA_V_VALUE(value.data(), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);
  }
  ingestInChunks(*source, {event(kBase, "ok")}, 10);
  LogCapture log;
  auto reader = *source->openReader(kAllTime, {});
  auto read = drain(*reader);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].bytes, event(kBase, "ok"));
  EXPECT_NE(log.text().find("offset 0: record skipped"), std::string::npos) << log.text();
}

TEST(KafkaReader, CheckpointOfAFinishedReadResumesToNothing) {
  MockCluster cluster(3);
  auto source = cluster.source();
  std::vector<std::string> events;
  for (int i = 0; i < 20; ++i) events.push_back(event(kBase + i, "f" + std::to_string(i)));
  ingestInChunks(*source, events, 20);
  auto reader = *source->openReader(kAllTime, {});
  EventBatch batch;
  ASSERT_TRUE(reader->next(batch, {1000, 1 << 20}));
  ASSERT_EQ(batch.size(), 20u);
  auto resumed = *source->openReader(kAllTime, batch.checkpoint);
  ASSERT_TRUE(resumed->next(batch, {}));
  EXPECT_TRUE(batch.empty());
}

TEST(KafkaReader, CountSumsTheOffsetsFromEachStartToTheEnd) {
  MockCluster cluster(2);
  auto source = cluster.source();
  std::vector<std::string> events;
  for (int i = 0; i < 50; ++i) events.push_back(event(kBase + i, "c" + std::to_string(i)));
  ingestInChunks(*source, events, 50);
  auto all = source->count(kAllTime);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, 50u);
  auto none = source->count({kBase + 1000, kBase + 2000});
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u) << "no record at or after the start: every partition starts at its end";
  EXPECT_FALSE(source->countIsExact());
}

}  // namespace
}  // namespace audit::kafka::testing
