// Faults a Kafka region meets: fetch errors, brokers down, records deleted by retention
// before they were replayed. Each is survived or reported with a reason an operator can act
// on, never turned into a silent gap.

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "common/rfc3339.hpp"
#include "tests/kafka/mock_cluster.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

constexpr EpochMillis kBase = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
// Kafka protocol ApiKeys (librdkafka keeps its names in a private header).
constexpr std::int16_t kApiProduce = 0;
constexpr std::int16_t kApiFetch = 1;

std::vector<std::string> ladder(int n, EpochMillis from, std::string_view tag,
                                std::size_t padding = 0) {
  std::vector<std::string> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(R"({"rt":)" + std::to_string(from + i) + R"(,"id":")" + std::string(tag) +
                     std::to_string(i) + R"(","pad":")" + std::string(padding, 'x') + R"("})");
  }
  return events;
}

void ingestAll(source::EventSource& source, const std::vector<std::string>& events) {
  auto v = views(events);
  auto report = source.ingest(v, false, 0);
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_EQ(report->ingested, events.size());
}

TEST(KafkaFaults, FetchErrorsAreRetriedWithoutLoss) {
  MockCluster cluster(3);
  auto source = cluster.source();
  auto events = ladder(300, kBase, "f");
  ingestAll(*source, events);
  // Leader moves, a vanished partition, a dropped connection, a spurious out-of-range.
  rd_kafka_mock_push_request_errors(
      cluster.get(), kApiFetch, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__TRANSPORT,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  auto reader = source->openReader(kAllTime, {});
  ASSERT_TRUE(reader);
  auto read = drain(**reader, {50, 1 << 20});
  std::vector<ReadEvent> expected;
  for (const auto& e : events) expected.push_back({source::extractEventTime(e).ms, e});
  EXPECT_EQ(sorted(read), sorted(expected));
}

TEST(KafkaFaults, BrokersDownFailsTheReadClearlyAndItResumesWhenTheyReturn) {
  MockCluster cluster(3);
  // The reader starts fetching as soon as it is opened, so records may already sit in its
  // queues when the brokers go down. Bound that read-ahead: the mock answers a fetch with one
  // produced batch, and a 1 KB queue limit stops a partition after one batch. Six ingests of
  // ten 300-byte events are six batches, at most three of them read ahead: the read must
  // need the brokers again before the range ends, whatever the timing.
  cluster.properties = {{"queued.max.messages.kbytes", "1"}};
  auto options = cluster.options();
  options.fetch_timeout = Millis(1'500);
  auto source = cluster.source(options);
  std::vector<ReadEvent> expected;
  for (int call = 0; call < 6; ++call) {
    auto events = ladder(10, kBase + 10 * call, "d" + std::to_string(call) + "-", 300);
    ingestAll(*source, events);
    for (const auto& e : events) expected.push_back({source::extractEventTime(e).ms, e});
  }
  auto reader = source->openReader(kAllTime, {});
  ASSERT_TRUE(reader);

  LogCapture log;
  rd_kafka_mock_broker_set_down(cluster.get(), -1);
  // What was read ahead comes out first; then the read fails, before the range's end.
  std::vector<ReadEvent> read;
  EventBatch batch;
  source::Result<void> r;
  for (;;) {
    r = (*reader)->next(batch, {10, 1 << 20});
    if (!r) break;
    ASSERT_FALSE(batch.empty()) << "the range ended although no broker could be reached";
    collect(batch, {10, 1 << 20}, read);
  }
  EXPECT_EQ(r.error(), source::Errc::busy);
  EXPECT_LT(read.size(), expected.size());
  EXPECT_TRUE(batch.empty());
  EXPECT_NE(log.text().find("no records for 1500 ms from partitions"), std::string::npos)
      << log.text();
  // The job's error reason: which partitions, and what the brokers said.
  const std::string detail = (*reader)->lastErrorDetail();
  EXPECT_NE(detail.find("no records for 1500 ms from partitions "), std::string::npos) << detail;
  EXPECT_TRUE(std::regex_search(detail, std::regex("partitions [0-9]+@[0-9]+")))
      << "partition@offset: " << detail;
  EXPECT_NE(detail.find("Check that the brokers are reachable"), std::string::npos) << detail;

  rd_kafka_mock_broker_set_up(cluster.get(), -1);
  // librdkafka reconnects with a growing backoff, so the first calls after the brokers
  // return may still time out (busy), as the job engine expects; then the reader goes on
  // from where it stood.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto more = (*reader)->next(batch, {10, 1 << 20});
    if (!more) {
      ASSERT_EQ(more.error(), source::Errc::busy) << (*reader)->lastErrorDetail();
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the brokers are back";
      continue;
    }
    if (batch.empty()) break;
    collect(batch, {10, 1 << 20}, read);
  }
  EXPECT_EQ(sorted(read), sorted(expected)) << "the reader keeps its place across failed calls";
}

TEST(KafkaFaults, AReaderClosesPromptlyWhileTheBrokersAreDown) {
  MockCluster cluster(3);
  auto source = cluster.source();
  ingestAll(*source, ladder(30, kBase, "c"));
  auto reader = source->openReader(kAllTime, {});
  ASSERT_TRUE(reader);
  EventBatch batch;
  ASSERT_TRUE((*reader)->next(batch, {5, 1 << 20}));
  rd_kafka_mock_broker_set_down(cluster.get(), -1);
  auto start = std::chrono::steady_clock::now();
  reader->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(KafkaFaults, IngestWithBrokersDownReportsUnacknowledgedEvents) {
  MockCluster cluster(1);
  auto options = cluster.options();
  options.produce_timeout = Millis(1'000);
  auto source = cluster.source(options);
  rd_kafka_mock_broker_set_down(cluster.get(), -1);
  LogCapture log;
  auto events = ladder(5, kBase, "x");
  auto v = views(events);
  auto report = source->ingest(v, false, 0);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(), source::Errc::busy);
  EXPECT_NE(log.text().find("5 of 5 events not acknowledged"), std::string::npos) << log.text();
}

TEST(KafkaFaults, ARefusedProduceIsAnErrorAndTheNextCallWorks) {
  MockCluster cluster(1);
  auto source = cluster.source();
  rd_kafka_mock_push_request_errors(cluster.get(), kApiProduce, 1,
                                    RD_KAFKA_RESP_ERR_INVALID_RECORD);
  auto events = ladder(3, kBase, "r");
  auto v = views(events);
  auto refused = source->ingest(v, false, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), source::Errc::io_error);
  auto again = ladder(3, kBase + 10, "s");
  ingestAll(*source, again);
  auto reader = *source->openReader({kBase + 10, kBase + 20}, {});
  EXPECT_EQ(drain(*reader).size(), 3u);
}

// The mock cluster keeps at most 5 MiB per partition and drops its oldest record batches
// beyond that, as retention would. Six 1 MiB calls overflow one partition.
void overflowRetention(source::EventSource& source, EpochMillis from, int calls) {
  for (int c = 0; c < calls; ++c) {
    ingestAll(source, ladder(1'000, from + c * 1'000, "big" + std::to_string(c) + "-", 1'000));
  }
}

TEST(KafkaFaults, ARangePartlyDeletedByRetentionFailsNamingThePartition) {
  MockCluster cluster(1);
  auto source = cluster.source();
  overflowRetention(*source, kBase, 6);
  auto held = cluster.records();
  ASSERT_FALSE(held.empty());
  ASSERT_GT(held.front().offset, 0) << "the mock should have dropped the oldest records";
  const EpochMillis earliest = held.front().timestamp;
  const std::string named = "partition 0 (earliest time still held " + formatRfc3339(earliest);
  const source::TimeRange range{kBase, kBase + 60'000};

  // Sizing the job (pending) fails with the words the job shows as its error.
  LogCapture log;
  std::string detail;
  auto plan = source->plan(range, &detail);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error(), source::Errc::io_error);
  EXPECT_NE(detail.find("was deleted by the topic's retention: " + named), std::string::npos)
      << detail;
  EXPECT_NE(log.text().find(named), std::string::npos) << log.text();

  // A reader opened without a plan fails its first read the same way.
  auto reader = source->openReader(range, {});
  ASSERT_TRUE(reader);
  EventBatch batch;
  auto read = (*reader)->next(batch, {10, 1 << 20});
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), source::Errc::io_error);
  EXPECT_TRUE(batch.empty());
  EXPECT_NE((*reader)->lastErrorDetail().find(named), std::string::npos)
      << (*reader)->lastErrorDetail();

  // From the earliest time held on, nothing of the range is missing.
  auto later = source->plan({earliest, kBase + 60'000}, &detail);
  ASSERT_TRUE(later) << detail;
  auto rest = source->openReader({earliest, kBase + 60'000}, later->checkpoint);
  ASSERT_TRUE(rest);
  EXPECT_FALSE(drain(**rest).empty());
}

TEST(KafkaFaults, ResumingPastRecordsDeletedSinceTheCheckpointFails) {
  MockCluster cluster(1);
  auto source = cluster.source();
  overflowRetention(*source, kBase, 1);
  const source::TimeRange range{kBase, kBase + 60'000};
  auto reader = source->openReader(range, {});
  ASSERT_TRUE(reader);
  EventBatch batch;
  ASSERT_TRUE((*reader)->next(batch, {10, 1 << 20}));
  const std::string checkpoint = batch.checkpoint;
  reader->reset();

  overflowRetention(*source, kBase + 10'000, 5);
  LogCapture log;
  auto resumed = source->openReader(range, checkpoint);
  ASSERT_TRUE(resumed);
  auto read = (*resumed)->next(batch, {10, 1 << 20});
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), source::Errc::io_error);
  const std::string detail = (*resumed)->lastErrorDetail();
  EXPECT_NE(detail.find("deleted by the topic's retention: partition 0 (earliest time still held"),
            std::string::npos)
      << detail;
  EXPECT_NE(log.text().find("deleted by the topic's retention: partition 0"), std::string::npos)
      << log.text();
}

TEST(KafkaFaults, RecordsDeletedWhileReadingFailTheReadNamingThePartition) {
  MockCluster cluster(1);
  auto options = cluster.options();
  options.partition_buffer_bytes = 4096;  // librdkafka reads ahead one small fetch at a time
  auto source = cluster.source(options);
  // Many small record batches: a fetch takes one of them.
  for (int c = 0; c < 40; ++c) {
    ingestAll(*source, ladder(10, kBase + c * 10, "s" + std::to_string(c) + "-", 200));
  }
  const source::TimeRange range{kBase, kBase + 600'000};
  std::string detail;
  auto plan = source->plan(range, &detail);
  ASSERT_TRUE(plan) << detail;
  auto reader = source->openReader(range, plan->checkpoint);
  ASSERT_TRUE(reader);
  EventBatch batch;
  ASSERT_TRUE((*reader)->next(batch, {5, 1 << 20}));
  ASSERT_EQ(batch.size(), 5u);

  // Retention deletes what the reader has not fetched yet.
  overflowRetention(*source, kBase + 100'000, 6);
  LogCapture log;
  source::Result<void> read;
  std::size_t batches = 0;
  while ((read = (*reader)->next(batch, {5, 1 << 20})) && !batch.empty()) ++batches;
  ASSERT_FALSE(read) << "read to the end after " << batches << " more batches";
  EXPECT_EQ(read.error(), source::Errc::io_error);
  const std::string why = (*reader)->lastErrorDetail();
  EXPECT_NE(why.find("deleted by the topic's retention before they were replayed: partition 0 "
                     "(needed offset"),
            std::string::npos)
      << why << "\n"
      << log.text();
  EXPECT_NE(why.find("earliest time still held 20"), std::string::npos) << why;
}

}  // namespace
}  // namespace audit::kafka::testing
