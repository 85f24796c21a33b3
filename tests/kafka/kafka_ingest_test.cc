// What ingest writes to the topic (docs/kafka.md): one record per event, no key, the record
// timestamp the event's time, the value the event's bytes.

#include <gtest/gtest.h>

#include "kafka/kafka_source.hpp"
#include "tests/kafka/mock_cluster.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

TEST(KafkaIngest, RecordTimestampIsTheEventTimeAndValueTheTrimmedBytes) {
  MockCluster cluster(3);
  auto source = cluster.source();
  std::vector<std::string> events{
      " " + event(1'767'225'600'123, "a") + "\r\n",
      R"({"event_ts":"2026-01-01T01:00:00.5+01:00","id":"b"})",
  };
  auto v = views(events);
  auto report = source->ingest(v, false, 0);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->ingested, 2u);

  auto records = cluster.records();
  ASSERT_EQ(records.size(), 2u);
  std::map<std::string, RawRecord> by_value;
  for (const auto& r : records) by_value[r.value] = r;
  ASSERT_TRUE(by_value.contains(event(1'767'225'600'123, "a")));
  EXPECT_EQ(by_value[event(1'767'225'600'123, "a")].timestamp, 1'767'225'600'123);
  ASSERT_TRUE(by_value.contains(events[1]));
  EXPECT_EQ(by_value[events[1]].timestamp, 1'767'225'600'500);
  for (const auto& r : records) EXPECT_FALSE(r.has_key);
}

TEST(KafkaIngest, ALogDoesNotDeduplicate) {
  MockCluster cluster(1);
  auto source = cluster.source();
  std::vector<std::string> events{event(1000, "same")};
  auto v = views(events);
  for (int i = 0; i < 2; ++i) {
    auto report = source->ingest(v, false, 0);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->ingested, 1u);
    EXPECT_EQ(report->duplicates, 0u) << "a log cannot tell; documented in docs/kafka.md";
  }
  EXPECT_EQ(cluster.records().size(), 2u);
}

TEST(KafkaIngest, EventTimesBefore1970AreRejected) {
  MockCluster cluster(1);
  auto source = cluster.source();
  std::vector<std::string> events{event(-5, "old")};
  auto v = views(events);
  auto report = source->ingest(v, false, 1);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->ingested, 0u);
  ASSERT_EQ(report->rejected.size(), 1u);
  EXPECT_EQ(report->rejected[0].index, 1u);
  EXPECT_NE(report->rejected[0].reason.find("before 1970"), std::string::npos);
}

TEST(KafkaIngest, ABadPropertyIsRefusedWithLibrdkafkasWords) {
  config::KafkaSourceSettings settings{"127.0.0.1:9", "audit", {{"no.such.property", "1"}}};
  std::string detail;
  auto made = makeKafkaSource(settings, &detail);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error(), source::Errc::invalid_argument);
  EXPECT_NE(detail.find("no.such.property"), std::string::npos) << detail;
}

TEST(KafkaIngest, RequiredPropertiesCannotBeOverridden) {
  MockCluster cluster(1);
  auto settings = cluster.settings();
  settings.properties = {{"auto.offset.reset", "earliest"}, {"enable.idempotence", "false"}};
  LogCapture log;
  std::string detail;
  auto made = makeKafkaSource(settings, cluster.options(), &detail);
  ASSERT_TRUE(made) << detail;
  EXPECT_NE(log.text().find("auto.offset.reset=earliest ignored"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("enable.idempotence=false ignored"), std::string::npos) << log.text();
}

}  // namespace
}  // namespace audit::kafka::testing
