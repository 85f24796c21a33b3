// kafka_bench: replay read rate of a Kafka region against the local RocksDB store, on the
// same events (docs/performance.md, "Kafka source").
//
//   kafka_bench [--events N] [--partitions P] [--repeat R] [--batch-events E]
//               [--batch-bytes B] [--bootstrap HOST:PORT --topic T] [--kafka-only]
//               [--property KEY=VALUE]...
//
// Generates N Konnect-like events (~600 bytes, bench/event_generator.hpp, in time order over
// one day), ingests them into a fresh RocksDB store and into a topic, then reads the whole
// range from each as a replay job does (openReader, next() with E events / B bytes per batch)
// R times, and prints each reader's best and median rate, the ratio kafka/rocksdb and the
// peak RSS of each read phase. Reading is what is compared: delivery is the same code for
// both sources.
//
// --replay [--compression none|gzip] compares whole replays instead: the real audit-replayd
// (built next to this program) with two regions on the same events, `us` in its RocksDB
// store and `eu` on the topic (start_lookup: scan), each job put_job → completed into an
// in-process receiver, R times each, with the daemon's peak RSS.
//
// Without --bootstrap the topic lives in librdkafka's in-process mock cluster (3 brokers,
// the same process, so its broker threads share the CPU with the reader). The mock keeps at
// most 5 MiB per partition: keep N x 600 bytes / P below that (the default 200000 events
// over 32 partitions is ~3.7 MiB each). --kafka-only skips RocksDB (for profiling);
// --property passes a librdkafka property to the region (as source.kafka.properties does).

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_process.hpp"
#include "bench/event_generator.hpp"
#include "common/clock.hpp"
#include "common/rfc3339.hpp"
#include "kafka/kafka_source.hpp"
#include "sink/receiver.hpp"
#include "store/event_store.hpp"

namespace {

using audit::EpochMillis;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr EpochMillis kDay = 86'400'000;
// The events span one day, starting two days ago: within the daemon's default retention (7d)
// and look-back limit, and not in the future.
const EpochMillis kStart = (audit::RealClock().nowMillis() - 2 * kDay) / 1000 * 1000;

struct Args {
  std::size_t events = 200'000;
  int partitions = 32;
  int repeat = 3;
  std::size_t batch_events = 1'000;
  std::size_t batch_bytes = 1 << 20;
  std::string bootstrap;
  std::string topic = "audit-bench";
  bool kafka_only = false;
  bool replay = false;
  std::string compression = "none";
  std::vector<std::pair<std::string, std::string>> properties;  // --property KEY=VALUE
};

/** librdkafka's mock cluster (3 brokers) in this process, with the topic; stopped at scope end. */
class InProcessMock {
 public:
  InProcessMock(const std::string& topic, int partitions) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    cluster_ = rd_kafka_mock_cluster_new(host_, 3);
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  }
  ~InProcessMock() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  InProcessMock(const InProcessMock&) = delete;
  InProcessMock& operator=(const InProcessMock&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Peak RSS of a phase: Linux resets the high-water mark on "5" > /proc/self/clear_refs.
void resetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

long statusKib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + field.size(), nullptr, 10);
  }
  return 0;
}

std::vector<std::string> makeEvents(std::size_t n) {
  audit::bench::EventSequence sequence(n, kStart, kStart + kDay - 1, {.seed = 42});
  std::vector<std::string> events;
  events.reserve(n);
  std::string event;
  while (sequence.next(event)) events.push_back(event);
  return events;
}

bool ingestAll(audit::source::EventSource& source, const std::vector<std::string>& events) {
  constexpr std::size_t kCall = 20'000;
  for (std::size_t i = 0; i < events.size(); i += kCall) {
    std::vector<std::string_view> chunk(
        events.begin() + static_cast<long>(i),
        events.begin() + static_cast<long>(std::min(i + kCall, events.size())));
    auto report = source.ingest(chunk, false, i);
    if (!report || report->ingested != chunk.size()) {
      std::fprintf(stderr, "ingest failed at %zu: %s\n", i,
                   report ? "not all ingested" : report.error().message().c_str());
      return false;
    }
  }
  return true;
}

struct Phase {
  std::vector<double> rates;   // events per second, one per run
  double busy = 0;             // the reading thread's CPU time / wall time, over all runs
  double first_batch = 0;      // seconds from open to the first batch (connecting, first fetch)
  std::vector<double> steady;  // events per second after the first batch, one per run
  std::size_t events = 0;
  std::size_t bytes = 0;
  double open_seconds = 0;
  long start_rss_kib = 0;  // when the phase began (the events, the mock's log, the store)
  long peak_rss_kib = 0;

  double best() const { return *std::max_element(rates.begin(), rates.end()); }
  double median() const {
    std::vector<double> r = rates;
    std::sort(r.begin(), r.end());
    return r[r.size() / 2];
  }
};

/** Reads the whole range `repeat` times as a job does: plan, open from the plan, next(). */
bool readAll(audit::source::EventSource& source, const Args& args, Phase& out) {
  const audit::source::TimeRange range{kStart, kStart + kDay - 1};
  resetPeakRss();
  out.start_rss_kib = statusKib("VmRSS:");
  double wall = 0;
  double cpu = 0;
  for (int run = 0; run < args.repeat; ++run) {
    auto start = Clock::now();
    std::string detail;
    auto plan = source.plan(range, &detail);
    if (!plan) {
      std::fprintf(stderr, "plan: %s %s\n", plan.error().message().c_str(), detail.c_str());
      return false;
    }
    auto reader = source.openReader(range, plan->checkpoint);
    if (!reader) {
      std::fprintf(stderr, "openReader: %s\n", reader.error().message().c_str());
      return false;
    }
    out.open_seconds = secondsSince(start);
    start = Clock::now();
    const double cpu_start = threadCpuSeconds();
    audit::EventBatch batch;
    std::size_t events = 0;
    std::size_t bytes = 0;
    Clock::time_point first{};
    std::size_t first_events = 0;
    for (;;) {
      auto r = (*reader)->next(batch, {args.batch_events, args.batch_bytes});
      if (!r) {
        std::fprintf(stderr, "next: %s %s\n", r.error().message().c_str(),
                     (*reader)->lastErrorDetail().c_str());
        return false;
      }
      if (batch.empty()) break;
      if (events == 0) {
        first = Clock::now();
        first_events = batch.size();
      }
      events += batch.size();
      bytes += batch.eventBytes();
    }
    double seconds = secondsSince(start);
    out.first_batch = std::chrono::duration<double>(first - start).count();
    out.steady.push_back(static_cast<double>(events - first_events) / secondsSince(first));
    wall += seconds;
    cpu += threadCpuSeconds() - cpu_start;
    out.rates.push_back(static_cast<double>(events) / seconds);
    out.events = events;
    out.bytes = bytes;
  }
  out.peak_rss_kib = statusKib("VmHWM:");
  out.busy = cpu / wall;
  return true;
}

void print(const char* name, double ingest_rate, const Phase& p) {
  std::printf(
      "%-10s ingest %7.0f ev/s | plan+open %6.3f s | read best %8.0f ev/s (%6.1f MiB/s) "
      "median %8.0f ev/s | first batch after %5.3f s, then best %8.0f ev/s | reader on CPU "
      "%3.0f%% | %zu events | peak RSS %ld MiB (+%ld MiB while reading)\n",
      name, ingest_rate, p.open_seconds, p.best(),
      p.best() * static_cast<double>(p.bytes) / static_cast<double>(p.events) / (1 << 20),
      p.median(), p.first_batch, *std::max_element(p.steady.begin(), p.steady.end()), p.busy * 100,
      p.events, p.peak_rss_kib / 1024, (p.peak_rss_kib - p.start_rss_kib) / 1024);
}

// ---- --replay: whole jobs through the real daemon --------------------------------------

struct ReplayRun {
  double seconds = 0;  // put_job → completed
  double sizing = 0;   // put_job → running
  std::uint64_t events = 0;
};

std::optional<boost::json::object> jobOf(const std::optional<boost::json::object>& answer) {
  if (!answer || !answer->contains("job") || !answer->at("job").is_object()) return std::nullopt;
  return answer->at("job").as_object();
}

/** One job over the whole range of `region`; nullopt (and why on stderr) when it fails. */
std::optional<ReplayRun> replayOnce(audit::bench::ControlClient& control,
                                    audit::sink::Receiver& receiver, const std::string& region,
                                    std::uint64_t expected) {
  const audit::sink::ReceiverStats before = receiver.stats();
  const auto t0 = Clock::now();
  auto put = control.call({{"op", "put_job"},
                           {"region", region},
                           {"start_at", audit::formatRfc3339(kStart)},
                           {"end_at", audit::formatRfc3339(kStart + kDay - 1000)}},
                          30s);
  if (!put || !put->contains("code") || put->at("code") != 202) {
    std::fprintf(stderr, "put_job %s refused\n", region.c_str());
    return std::nullopt;
  }
  ReplayRun run;
  while (Clock::now() - t0 < 600s) {
    auto job = jobOf(control.call({{"op", "get_job"}, {"region", region}}, 30s));
    if (!job) return std::nullopt;
    std::string status(job->at("status").as_string());
    if (run.sizing == 0 && status != "accepted" && status != "pending") {
      run.sizing = secondsSince(t0);
    }
    if (status == "failed") {
      std::fprintf(stderr, "job %s failed: %s\n", region.c_str(),
                   boost::json::serialize(job->at("error")).c_str());
      return std::nullopt;
    }
    if (status == "completed") break;
    // Until every event is in, wait on the receiver (returns at once once they are); then
    // poll for the completed status.
    receiver.waitFor(
        [&](const audit::sink::ReceiverStats& s) { return s.events - before.events >= expected; },
        2ms);
  }
  run.seconds = secondsSince(t0);
  run.events = receiver.stats().events - before.events;
  if (run.events < expected) {
    std::fprintf(stderr, "job %s delivered %llu of %llu events\n", region.c_str(),
                 static_cast<unsigned long long>(run.events),
                 static_cast<unsigned long long>(expected));
    return std::nullopt;
  }
  return run;
}

int runReplay(const Args& args, audit::bench::Launcher& launcher,
              const std::vector<std::string>& events) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("kafka-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir / "run");
  fs::create_directories(dir / "spool");
  std::string detail;
  {
    auto store = audit::store::Store::open({.data_dir = dir / "data"}, &detail);
    if (!store) {
      std::fprintf(stderr, "store: %s\n", detail.c_str());
      return 1;
    }
    if (!ingestAll(*(*store)->region("us"), events)) return 1;
  }
  std::optional<InProcessMock> cluster;
  std::string bootstrap = args.bootstrap;
  if (bootstrap.empty()) {
    cluster.emplace(args.topic, args.partitions);
    bootstrap = cluster->bootstrap();
  }
  const bool on_mock = cluster.has_value();  // still known after the mock is stopped
  {
    audit::config::KafkaSourceSettings settings{
        .bootstrap_servers = bootstrap, .topic = args.topic, .properties = args.properties};
    settings.properties.emplace_back("sticky.partitioning.linger.ms", "0");
    auto source = audit::kafka::makeKafkaSource(settings, &detail);
    if (!source || !ingestAll(**source, events)) {
      std::fprintf(stderr, "kafka: %s\n", detail.c_str());
      return 1;
    }
  }
  audit::sink::ReceiverOptions receiver_options;
  receiver_options.keep_requests = false;  // count only, as the sink of a benchmark
  audit::sink::Receiver receiver(receiver_options);
  receiver.start();

  std::string kafka_properties;
  for (const auto& [key, value] : args.properties) {
    kafka_properties += "          " + key + ": \"" + value + "\"\n";
  }
  const std::string webhook = "    webhook: {endpoint: \"" + receiver.url() +
                              "\", compression: " + args.compression + "}\n" +
                              "    batch: {max_events: " + std::to_string(args.batch_events) +
                              ", max_bytes: " + std::to_string(args.batch_bytes) + "}\n";
  std::ofstream(dir / "config.yaml")
      << "data_dir: data\n"
      << "log: {level: warn, format: text}\n"
      << "control: {socket: run/control.sock, spool_dir: spool}\n"
      << "regions:\n"
      << "  us:\n"
      << webhook << "  eu:\n"
      << webhook << "    source:\n"
      << "      kafka:\n"
      << "        bootstrap_servers: \"" << bootstrap << "\"\n"
      << "        topic: " << args.topic << "\n"
      << (on_mock ? "        start_lookup: scan\n" : "")
      << (kafka_properties.empty() ? "" : "        properties:\n" + kafka_properties);

  const fs::path binary = fs::path(AUDIT_BINARY_DIR) / "daemon" / "audit-replayd";
  pid_t pid = launcher.spawn({binary.string(), "--config", (dir / "config.yaml").string()},
                             dir / "daemon.log");
  audit::bench::ControlClient control;
  audit::bench::ProcessWatch watch(pid);
  bool up = false;
  for (auto t0 = Clock::now(); !up && Clock::now() - t0 < 20s;) {
    if (control.connect(dir / "run" / "control.sock")) {
      auto pong = control.call({{"op", "ping"}}, 5s);
      up = pong && pong->contains("ok") && pong->at("ok") == true;
    }
    // Not up yet: wait a little for it, at once done if the daemon exits instead.
    if (!up && watch.waitExit(10ms)) break;
  }
  int status = 0;
  std::vector<ReplayRun> rocks;
  std::vector<ReplayRun> kafka;
  if (!up) {
    std::fprintf(stderr, "the daemon did not come up; see %s\n", (dir / "daemon.log").c_str());
    status = 1;
  }
  for (int run = 0; up && status == 0 && run < args.repeat; ++run) {
    auto r = replayOnce(control, receiver, "us", events.size());
    auto k = r ? replayOnce(control, receiver, "eu", events.size()) : std::nullopt;
    if (!r || !k) {
      status = 1;
      break;
    }
    rocks.push_back(*r);
    kafka.push_back(*k);
  }
  double hwm = audit::bench::liveHighWaterMib(pid);
  ::kill(pid, SIGTERM);
  audit::bench::ChildUsage usage = launcher.reap(pid, 15s);
  cluster.reset();
  if (status != 0) {
    std::fprintf(stderr, "daemon log: %s\n", (dir / "daemon.log").c_str());
    return status;
  }
  fs::remove_all(dir);

  auto rate = [&](const ReplayRun& r) { return static_cast<double>(events.size()) / r.seconds; };
  auto report = [&](const char* name, const std::vector<ReplayRun>& runs) {
    std::vector<double> rates;
    for (const auto& r : runs) rates.push_back(rate(r));
    std::sort(rates.begin(), rates.end());
    double sizing = 0;
    for (const auto& r : runs) sizing = std::max(sizing, r.sizing);
    std::printf(
        "replay %-8s %s: best %8.0f ev/s, median %8.0f ev/s (put_job→completed; "
        "sizing at most %.3f s)\n",
        name, args.compression.c_str(), rates.back(), rates[rates.size() / 2], sizing);
    return std::make_pair(rates.back(), rates[rates.size() / 2]);
  };
  auto r = report("rocksdb", rocks);
  auto k = report(on_mock ? "kafka-mock" : "kafka", kafka);
  std::printf(
      "ratio kafka/rocksdb: best %.2f, median %.2f | daemon peak RSS %.1f MiB (VmHWM "
      "%.1f), CPU %.2f s user + %.2f s sys over all %d runs of both\n",
      k.first / r.first, k.second / r.second, usage.max_rss_mib, hwm, usage.user_s, usage.system_s,
      args.repeat);
  return 0;
}

bool parseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--kafka-only") {
      args.kafka_only = true;
      continue;
    }
    if (arg == "--replay") {
      args.replay = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (arg == "--events") {
      args.events = std::strtoul(value, nullptr, 10);
    } else if (arg == "--partitions") {
      args.partitions = std::atoi(value);
    } else if (arg == "--repeat") {
      args.repeat = std::max(1, std::atoi(value));
    } else if (arg == "--batch-events") {
      args.batch_events = std::strtoul(value, nullptr, 10);
    } else if (arg == "--batch-bytes") {
      args.batch_bytes = std::strtoul(value, nullptr, 10);
    } else if (arg == "--bootstrap") {
      args.bootstrap = value;
    } else if (arg == "--topic") {
      args.topic = value;
    } else if (arg == "--compression") {
      args.compression = value;
      if (args.compression != "none" && args.compression != "gzip") return false;
    } else if (arg == "--property") {
      std::string_view kv = value;
      std::size_t eq = kv.find('=');
      if (eq == std::string_view::npos) return false;
      args.properties.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    } else {
      return false;
    }
  }
  return args.events > 0 && args.partitions > 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread or allocation: the daemon's peak RSS must not inherit ours.
  audit::bench::Launcher launcher = audit::bench::Launcher::forkEarly();
  Args args;
  if (!parseArgs(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: kafka_bench [--events N] [--partitions P] [--repeat R] "
                 "[--batch-events E] [--batch-bytes B] [--bootstrap HOST:PORT --topic T] "
                 "[--kafka-only] [--property KEY=VALUE]... [--replay [--compression "
                 "none|gzip]]\n");
    return 2;
  }
  auto events = makeEvents(args.events);
  std::size_t total_bytes = 0;
  for (const auto& e : events) total_bytes += e.size();
  std::printf(
      "%zu events, %.0f bytes each on average, batches of %zu events / %zu bytes, %d runs\n",
      events.size(), static_cast<double>(total_bytes) / static_cast<double>(events.size()),
      args.batch_events, args.batch_bytes, args.repeat);
  if (args.replay) return runReplay(args, launcher, events);

  Phase rocks;
  double rocks_ingest = 0;
  if (!args.kafka_only) {
    auto dir =
        std::filesystem::temp_directory_path() / ("kafka-bench-" + std::to_string(::getpid()));
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
      rocks_ingest = static_cast<double>(events.size()) / secondsSince(start);
      if (!readAll(*region, args, rocks)) return 1;
      print("rocksdb", rocks_ingest, rocks);
    }
    std::filesystem::remove_all(dir);
  }

  // Kafka: the mock cluster unless a real one is given.
  std::optional<InProcessMock> cluster;
  if (args.bootstrap.empty()) {
    cluster.emplace(args.topic, args.partitions);
    args.bootstrap = cluster->bootstrap();
  }
  Phase kafka;
  {
    audit::config::KafkaSourceSettings settings{
        .bootstrap_servers = args.bootstrap, .topic = args.topic, .properties = args.properties};
    if (cluster) {
      // The mock has no time index.
      settings.start_lookup = audit::config::KafkaStartLookup::Scan;
      // Spread records evenly: a sticky partition could overflow the mock's 5 MiB.
      settings.properties.emplace_back("sticky.partitioning.linger.ms", "0");
    }
    std::string detail;
    auto source = audit::kafka::makeKafkaSource(settings, &detail);
    if (!source) {
      std::fprintf(stderr, "kafka: %s\n", detail.c_str());
      return 1;
    }
    auto start = Clock::now();
    if (!ingestAll(**source, events)) return 1;
    double ingest = static_cast<double>(events.size()) / secondsSince(start);
    std::fprintf(stderr, "kafka: %zu events ingested; reading\n", events.size());
    if (!readAll(**source, args, kafka)) return 1;
    print(cluster ? "kafka-mock" : "kafka", ingest, kafka);
  }
  cluster.reset();
  if (!args.kafka_only) {
    std::printf("ratio kafka/rocksdb: best %.2f, median %.2f\n", kafka.best() / rocks.best(),
                kafka.median() / rocks.median());
  }
  return 0;
}
