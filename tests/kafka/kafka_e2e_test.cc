// End to end for a Kafka region (docs/kafka.md): the real audit-replayd against
// audit-replay-kafka-mock (librdkafka's mock brokers in their own process) and a real
// receiver. The mock has no time index, so the region uses `start_lookup: scan`.

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <csignal>
#include <optional>
#include <regex>
#include <set>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/fault_webhook.hpp"
#include "tests/e2e/receiver_scripts.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

/** audit-replay-kafka-mock in its own process; stopped (SIGTERM) with the test. */
class MockBrokers {
 public:
  MockBrokers(const std::filesystem::path& dir, const std::string& topic, int partitions)
      : process_({binaryPath("kafka/audit-replay-kafka-mock").string(), "--brokers", "3", "--topic",
                  topic, "--partitions", std::to_string(partitions)},
                 dir / "kafka-mock.log") {
    const std::regex line("bootstrap: (\\S+)");
    waitUntil(
        [&] {
          std::smatch m;
          std::string log = process_.log();
          if (!std::regex_search(log, m, line)) return !process_.running();
          bootstrap_ = m[1];
          return true;
        },
        10s);
  }
  ~MockBrokers() {
    process_.signal(SIGTERM);
    process_.wait(5s);
  }
  const std::string& bootstrap() const { return bootstrap_; }
  std::string log() const { return process_.log(); }

  /** Every broker refuses connections (SIGUSR1) until up() (SIGUSR2). */
  bool down() { return toggle(SIGUSR1, "brokers down"); }
  bool up() { return toggle(SIGUSR2, "brokers up"); }

 private:
  bool toggle(int signal, const std::string& said) {
    const std::size_t seen = countOf(said);
    process_.signal(signal);
    return waitUntil([&] { return countOf(said) > seen; }, 10s);
  }
  std::size_t countOf(const std::string& text) const {
    const std::string log = process_.log();
    std::size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }

  Process process_;
  std::string bootstrap_;
};

std::string kafkaRegion(const std::string& endpoint, const std::string& bootstrap,
                        const std::string& topic, int max_events = 50,
                        const std::string& max_elapsed = "10s") {
  RegionSettings settings;
  settings.timeout = "2s";
  settings.max_events = max_events;
  settings.retry =
      "{initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 3, max_elapsed: " + max_elapsed +
      "}";
  return usRegionYaml(endpoint, settings) +
         "    source:\n"
         "      kafka:\n"
         "        bootstrap_servers: \"" +
         bootstrap + "\"\n        topic: " + topic + "\n        start_lookup: scan\n";
}

std::vector<std::string> manyEvents(std::int64_t start, int n, std::size_t padding = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string e = makeEvent(start + i, "ev" + std::to_string(i));
    if (padding > 0) e.insert(e.size() - 1, ",\"pad\":\"" + std::string(padding, 'x') + "\"");
    out.push_back(std::move(e));
  }
  return out;
}

bool sawSourceRetry(const DaemonFixture& d) {
  return waitUntil(
      [&] { return d.log().find("event source unavailable, retrying in") != std::string::npos; },
      30s);
}

/** The job completed and the receiver holds exactly `events` (duplicates allowed). */
void expectCompletedWithExactly(DaemonFixture& d, const sink::Receiver& receiver,
                                const std::vector<std::string>& events) {
  auto job = d.waitJobEnded("us", 60s);
  ASSERT_TRUE(job) << d.log();
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job) << d.log();
  EXPECT_TRUE(nothingMissing(receiver.acceptedEvents(), events));
}

TEST(KafkaE2E, Kill9MidJobThenRestartDeliversTheWholeRange) {
  DaemonFixture d;
  MockBrokers kafka(d.dir(), "audit.us", 4);
  ASSERT_FALSE(kafka.bootstrap().empty()) << kafka.log();
  sink::Receiver receiver(sink::ReceiverOptions{}, slowly(std::chrono::milliseconds(20)));
  receiver.start();
  d.writeConfig(kafkaRegion(receiver.url(), kafka.bootstrap(), "audit.us"));
  ASSERT_TRUE(d.start()) << d.log();

  const std::int64_t start = nowMs() - 3'600'000;
  auto events = manyEvents(start, 3000);
  // Outside the range on both sides: never delivered. The order of production fixes the
  // planned upper bound: "before" is the first record of whichever partition the sticky
  // partitioner gives it, so every partition's start offset lies past it; "after" is the
  // last record of its partition, inside [start offset, high watermark). Produced after
  // the range instead, "before" may land alone with "after" in a partition of its own and
  // be counted or not by chance (3001 or 3002).
  ASSERT_TRUE(ingestAll(d, {makeEvent(start - 1, "before")}));
  ASSERT_TRUE(ingestAll(d, events));
  ASSERT_TRUE(ingestAll(d, {makeEvent(start + 3000, "after")}));

  auto put = d.call({{"op", "put_job"},
                     {"region", "us"},
                     {"start_at", isoMillis(start)},
                     {"end_at", isoMillis(start + 2999)}});
  ASSERT_TRUE(put && put->at("ok").as_bool()) << (put ? json::serialize(*put) : d.log());
  // A Kafka job's total is an upper bound while it runs (the local store's is exact).
  std::optional<json::object> running;
  ASSERT_TRUE(waitUntil(
      [&] {
        auto answer = d.call({{"op", "get_job"}, {"region", "us"}});
        if (!answer || !answer->at("ok").as_bool()) return false;
        running = answer->at("job").as_object();
        return running->at("status").as_string() == "running";
      },
      30s))
      << d.log();
  EXPECT_FALSE(running->at("events_total_exact").as_bool()) << json::serialize(*running);
  EXPECT_EQ(running->at("progress").as_object().at("events_total").as_int64(), 3001)
      << "every record from the start offsets to the high watermarks (the range and \"after\"): "
      << json::serialize(*running);
  ASSERT_TRUE(receiver.waitFor([](const sink::ReceiverStats& s) { return s.events >= 600; }, 60s))
      << d.log();
  d.kill9();
  const std::uint64_t before_restart = receiver.stats().events;
  EXPECT_LT(before_restart, 3000u) << "the kill should land mid-job";

  receiver.setScript({});
  ASSERT_TRUE(d.start()) << d.log();
  EXPECT_EQ(d.log().find("using the local store"), std::string::npos) << d.log();
  auto job = d.waitJobEnded("us", 120s);
  ASSERT_TRUE(job) << d.log();
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job) << d.log();
  EXPECT_EQ(job->at("progress").as_object().at("events_total").as_int64(),
            job->at("progress").as_object().at("events_sent").as_int64());
  EXPECT_TRUE(job->at("events_total_exact").as_bool());

  auto got = receiver.acceptedEvents();
  std::set<std::string> unique(got.begin(), got.end());
  std::set<std::string> want(events.begin(), events.end());
  std::vector<std::string> missing;
  std::set_difference(want.begin(), want.end(), unique.begin(), unique.end(),
                      std::back_inserter(missing));
  EXPECT_EQ(missing.size(), 0u) << "first missing: " << (missing.empty() ? "" : missing.front());
  EXPECT_EQ(unique, want) << "at-least-once: nothing of the range is missing, nothing outside it";
  EXPECT_GE(got.size(), events.size());
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(KafkaE2E, ARangeDeletedByRetentionFailsTheJobNamingThePartition) {
  DaemonFixture d;
  MockBrokers kafka(d.dir(), "audit.us", 1);
  ASSERT_FALSE(kafka.bootstrap().empty()) << kafka.log();
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  d.writeConfig(kafkaRegion(receiver.url(), kafka.bootstrap(), "audit.us"));
  ASSERT_TRUE(d.start()) << d.log();

  // The mock keeps 5 MiB per partition and drops the oldest record batches beyond that, as
  // retention would: ~7 MiB of events lose the first ones.
  const std::int64_t start = nowMs() - 3'600'000;
  ASSERT_TRUE(ingestAll(d, manyEvents(start, 7000, 1000)));

  auto put = d.call({{"op", "put_job"},
                     {"region", "us"},
                     {"start_at", isoMillis(start)},
                     {"end_at", isoMillis(start + 7000)}});
  ASSERT_TRUE(put && put->at("ok").as_bool()) << (put ? json::serialize(*put) : d.log());
  auto job = d.waitJobEnded("us", 60s);
  ASSERT_TRUE(job) << d.log();
  EXPECT_EQ(job->at("status").as_string(), "failed") << json::serialize(*job);
  ASSERT_TRUE(job->at("error").is_object()) << json::serialize(*job);
  const std::string reason(job->at("error").as_object().at("reason").as_string());
  EXPECT_NE(reason.find("deleted by the topic's retention: partition 0 (earliest time still held"),
            std::string::npos)
      << reason;
  EXPECT_EQ(receiver.stats().events, 0u) << "never a silent jump";
  EXPECT_EQ(d.stop().exit_code, 0);
}

// docs/kafka.md: the broker unreachable is retried with the region's backoff.
TEST(KafkaE2E, BrokersDownWhenAJobIsPlannedAreWaitedFor) {
  DaemonFixture d;
  MockBrokers kafka(d.dir(), "audit.us", 2);
  ASSERT_FALSE(kafka.bootstrap().empty()) << kafka.log();
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  d.writeConfig(kafkaRegion(receiver.url(), kafka.bootstrap(), "audit.us", 50, "20s"));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = manyEvents(start, 300);
  ASSERT_TRUE(ingestAll(d, events));

  ASSERT_TRUE(kafka.down()) << kafka.log();
  auto put = putJob(d, start, start + 299);
  ASSERT_TRUE(put.contains("ok") && put.at("ok").as_bool()) << json::serialize(put) << d.log();
  ASSERT_TRUE(sawSourceRetry(d)) << d.log();
  auto pending = d.call({{"op", "get_job"}, {"region", "us"}});
  ASSERT_TRUE(pending && pending->at("ok").as_bool());
  EXPECT_EQ(pending->at("job").as_object().at("status").as_string(), "pending")
      << json::serialize(*pending);

  ASSERT_TRUE(kafka.up()) << kafka.log();
  expectCompletedWithExactly(d, receiver, events);
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(KafkaE2E, BrokersDownAtResumeAreWaitedFor) {
  DaemonFixture d;
  MockBrokers kafka(d.dir(), "audit.us", 2);
  ASSERT_FALSE(kafka.bootstrap().empty()) << kafka.log();
  sink::Receiver receiver(sink::ReceiverOptions{}, slowly(std::chrono::milliseconds(20)));
  receiver.start();
  d.writeConfig(kafkaRegion(receiver.url(), kafka.bootstrap(), "audit.us", 50, "20s"));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = manyEvents(start, 1000);
  ASSERT_TRUE(ingestAll(d, events));
  auto put = putJob(d, start, start + 999);
  ASSERT_TRUE(put.contains("ok") && put.at("ok").as_bool()) << json::serialize(put) << d.log();
  ASSERT_TRUE(receiver.waitFor([](const sink::ReceiverStats& s) { return s.events >= 200; }, 60s))
      << d.log();
  d.kill9();

  ASSERT_TRUE(kafka.down()) << kafka.log();
  receiver.setScript({});
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_TRUE(sawSourceRetry(d)) << d.log();
  ASSERT_TRUE(kafka.up()) << kafka.log();
  expectCompletedWithExactly(d, receiver, events);
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(KafkaE2E, AReloadWithAnUnusableKafkaSourceIsRefusedAndTheRegionKeepsItsLog) {
  // librdkafka checks a client's properties only when it makes one: a CA file that does not
  // exist passes the YAML checks. The reload makes the region's clients, refuses, and the
  // region goes on with the source it had — never with the local store in its place.
  DaemonFixture d;
  MockBrokers kafka(d.dir(), "audit.us", 2);
  ASSERT_FALSE(kafka.bootstrap().empty()) << kafka.log();
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  const std::string good = kafkaRegion(receiver.url(), kafka.bootstrap(), "audit.us");
  d.writeConfig(good);
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  auto events = manyEvents(start, 100);
  ASSERT_TRUE(ingestAll(d, std::vector<std::string>(events.begin(), events.begin() + 50)));

  d.writeConfig(good + "        properties: {security.protocol: ssl, ssl.ca.location: \"" +
                (d.dir() / "no-such-ca.pem").string() + "\"}\n");
  d.process().signal(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return d.log().find("reload refused") != std::string::npos; }, 30s))
      << d.log();
  EXPECT_NE(d.log().find("regions.us.source.kafka"), std::string::npos) << d.log();
  EXPECT_EQ(d.log().find("using the local store"), std::string::npos) << d.log();

  // Still the topic: the events ingested after the refused reload are replayed from it.
  ASSERT_TRUE(ingestAll(d, std::vector<std::string>(events.begin() + 50, events.end())));
  auto put = putJob(d, start, start + 99);
  ASSERT_TRUE(put.contains("ok") && put.at("ok").as_bool()) << json::serialize(put) << d.log();
  expectCompletedWithExactly(d, receiver, events);
  EXPECT_EQ(d.stop().exit_code, 0);
}

TEST(KafkaE2E, BrokersDownPastMaxElapsedFailTheJobWithTheBrokersWords) {
  DaemonFixture d;
  MockBrokers kafka(d.dir(), "audit.us", 1);
  ASSERT_FALSE(kafka.bootstrap().empty()) << kafka.log();
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  d.writeConfig(kafkaRegion(receiver.url(), kafka.bootstrap(), "audit.us", 50, "2s"));
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = nowMs() - 3'600'000;
  ASSERT_TRUE(ingestAll(d, manyEvents(start, 10)));

  ASSERT_TRUE(kafka.down()) << kafka.log();
  const auto put_at = std::chrono::steady_clock::now();
  auto put = putJob(d, start, start + 9);
  ASSERT_TRUE(put.contains("ok") && put.at("ok").as_bool()) << json::serialize(put) << d.log();
  auto job = d.waitJobEnded("us", 60s);
  ASSERT_TRUE(job) << d.log();
  const auto took = std::chrono::steady_clock::now() - put_at;
  EXPECT_EQ(job->at("status").as_string(), "failed") << json::serialize(*job);
  ASSERT_TRUE(job->at("error").is_object()) << json::serialize(*job);
  const std::string reason(job->at("error").as_object().at("reason").as_string());
  EXPECT_NE(reason.find("sizing the range: kafka metadata of topic audit.us: "), std::string::npos)
      << "the broker's error: " << reason;
  EXPECT_GE(took, 2s) << "retried for retry.max_elapsed first: " << d.log();
  EXPECT_NE(d.log().find("event source unavailable, retrying in"), std::string::npos) << d.log();
  EXPECT_EQ(receiver.stats().events, 0u);
  EXPECT_EQ(d.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
