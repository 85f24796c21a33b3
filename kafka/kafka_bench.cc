// kafka_bench: replay rate of the Kafka reader against the RocksDB reader on the same events.
//
//   kafka_bench [--events N] [--partitions P] [--bytes B] [--bootstrap HOST:PORT --topic T]
//
// Without --bootstrap it runs librdkafka's in-process mock cluster, which keeps at most
// 5 MiB per partition: keep events * bytes / partitions below that. Ingests the same events
// into a fresh RocksDB store and into the topic, then reads the whole range from each with
// batches of 1000 events / 1 MiB, as a replay job does, and prints the rates.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/kafka_source.hpp"
#include "store/event_store.hpp"

namespace {

using audit::EpochMillis;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::string> makeEvents(std::size_t n, std::size_t bytes) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> late(0, 5'000);
  const EpochMillis base = 1'767'225'600'000;
  std::vector<std::string> events;
  events.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string e = R"({"rt":)" + std::to_string(base + static_cast<EpochMillis>(i) - late(rng)) +
                    R"(,"request_id":"req-)" + std::to_string(i) +
                    R"(","request_source":"kong-gateway","method":"POST","path":"/v2/things",)"
                    R"("status":201,"client_ip":"10.0.0.1","principal":"svc-ingest","detail":")";
    if (e.size() + 2 < bytes) e.append(bytes - e.size() - 2, 'x');
    e += "\"}";
    events.push_back(std::move(e));
  }
  return events;
}

bool ingestAll(audit::store::EventSource& source, const std::vector<std::string>& events) {
  for (std::size_t i = 0; i < events.size(); i += 1'000) {
    std::vector<std::string_view> chunk(
        events.begin() + static_cast<long>(i),
        events.begin() + static_cast<long>(std::min(i + 1'000, events.size())));
    auto report = source.ingest(chunk, false, i);
    if (!report || report->ingested != chunk.size()) {
      std::fprintf(stderr, "ingest failed at %zu: %s\n", i,
                   report ? "not all ingested" : report.error().message().c_str());
      return false;
    }
  }
  return true;
}

struct ReadResult {
  double open_seconds = 0;
  double read_seconds = 0;
  std::size_t events = 0;
  std::size_t bytes = 0;
};

bool readAll(audit::store::EventSource& source, ReadResult& out) {
  const audit::store::TimeRange all{1, std::numeric_limits<EpochMillis>::max()};
  auto start = Clock::now();
  auto reader = source.openReader(all, {});
  if (!reader) {
    std::fprintf(stderr, "openReader: %s\n", reader.error().message().c_str());
    return false;
  }
  out.open_seconds = secondsSince(start);
  start = Clock::now();
  audit::EventBatch batch;
  for (;;) {
    auto r = (*reader)->next(batch, {1'000, 1 << 20});
    if (!r) {
      std::fprintf(stderr, "next: %s\n", r.error().message().c_str());
      return false;
    }
    if (batch.empty()) break;
    out.events += batch.size();
    out.bytes += batch.eventBytes();
  }
  out.read_seconds = secondsSince(start);
  return true;
}

void print(const char* name, double ingest_seconds, const ReadResult& r) {
  std::printf("%-8s ingest %8.0f ev/s | open %6.3f s | read %9.0f ev/s %7.1f MiB/s (%zu events)\n",
              name, static_cast<double>(r.events) / ingest_seconds, r.open_seconds,
              static_cast<double>(r.events) / r.read_seconds,
              static_cast<double>(r.bytes) / r.read_seconds / (1 << 20), r.events);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 50'000;
  std::size_t bytes = 500;
  int partitions = 8;
  std::string bootstrap;
  std::string topic = "audit-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view arg = argv[i];
    if (arg == "--events")
      n = std::strtoul(argv[i + 1], nullptr, 10);
    else if (arg == "--bytes")
      bytes = std::strtoul(argv[i + 1], nullptr, 10);
    else if (arg == "--partitions")
      partitions = std::atoi(argv[i + 1]);
    else if (arg == "--bootstrap")
      bootstrap = argv[i + 1];
    else if (arg == "--topic")
      topic = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  auto events = makeEvents(n, bytes);

  // RocksDB, in a fresh directory.
  auto dir = std::filesystem::temp_directory_path() / ("kafka-bench-" + std::to_string(::getpid()));
  std::string detail;
  {
    auto store = audit::store::Store::open({.data_dir = dir}, &detail);
    if (!store) {
      std::fprintf(stderr, "store: %s\n", detail.c_str());
      return 1;
    }
    auto region = (*store)->region("bench");
    auto start = Clock::now();
    if (!ingestAll(*region, events)) return 1;
    double ingest = secondsSince(start);
    ReadResult r;
    if (!readAll(*region, r)) return 1;
    print("rocksdb", ingest, r);
  }
  std::filesystem::remove_all(dir);

  // Kafka: the mock cluster unless a real one is given.
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  if (bootstrap.empty()) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
    host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    cluster = rd_kafka_mock_cluster_new(host, 3);
    rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
    bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  }
  {
    audit::config::KafkaSourceSettings settings{bootstrap, topic, {}};
    audit::kafka::KafkaSourceOptions options;
    if (cluster) {
      // Spread records evenly: a sticky partition could overflow the mock's 5 MiB.
      settings.properties.emplace_back("sticky.partitioning.linger.ms", "0");
      auto finder = audit::kafka::makeScanningFinder(settings, &detail);
      if (!finder) return 1;
      options.finder = *finder;
    }
    auto source = audit::kafka::makeKafkaSource(settings, options, &detail);
    if (!source) {
      std::fprintf(stderr, "kafka: %s\n", detail.c_str());
      return 1;
    }
    auto start = Clock::now();
    if (!ingestAll(**source, events)) return 1;
    double ingest = secondsSince(start);
    ReadResult r;
    if (!readAll(**source, r)) return 1;
    print(cluster ? "kafka-mock" : "kafka", ingest, r);
  }
  if (cluster) rd_kafka_mock_cluster_destroy(cluster);
  if (host) rd_kafka_destroy(host);
  return 0;
}
