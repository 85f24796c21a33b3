// Against a real Kafka or Redpanda, opt-in: AUDIT_KAFKA_BOOTSTRAP=host:9092 and optionally
// AUDIT_KAFKA_TOPIC (default audit-replay-test; it must exist, with CreateTime timestamps).
// Uses the broker's time index, which the mock cluster lacks.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "kafka/kafka_source.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

TEST(KafkaRealBroker, IngestedEventsOfARangeReplayExactly) {
  const char* bootstrap = std::getenv("AUDIT_KAFKA_BOOTSTRAP");
  if (bootstrap == nullptr || *bootstrap == '\0') {
    GTEST_SKIP() << "set AUDIT_KAFKA_BOOTSTRAP=host:port (and AUDIT_KAFKA_TOPIC) to run against "
                    "a real broker";
  }
  const char* topic = std::getenv("AUDIT_KAFKA_TOPIC");
  config::KafkaSourceSettings settings{bootstrap, topic ? topic : "audit-replay-test", {}};
  std::string detail;
  auto source = makeKafkaSource(settings, &detail);  // the time index finder
  ASSERT_TRUE(source) << detail;

  // A window of our own, in the recent past, tagged so other writers do not disturb it.
  const EpochMillis now =
      std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string run = std::to_string(std::random_device{}());
  const EpochMillis first = now - 60'000;
  std::vector<std::string> events;
  for (int i = 0; i < 200; ++i)
    events.push_back(event(first + i * 10, run + "-" + std::to_string(i)));
  auto v = views(events);
  auto report = (*source)->ingest(v, false, 0);
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_EQ(report->ingested, events.size());

  const source::TimeRange range{first + 500, first + 1'499};  // events 50..149
  auto reader = (*source)->openReader(range, {});
  ASSERT_TRUE(reader) << reader.error().message();
  std::vector<ReadEvent> ours;
  for (const ReadEvent& e : drain(**reader, {64, 1 << 20})) {
    if (e.bytes.find("\"" + run + "-") != std::string::npos) ours.push_back(e);
  }
  std::vector<ReadEvent> expected;
  for (int i = 50; i < 150; ++i)
    expected.push_back({first + i * 10, events[static_cast<std::size_t>(i)]});
  EXPECT_EQ(sorted(ours), sorted(expected));
}

}  // namespace
}  // namespace audit::kafka::testing
