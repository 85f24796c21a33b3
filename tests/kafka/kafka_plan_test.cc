// A Kafka job's plan (docs/kafka.md): the end offsets are the high watermarks taken when the job
// enters `pending`, kept in the checkpoint so a resumed job stops at the same end; where a
// job starts without a time index (source.kafka.start_lookup: scan); and the event-time
// header ingest writes so readers need not parse every record.

#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.hpp"
#include "kafka/detail/record_time.hpp"
#include "tests/kafka/mock_cluster.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

constexpr EpochMillis kBase = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

void ingestAll(source::EventSource& source, const std::vector<std::string>& events) {
  auto v = views(events);
  auto report = source.ingest(v, false, 0);
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_EQ(report->ingested, events.size());
}

std::vector<std::string> ladder(int n, EpochMillis from, const std::string& tag) {
  std::vector<std::string> events;
  for (int i = 0; i < n; ++i) events.push_back(event(from + i, tag + std::to_string(i)));
  return events;
}

TEST(KafkaPlan, EndsAreTheHighWatermarksWhenTheJobIsPlanned) {
  MockCluster cluster(3);
  auto source = cluster.source();
  ingestAll(*source, ladder(30, kBase, "before"));
  const source::TimeRange range{kBase, kBase + 60'000};
  std::string detail;
  auto plan = source->plan(range, &detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_EQ(plan->count, 30u);
  EXPECT_FALSE(plan->exact) << "a log's count is an upper bound until the job ends";
  EXPECT_TRUE(plan->checkpoint.starts_with("kafka1;audit;")) << plan->checkpoint;

  // Produced while the job waits to run (or after a crash, before it resumes): in the range
  // by time, but after the end the plan fixed.
  ingestAll(*source, ladder(20, kBase + 100, "after"));
  auto reader = source->openReader(range, plan->checkpoint);
  ASSERT_TRUE(reader);
  auto read = drain(**reader, {7, 1 << 20});
  EXPECT_EQ(read.size(), 30u);
  for (const auto& e : read) EXPECT_NE(e.bytes.find("before"), std::string::npos) << e.bytes;
}

TEST(KafkaPlan, AResumedReaderKeepsThePlannedEnds) {
  MockCluster cluster(2);
  auto source = cluster.source();
  ingestAll(*source, ladder(40, kBase, "a"));
  const source::TimeRange range{kBase, kBase + 60'000};
  std::string detail;
  auto plan = source->plan(range, &detail);
  ASSERT_TRUE(plan) << detail;
  auto reader = source->openReader(range, plan->checkpoint);
  ASSERT_TRUE(reader);
  EventBatch batch;
  ASSERT_TRUE((*reader)->next(batch, {15, 1 << 20}));
  std::vector<ReadEvent> read;
  collect(batch, {15, 1 << 20}, read);
  const std::string checkpoint = batch.checkpoint;
  reader->reset();  // a crash

  ingestAll(*source, ladder(25, kBase + 50, "late"));
  auto resumed = source->openReader(range, checkpoint);
  ASSERT_TRUE(resumed);
  auto rest = drain(**resumed, {15, 1 << 20});
  read.insert(read.end(), rest.begin(), rest.end());
  EXPECT_EQ(read.size(), 40u) << "the resumed reader stops at the ends fixed by the plan";
}

TEST(KafkaPlan, AnInvertedRangePlansNothing) {
  MockCluster cluster(1);
  auto source = cluster.source();
  ingestAll(*source, ladder(3, kBase, "x"));
  std::string detail;
  auto plan = source->plan({kBase + 10, kBase}, &detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_EQ(plan->count, 0u);
  auto reader = source->openReader({kBase + 10, kBase}, plan->checkpoint);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(drain(**reader).empty());
}

TEST(KafkaStartLookup, ScanFindsTheStartWithoutATimeIndex) {
  // What the daemon builds from `source.kafka.start_lookup: scan`: no finder in the options.
  MockCluster cluster(3);
  auto settings = cluster.settings();
  settings.start_lookup = config::KafkaStartLookup::Scan;
  std::string detail;
  auto source = makeKafkaSource(settings, &detail);
  ASSERT_TRUE(source) << detail;
  ingestAll(**source, ladder(50, kBase, "s"));
  const source::TimeRange range{kBase + 20, kBase + 29};
  auto plan = (*source)->plan(range, &detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_GE(plan->count, 10u);
  EXPECT_LE(plan->count, 30u) << "records before start_at are not counted";
  auto reader = (*source)->openReader(range, plan->checkpoint);
  ASSERT_TRUE(reader);
  auto read = sorted(drain(**reader));
  ASSERT_EQ(read.size(), 10u);
  EXPECT_EQ(read.front().time, kBase + 20);
  EXPECT_EQ(read.back().time, kBase + 29);
}

TEST(KafkaStartLookup, TheTimeIndexOfTheMockFindsNothing) {
  // Why the option exists: librdkafka's mock answers "no record" to every time lookup, so
  // with the default a range after 1970 looks empty there.
  MockCluster cluster(1);
  auto settings = cluster.settings();
  settings.start_lookup = config::KafkaStartLookup::TimeIndex;
  std::string detail;
  auto source = makeKafkaSource(settings, &detail);
  ASSERT_TRUE(source) << detail;
  ingestAll(**source, ladder(5, kBase, "t"));
  auto plan = (*source)->plan({kBase, kBase + 10}, &detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_EQ(plan->count, 0u);
}

TEST(KafkaStartLookup, ConfigSpellsItTimeIndexOrScan) {
  const std::string base =
      "regions:\n"
      "  eu:\n"
      "    webhook: {endpoint: \"http://127.0.0.1:9/x\"}\n"
      "    source:\n"
      "      kafka:\n"
      "        bootstrap_servers: k1:9092\n"
      "        topic: audit.eu\n";
  const auto dir = std::filesystem::temp_directory_path();
  auto plain = config::parseConfig(base, "config.yaml", dir);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.config->regions.at("eu").kafka->start_lookup,
            config::KafkaStartLookup::TimeIndex);
  auto scan = config::parseConfig(base + "        start_lookup: scan\n", "config.yaml", dir);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan.config->regions.at("eu").kafka->start_lookup, config::KafkaStartLookup::Scan);
  auto bad = config::parseConfig(base + "        start_lookup: read\n", "config.yaml", dir);
  ASSERT_FALSE(bad.ok());
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_NE(bad.errors.front().toString().find("expected one of time_index, scan"),
            std::string::npos)
      << bad.errors.front().toString();
}

TEST(KafkaRecordTime, IngestWritesTheEventTimeHeader) {
  MockCluster cluster(1);
  auto source = cluster.source();
  std::vector<std::string> events{
      event(kBase + 123, "a"),
      R"({"event_ts":"2026-01-01T01:00:00.5+01:00","id":"b"})",
  };
  ingestAll(*source, events);
  auto records = cluster.records();
  ASSERT_EQ(records.size(), 2u);
  std::map<std::string, RawRecord> by_value;
  for (const auto& r : records) by_value[r.value] = r;
  EXPECT_EQ(by_value[events[0]].time_header, std::to_string(kBase + 123));
  EXPECT_EQ(by_value[events[1]].time_header, std::to_string(kBase + 500));
}

/** Produces records as another producer would: no key, `header` (if any) as given. */
void produceRaw(const MockCluster& cluster, const std::string& value,
                const std::string* time_header) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstrap().c_str(), error, sizeof error);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  ASSERT_NE(producer, nullptr) << error;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
  if (time_header) {
    rd_kafka_header_add(headers, detail::kTimeHeader, -1, time_header->data(),
                        static_cast<ssize_t>(time_header->size()));
  }
  EXPECT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(cluster.topic().c_str()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
                              RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
}

TEST(KafkaRecordTime, RecordsWithoutAValidHeaderAreParsed) {
  MockCluster cluster(1);
  const std::string bad_header = "yesterday";
  produceRaw(cluster, event(kBase + 1, "no-header"), nullptr);
  produceRaw(cluster, event(kBase + 2, "bad-header"), &bad_header);
  auto source = cluster.source();
  ingestAll(*source, {event(kBase + 3, "ours")});
  auto reader = source->openReader({kBase + 1, kBase + 3}, {});
  ASSERT_TRUE(reader);
  auto read = sorted(drain(**reader));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0], (ReadEvent{kBase + 1, event(kBase + 1, "no-header")}));
  EXPECT_EQ(read[1], (ReadEvent{kBase + 2, event(kBase + 2, "bad-header")}));
  EXPECT_EQ(read[2], (ReadEvent{kBase + 3, event(kBase + 3, "ours")}));
}

TEST(KafkaRecordTime, FormatsTheHeaderInDecimal) {
  char buffer[24];
  std::size_t n = detail::formatTimeHeader(kBase, buffer);
  EXPECT_EQ(std::string(buffer, n), std::to_string(kBase));
}

}  // namespace
}  // namespace audit::kafka::testing
