// replay_bench: replay throughput of audit-replayd against this machine's physical limits.
//
//   replay_bench [--count N] [--signed] [--cases LIST] [--repeat R] [--case-repeat R]
//                [--receiver counting|gunzip|both] [--seconds S] [--daemon PATH] [--dir PATH]
//                [--keep] [--log-level L]
//   replay_bench --scaling [--sizes 100000,1000000,5000000] [--cases json/none/1000] …
//
// Two in-process receivers: the counting one reads every byte but does not gunzip (the
// daemon is measured alone), the gunzipping one inflates and counts every event on the same
// two cores ("receiver on the same host"). Gzip cases run with each (--receiver both).
//
// --signed adds the signing figures: the Ed25519 sign and verify ceilings of OpenSSL 3 and
// libsodium on 1 and 2 threads (bench/sign_ceiling.hpp; bench/sign_bench prints them alone),
// a first signed replay with signing.cache on, the repeat replay of the same range (every
// signature from the cache), and `audit-replayctl verify` of the signed range.
//
// One run: ingests N Konnect-like events into a fresh store; measures the read limit (a
// raw EventReader scan), the delivery limit (prepared bodies POSTed back to back on one
// keep-alive connection to an in-process receiver) and gzip encoding alone; then replays
// the whole range through the real daemon for each case and reports every figure as a
// ratio of the limits measured in the same run (LIMITS.md: shared machines are noisy).
// Tables print as Markdown, ready for docs/performance.md.

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_daemon.hpp"
#include "bench/bench_dataset.hpp"
#include "bench/bench_limits.hpp"
#include "bench/bench_process.hpp"
#include "bench/bench_signing.hpp"
#include "bench/bench_util.hpp"
#include "bench/sign_ceiling.hpp"
#include "common/rfc3339.hpp"
#include "sink/receiver.hpp"
#include "store/event_store.hpp"

namespace {

namespace fs = std::filesystem;
using namespace audit;
using namespace audit::bench;
using namespace std::chrono_literals;

constexpr double kGzipTarget = 300'000;  // events/s, the gzip target
constexpr double kPlainTarget = 0.70;    // of min(read, delivery)
constexpr double kRssTarget = 64;        // MiB at 5M events
constexpr auto kSpan = std::chrono::milliseconds(2 * 3'600'000);  // the events' time range
constexpr auto kLag = std::chrono::milliseconds(3 * 60'000);      // ... ending this long ago

struct Args {
  std::size_t count = 1'000'000;
  bool with_signed = false;
  bool scaling = false;
  std::vector<std::size_t> sizes{100'000, 1'000'000, 5'000'000};
  std::vector<std::string> cases;  // empty: the default matrix
  int repeat = 3;                  // runs of each limit (median)
  int case_repeat = 1;             // runs of each daemon case (median by time)
  double seconds = 3;              // length of each timed delivery/encode run
  fs::path daemon = fs::path(AUDIT_BINARY_DIR) / "daemon" / "audit-replayd";
  fs::path dir;
  bool keep = false;
  std::string log_level = "info";
  std::optional<fs::path> perf_dir;
  std::string receiver = "both";  // counting | gunzip | both (gzip cases)
};

// The receivers the cases deliver to (see the top of this file).
struct Receivers {
  sink::Receiver* gunzip = nullptr;
  sink::Receiver* counting = nullptr;
};
constexpr const char* kCountingLabel = "counting receiver";
constexpr const char* kGunzipLabel = "gunzipping receiver, same host";

constexpr const char* kUsage =
    "usage: replay_bench [--count N] [--signed] [--cases json/none/1000,...] [--repeat R]\n"
    "                    [--case-repeat R] [--seconds S] [--daemon PATH] [--dir PATH] [--keep]\n"
    "                    [--log-level trace|debug|info|warn|error] [--perf DIR]\n"
    "                    [--receiver counting|gunzip|both]\n"
    "       replay_bench --scaling [--sizes 100000,1000000,5000000] [--cases json/none/1000]\n"
    "                    [same options]\n";

bool parseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--count") {
      a.count = std::stoull(value());
    } else if (k == "--signed") {
      a.with_signed = true;
    } else if (k == "--scaling") {
      a.scaling = true;
    } else if (k == "--sizes") {
      a.sizes.clear();
      for (const auto& s : splitList(value())) a.sizes.push_back(std::stoull(s));
    } else if (k == "--cases") {
      a.cases = splitList(value());
    } else if (k == "--repeat") {
      a.repeat = std::stoi(value());
    } else if (k == "--case-repeat") {
      a.case_repeat = std::stoi(value());
    } else if (k == "--seconds") {
      a.seconds = std::stod(value());
    } else if (k == "--daemon") {
      a.daemon = fs::absolute(value());
    } else if (k == "--dir") {
      a.dir = fs::absolute(value());
    } else if (k == "--keep") {
      a.keep = true;
    } else if (k == "--log-level") {
      a.log_level = value();
    } else if (k == "--perf") {
      a.perf_dir = fs::absolute(value());
    } else if (k == "--receiver") {
      a.receiver = value();
      if (a.receiver != "counting" && a.receiver != "gunzip" && a.receiver != "both") return false;
    } else {
      return false;
    }
  }
  return a.count > 0 && a.repeat > 0 && a.case_repeat > 0 && a.seconds > 0 && !a.sizes.empty();
}

std::optional<CaseSpec> parseCase(const std::string& name) {
  std::vector<std::string> p;
  std::stringstream in(name);
  for (std::string item; std::getline(in, item, '/');) p.push_back(item);
  if (p.size() < 3 || p.size() > 4) return std::nullopt;
  CaseSpec c;
  if (p[0] == "json") {
    c.format = config::EventFormat::Json;
  } else if (p[0] == "cef") {
    c.format = config::EventFormat::Cef;
  } else if (p[0] == "cps") {
    c.format = config::EventFormat::Cps;
  } else {
    return std::nullopt;
  }
  if (p[1] == "none") {
    c.compression = config::Compression::None;
  } else if (p[1] == "gzip") {
    c.compression = config::Compression::Gzip;
  } else {
    return std::nullopt;
  }
  c.max_events = std::stoull(p[2]);
  if (p.size() == 4) {
    if (p[3] != "signed" && p[3] != "cached") return std::nullopt;
    c.with_signing = true;
    c.signature_cache = p[3] == "cached";
    c.region = "eu";  // events without `sig`, so the signer signs every one
  }
  return c;
}

// ---- the machine -----------------------------------------------------------------------

std::string firstMatch(const char* file, const char* prefix) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      auto colon = line.find(':');
      std::string v = colon == std::string::npos ? line : line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "?";
}

std::string loadAverage() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f, %.2f, %.2f", l[0], l[1], l[2]);
  return buf;
}

void printMachine(const Args& args) {
  std::printf("## replay_bench\n\n");
  std::printf("- machine: %u CPUs (%s), MemTotal %s\n", std::thread::hardware_concurrency(),
              firstMatch("/proc/cpuinfo", "model name").c_str(),
              firstMatch("/proc/meminfo", "MemTotal").c_str());
  std::printf("- load average at start: %s\n", loadAverage().c_str());
  std::printf("- daemon: %s\n", args.daemon.c_str());
  std::printf("- work dir: %s\n\n", args.dir.c_str());
  std::fflush(stdout);
}

// ---- output ----------------------------------------------------------------------------

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / 1e6;
}

struct Limits {
  Throughput read;
  Throughput deliver_plain;
  Throughput deliver_gzip;
  Throughput deliver_gzip_counting;  // to the receiver that does not gunzip
  Throughput pipeline;               // read and plain delivery at once (measurePipeline)
  Throughput gzip_json;
  Throughput gzip_cef;
  Throughput gzip_signed;
  double forPlain() const {
    return std::min(read.eventsPerSecond(), deliver_plain.eventsPerSecond());
  }
  double forGzip(bool counting = false) const {
    return std::min(read.eventsPerSecond(),
                    (counting ? deliver_gzip_counting : deliver_gzip).eventsPerSecond());
  }
};

std::string fmt(const char* format, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

// Events per CPU-second of the measuring thread: steadier than wall time on a shared,
// loaded machine, where a thread may get only part of a core.
void printLimitRow(const char* what, const Throughput& t, const std::string& note) {
  const std::string per_cpu =
      t.cpu_seconds > 0 ? fmt("%.0f", static_cast<double>(t.events) / t.cpu_seconds) : "—";
  std::printf("| %s | %.0f | %.1f | %s | %s |\n", what, t.eventsPerSecond(), t.mbPerSecond(),
              per_cpu.c_str(), note.c_str());
  std::fflush(stdout);
}

struct CaseRow {
  CaseSpec spec;
  CaseResult result;
  std::uint64_t dataset_bytes = 0;
  std::string load;      // load average just before the case
  std::string receiver;  // kCountingLabel or kGunzipLabel
  bool counting() const { return receiver == kCountingLabel; }
  std::string label() const { return spec.name() + " (" + receiver + ")"; }
};

void printCaseHeader() {
  std::printf(
      "| case | events | seconds | events/s | MB/s | CPU s | peak RSS MiB | "
      "× min(read, delivery) | × pipeline | × 300k/s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

void printCaseRow(const CaseRow& row, const Limits* limits) {
  const CaseResult& r = row.result;
  if (!r.ok) {
    std::printf("| %s | failed | | | | | | | | |\n", row.label().c_str());
    return;
  }
  const double rate = static_cast<double>(r.events_sent) / r.seconds;
  const bool gzip = row.spec.compression == config::Compression::Gzip;
  std::string vs_limit = "—";
  if (limits != nullptr && !row.spec.with_signing && row.spec.format == config::EventFormat::Json) {
    vs_limit = fmt("%.2f", rate / (gzip ? limits->forGzip(row.counting()) : limits->forPlain()));
  } else if (limits != nullptr && !row.spec.with_signing) {
    vs_limit = fmt("%.2f (json limits)",
                   rate / (gzip ? limits->forGzip(row.counting()) : limits->forPlain()));
  }
  std::string vs_target = gzip ? fmt("%.2f", rate / kGzipTarget) : "—";
  std::string vs_pipeline = "—";
  if (limits != nullptr && !gzip && !row.spec.with_signing &&
      row.spec.format == config::EventFormat::Json) {
    vs_pipeline = fmt("%.2f", rate / limits->pipeline.eventsPerSecond());
  }
  std::printf("| %s | %llu | %.2f | %.0f | %.1f | %.2f | %.1f | %s | %s | %s |\n",
              row.label().c_str(), static_cast<unsigned long long>(r.events_sent), r.seconds, rate,
              mib(row.dataset_bytes) / r.seconds, r.usage.user_s + r.usage.system_s,
              r.usage.max_rss_mib, vs_limit.c_str(), vs_pipeline.c_str(), vs_target.c_str());
  std::fflush(stdout);
}

void printCaseDetails(const std::vector<CaseRow>& rows) {
  std::printf(
      "\n| case | start s | put_job→running s | put_job→all received s | put_job→completed s | "
      "stop s | "
      "requests | wire MB | user s | sys s | events per daemon CPU-s | VmHWM MiB | load before "
      "|\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (const auto& row : rows) {
    const CaseResult& r = row.result;
    const double cpu = r.usage.user_s + r.usage.system_s;
    std::printf(
        "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %llu | %.1f | %.2f | %.2f | %.0f | %.1f | %s "
        "|\n",
        row.label().c_str(), r.startup_s, r.running_s, r.delivered_s, r.seconds, r.stop_s,
        static_cast<unsigned long long>(r.requests), mib(r.wire_bytes), r.usage.user_s,
        r.usage.system_s, cpu > 0 ? static_cast<double>(r.events_sent) / cpu : 0, r.hwm_mib,
        row.load.c_str());
  }
}

// Runs a case case_repeat times and keeps the median by time (failures end the repeats).
CaseResult runRepeated(const DaemonEnv& env, const CaseSpec& spec, source::TimeRange range,
                       std::uint64_t expected, int repeat, int& serial) {
  std::vector<CaseResult> runs;
  for (int i = 0; i < repeat; ++i) {
    CaseResult r = runCase(env, spec, range, expected, ++serial);
    if (!r.ok) {
      std::fprintf(stderr, "replay_bench: case %s failed: %s\n", spec.name().c_str(),
                   r.error.c_str());
      return r;
    }
    runs.push_back(std::move(r));
  }
  std::sort(runs.begin(), runs.end(),
            [](const CaseResult& a, const CaseResult& b) { return a.seconds < b.seconds; });
  return runs[(runs.size() - 1) / 2];
}

// ---- the two modes ---------------------------------------------------------------------

DatasetFigures ingestAndReport(const DatasetSpec& spec) {
  std::printf("ingesting %zu events into region %s (%s)... ", spec.count, spec.region.c_str(),
              spec.with_sig ? "with sig" : "without sig");
  std::fflush(stdout);
  DatasetFigures d = ingestDataset(spec);
  std::printf(
      "%zu events, %.1f MB (%.0f B/event); generate %.2f s, ingest %.2f s (%.0f events/s), "
      "close %.2f s\n",
      d.events, mib(d.bytes), static_cast<double>(d.bytes) / static_cast<double>(d.events),
      d.generate_s, d.ingest_s, static_cast<double>(d.events) / d.ingest_s, d.close_s);
  std::fflush(stdout);
  if (d.events != spec.count) {
    std::fprintf(stderr, "replay_bench: stored %zu of %zu events\n", d.events, spec.count);
    std::exit(1);
  }
  return d;
}

Limits measureLimits(const Args& args, const fs::path& data_dir, source::TimeRange range,
                     sink::Receiver& receiver, sink::Receiver& counting) {
  Limits limits;
  const auto duration = std::chrono::milliseconds(static_cast<long>(args.seconds * 1000));
  std::printf("\n### Limits (median of %d runs)\n\n", args.repeat);
  std::printf(
      "| limit | events/s | MB/s | events per CPU-s (this thread) | notes |\n"
      "|---|---:|---:|---:|---|\n");
  std::fflush(stdout);

  std::vector<Throughput> runs;
  for (int i = 0; i < args.repeat; ++i) runs.push_back(measureScan(data_dir, "us", range, 1000));
  limits.read = median(runs);
  printLimitRow("read: EventReader::next, 1000/batch, one thread", limits.read, "warm page cache");

  // 16 real 1000-event batches (~10 MB) cycled: beyond the CPU caches, as in a replay.
  auto batches = loadBatches(data_dir, "us", range, 1000, 16);
  auto plain = encodeAll(
      batches, {.format = webhook::Format::Json, .compression = webhook::Compression::None});
  auto gzip = encodeAll(batches, {.format = webhook::Format::Json,
                                  .compression = webhook::Compression::Gzip,
                                  .gzip_level = 1});
  const std::string url = receiver.url("/audit");

  runs.clear();
  for (int i = 0; i < args.repeat; ++i) runs.push_back(measureDelivery(url, plain, duration));
  limits.deliver_plain = median(runs);
  printLimitRow("delivery: JSON lines, plain, 1 keep-alive connection", limits.deliver_plain,
                fmt("%.0f POSTs/s", static_cast<double>(limits.deliver_plain.events) / 1000.0 /
                                        limits.deliver_plain.seconds));
  runs.clear();
  for (int i = 0; i < args.repeat; ++i) {
    runs.push_back(measurePipeline(data_dir, "us", range, 1000, url));
  }
  limits.pipeline = median(runs);
  printLimitRow("read → deliver pipeline: scan thread + sending thread, plain, 1000/batch",
                limits.pipeline, "both at once on the shared cores, with the receiver");
  runs.clear();
  for (int i = 0; i < args.repeat; ++i) runs.push_back(measureDelivery(url, gzip, duration));
  limits.deliver_gzip = median(runs);
  printLimitRow("delivery: JSON lines, gzip bodies, 1 keep-alive connection (receiver gunzips)",
                limits.deliver_gzip,
                fmt("%.1f MB/s on the wire",
                    mib(limits.deliver_gzip.wire_bytes) / limits.deliver_gzip.seconds));
  runs.clear();
  const std::string counting_url = counting.url("/audit");
  for (int i = 0; i < args.repeat; ++i) {
    runs.push_back(measureDelivery(counting_url, gzip, duration));
  }
  limits.deliver_gzip_counting = median(runs);
  printLimitRow("delivery: JSON lines, gzip bodies, 1 keep-alive connection (counting receiver)",
                limits.deliver_gzip_counting,
                fmt("%.1f MB/s on the wire", mib(limits.deliver_gzip_counting.wire_bytes) /
                                                 limits.deliver_gzip_counting.seconds));

  auto encode = [&](webhook::EncodeOptions options) {
    std::vector<Throughput> r;
    for (int i = 0; i < args.repeat; ++i) r.push_back(measureEncode(batches, options, duration));
    return median(r);
  };
  auto ratio = [](const Throughput& t) {
    return fmt("ratio %.2f, %.2f ms per 1000 events",
               static_cast<double>(t.bytes) / static_cast<double>(t.wire_bytes),
               1000.0 * t.seconds / static_cast<double>(t.events) * 1000.0);
  };
  limits.gzip_json = encode({.format = webhook::Format::Json,
                             .compression = webhook::Compression::Gzip,
                             .gzip_level = 1});
  printLimitRow("encode: JSON + gzip level 1 (libdeflate), one thread", limits.gzip_json,
                ratio(limits.gzip_json));
  limits.gzip_cef = encode(
      {.format = webhook::Format::Cef, .compression = webhook::Compression::Gzip, .gzip_level = 1});
  printLimitRow("encode: CEF render + gzip level 1, one thread (MB/s of CEF text)", limits.gzip_cef,
                ratio(limits.gzip_cef));
  return limits;
}

void printTargets(const std::vector<CaseRow>& rows, const Limits& limits) {
  std::printf("\n### Targets\n\n");
  for (const auto& row : rows) {
    if (!row.result.ok || row.spec.with_signing || row.spec.format != config::EventFormat::Json ||
        row.spec.max_events != 1000) {
      continue;
    }
    const double rate = static_cast<double>(row.result.events_sent) / row.result.seconds;
    if (row.spec.compression == config::Compression::None) {
      const double r = rate / limits.forPlain();
      std::printf(
          "- uncompressed replay (batch %zu) ≥ %.0f %% of min(read, delivery) = %.0f events/s: "
          "%.0f events/s = %.0f %% → %s (%.0f %% of the read → deliver pipeline, "
          "%.0f events/s)\n",
          row.spec.max_events, kPlainTarget * 100, limits.forPlain(), rate, r * 100,
          r >= kPlainTarget ? "met" : "MISSED", rate / limits.pipeline.eventsPerSecond() * 100,
          limits.pipeline.eventsPerSecond());
    } else {
      std::printf("- gzip replay ≥ 300k events/s (%s): %.0f events/s (%.1f %% of target) → %s\n",
                  row.receiver.c_str(), rate, rate / kGzipTarget * 100,
                  rate >= kGzipTarget ? "met" : "MISSED");
    }
  }
}

void printCeilings(const std::vector<SignCeiling>& ceilings) {
  std::printf("\n### Ed25519 ceilings (627-byte message, median of the runs)\n\n");
  std::printf(
      "| library | operation | threads | per second | per CPU-second "
      "|\n|---|---|---:|---:|---:|\n");
  for (const auto& c : ceilings) {
    std::printf("| %s | %s | %d | %.0f | %.0f |\n", c.library.c_str(), c.operation.c_str(),
                c.threads, c.per_second, c.per_cpu_second);
  }
  std::fflush(stdout);
}

double rateOf(const CaseRow& row) {
  return static_cast<double>(row.result.events_sent) / row.result.seconds;
}

// The signing targets: first signed replay against the chosen library's two-thread sign
// ceiling, the repeat (every signature from the cache) against the unsigned replay with the
// same receiver, verify against the one-thread verify ceiling.
void printSigningTargets(const std::vector<CaseRow>& rows, const std::vector<SignCeiling>& ceilings,
                         const std::optional<VerifyRun>& verify, std::uint64_t verify_lines,
                         const SignCeiling& verify_ceiling) {
  std::printf("\n### Signing targets\n\n");
  const double sign2 = ceilingOf(ceilings, "libsodium", "sign", 2);
  const double verify1 = ceilingOf(ceilings, "libsodium", "verify", 1);
  std::printf(
      "- libsodium over OpenSSL 3: sign %.2f× (1 thread), %.2f× (2 threads); "
      "verify %.2f× (1 thread)\n",
      ceilingOf(ceilings, "libsodium", "sign", 1) / ceilingOf(ceilings, "openssl", "sign", 1),
      sign2 / ceilingOf(ceilings, "openssl", "sign", 2),
      verify1 / ceilingOf(ceilings, "openssl", "verify", 1));
  for (const char* receiver : {kCountingLabel, kGunzipLabel}) {
    const CaseRow* unsigned_row = nullptr;
    std::vector<const CaseRow*> cached;
    for (const auto& row : rows) {
      if (!row.result.ok || row.receiver != receiver ||
          row.spec.format != config::EventFormat::Json ||
          row.spec.compression != config::Compression::Gzip || row.spec.max_events != 1000) {
        continue;
      }
      if (!row.spec.with_signing && unsigned_row == nullptr) unsigned_row = &row;
      if (row.spec.signature_cache) cached.push_back(&row);
    }
    if (cached.empty()) continue;
    const double first = rateOf(*cached.front());
    std::printf(
        "- first signed replay (%s): %.0f events/s = %.2f× the two-thread sign ceiling "
        "(%.0f/s) → %s\n",
        receiver, first, first / sign2, sign2, first >= 0.8 * sign2 ? "met" : "MISSED");
    if (cached.size() > 1 && unsigned_row != nullptr) {
      const double repeat = rateOf(*cached[1]);
      const double plain = rateOf(*unsigned_row);
      std::printf(
          "- repeat signed replay, signing.cache (%s): %.0f events/s = %.2f× unsigned "
          "(%.0f/s) → %s\n",
          receiver, repeat, repeat / plain, plain, repeat >= 0.8 * plain ? "met" : "MISSED");
    }
  }
  if (verify) {
    // Against the ceiling measured right before verify ran (the load moves), by wall time
    // and by CPU time (what the cores gave is then out of the comparison).
    const double rate = static_cast<double>(verify_lines) / verify->seconds;
    const double cpu = verify->usage.user_s + verify->usage.system_s;
    const double per_cpu = cpu > 0 ? static_cast<double>(verify_lines) / cpu : 0;
    std::printf(
        "- audit-replayctl verify of %llu signed lines: %.2f s, %.0f lines/s = %.2f× the "
        "one-thread verify ceiling measured just before (%.0f/s) → %s; per CPU-second %.0f "
        "lines = %.2f× the ceiling's %.0f (CPU %.2f s; \"%s\")\n",
        static_cast<unsigned long long>(verify_lines), verify->seconds, rate,
        rate / verify_ceiling.per_second, verify_ceiling.per_second,
        verify->ok && rate >= 0.8 * verify_ceiling.per_second ? "met" : "MISSED", per_cpu,
        per_cpu / verify_ceiling.per_cpu_second, verify_ceiling.per_cpu_second, cpu,
        verify->output.c_str());
  }
}

int runMatrix(const Args& args, Launcher& launcher, Receivers receivers) {
  const source::TimeRange range = recentRange(kSpan, kLag);
  const fs::path data_dir = args.dir / "data";
  std::printf("events: %s … %s\n", formatRfc3339(range.first).c_str(),
              formatRfc3339(range.last).c_str());
  DatasetFigures us = ingestAndReport({.data_dir = data_dir,
                                       .region = "us",
                                       .count = args.count,
                                       .range = range,
                                       .seed = 1,
                                       .with_sig = true});
  std::optional<DatasetFigures> eu;
  std::optional<fs::path> key;
  if (args.with_signed) {
    eu = ingestAndReport({.data_dir = data_dir,
                          .region = "eu",
                          .count = args.count,
                          .range = range,
                          .seed = 2,
                          .with_sig = false});
    key = args.dir / "signing.pem";
    if (auto written = writeSigningKey(*key); !written) {
      std::fprintf(stderr, "replay_bench: %s\n", written.message().c_str());
      return 1;
    }
  }

  Limits limits = measureLimits(args, data_dir, range, *receivers.gunzip, *receivers.counting);
  std::vector<SignCeiling> ceilings;
  if (args.with_signed) {
    ceilings = measureSignCeilings(
        std::chrono::milliseconds(static_cast<long>(args.seconds * 1000)), args.repeat);
    printCeilings(ceilings);
  }

  std::vector<CaseSpec> specs;
  std::vector<std::string> names = args.cases;
  if (names.empty()) {
    names = {"json/none/1000", "json/gzip/1000", "json/none/100", "json/none/5000",
             "cef/gzip/1000"};
    // The first fills the signature cache, the second replays the range from it.
    if (args.with_signed)
      names.insert(names.end(), {"json/gzip/1000/cached", "json/gzip/1000/cached"});
  }
  for (const auto& n : names) {
    auto spec = parseCase(n);
    if (!spec || (spec->with_signing && !args.with_signed)) {
      std::fprintf(stderr, "replay_bench: bad case %s (signed cases need --signed)\n", n.c_str());
      return 2;
    }
    specs.push_back(*spec);
  }

  DaemonEnv env{.binary = args.daemon,
                .work_dir = args.dir,
                .data_dir = data_dir,
                .regions = args.with_signed ? std::vector<std::string>{"us", "eu"}
                                            : std::vector<std::string>{"us"},
                .signing_key = key,
                .launcher = &launcher,
                .receiver = receivers.gunzip,
                .log_level = args.log_level,
                .perf_dir = args.perf_dir};
  std::printf("\n### Replay through audit-replayd (%d run(s) per case, median)\n\n",
              args.case_repeat);
  std::printf("load average before the cases: %s\n\n", loadAverage().c_str());
  printCaseHeader();
  std::vector<CaseRow> rows;
  int serial = 0;
  bool all_ok = true;
  for (const auto& spec : specs) {
    const bool signed_case = spec.with_signing;
    // Plain bodies cost either receiver the same (nothing to gunzip): one run.
    std::vector<bool> counting_runs;
    if (spec.compression == config::Compression::None) {
      counting_runs = {args.receiver == "counting"};
    } else if (args.receiver == "both") {
      counting_runs = {true, false};
    } else {
      counting_runs = {args.receiver == "counting"};
    }
    for (bool counting : counting_runs) {
      env.receiver = counting ? receivers.counting : receivers.gunzip;
      env.receiver_counts_events = !counting;
      std::string load = loadAverage();
      CaseRow row{spec, runRepeated(env, spec, range, args.count, args.case_repeat, serial),
                  signed_case ? eu->bytes : us.bytes, load,
                  counting ? kCountingLabel : kGunzipLabel};
      all_ok = all_ok && row.result.ok;
      printCaseRow(row, &limits);
      rows.push_back(std::move(row));
    }
  }
  printCaseDetails(rows);
  printTargets(rows, limits);
  if (args.with_signed) {
    const fs::path lines = args.dir / "signed.ndjson";
    const fs::path jwks = args.dir / "jwks.json";
    {
      std::string detail;
      auto store = store::Store::open({.data_dir = data_dir}, &detail);
      if (store) {
        auto cache = (*store)->signatureCache();
        const std::uint64_t bytes = cache ? cache->approximateBytes() : 0;
        std::printf(
            "\nsignature cache after the cases: %.1f MB for %zu events (%.1f B/event; "
            "events: %.0f B/event)\n",
            mib(bytes), args.count, static_cast<double>(bytes) / static_cast<double>(args.count),
            static_cast<double>(eu->bytes) / static_cast<double>(args.count));
      }
    }
    std::printf("\nsigning the eu range for verify... ");
    std::fflush(stdout);
    const std::uint64_t n = writeSignedLines(data_dir, "eu", range, *key, lines, jwks);
    std::printf("%llu lines, %.1f MB\n", static_cast<unsigned long long>(n),
                mib(fs::file_size(lines)));
    const fs::path ctl = args.daemon.parent_path().parent_path() / "ctl" / "audit-replayctl";
    std::optional<VerifyRun> verify;
    SignCeiling verify_ceiling;
    if (fs::exists(ctl)) {
      verify_ceiling = measureSignCeiling(
          "libsodium", "verify", 1,
          std::chrono::milliseconds(static_cast<long>(args.seconds * 1000)), args.repeat);
      verify = runVerify(launcher, ctl, jwks, lines, args.dir / "verify.log");
      all_ok = all_ok && verify->ok;
    } else {
      std::fprintf(stderr, "replay_bench: no %s: verify not measured\n", ctl.c_str());
    }
    printSigningTargets(rows, ceilings, verify, n, verify_ceiling);
  }
  std::printf("\nload average at the end: %s\n", loadAverage().c_str());
  return all_ok ? 0 : 1;
}

int runScaling(const Args& args, Launcher& launcher, sink::Receiver& receiver) {
  // The case unless --cases names another (the first one is used).
  const std::optional<CaseSpec> chosen =
      parseCase(args.cases.empty() ? "json/none/1000" : args.cases.front());
  if (!chosen || chosen->with_signing) {
    std::fprintf(stderr, "replay_bench: --scaling takes one unsigned case, e.g. json/none/5000\n");
    return 2;
  }
  const CaseSpec spec = *chosen;
  std::printf("### Scaling: %s, one daemon per size\n\n", spec.name().c_str());
  std::vector<std::pair<std::size_t, CaseRow>> rows;
  std::vector<DatasetFigures> datasets;
  int serial = 0;
  bool all_ok = true;
  for (std::size_t n : args.sizes) {
    const source::TimeRange range = recentRange(kSpan, kLag);
    const fs::path data_dir = args.dir / ("data-" + std::to_string(n));
    DatasetFigures d = ingestAndReport({.data_dir = data_dir,
                                        .region = "us",
                                        .count = n,
                                        .range = range,
                                        .seed = 1,
                                        .with_sig = true});
    DaemonEnv env{.binary = args.daemon,
                  .work_dir = args.dir,
                  .data_dir = data_dir,
                  .regions = {"us"},
                  .signing_key = std::nullopt,
                  .launcher = &launcher,
                  .receiver = &receiver,
                  .log_level = args.log_level,
                  .perf_dir = args.perf_dir};
    std::string load = loadAverage();
    CaseRow row{spec, runRepeated(env, spec, range, n, args.case_repeat, serial), d.bytes, load,
                kGunzipLabel};
    all_ok = all_ok && row.result.ok;
    if (!args.keep) fs::remove_all(data_dir);
    std::printf("  replay %.2f s (sizing %.2f s), peak RSS %.1f MiB; load average now %s\n",
                row.result.seconds, row.result.running_s, row.result.usage.max_rss_mib,
                loadAverage().c_str());
    std::fflush(stdout);
    rows.emplace_back(n, std::move(row));
    datasets.push_back(d);
  }
  std::printf(
      "\n| events | ingest s | replay s | of which sizing s | events/s | MB/s | CPU s | "
      "peak RSS MiB | VmHWM MiB | load before |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& [n, row] = rows[i];
    const CaseResult& r = row.result;
    if (!r.ok) {
      std::printf("| %zu | %.2f | failed | | | | | | | |\n", n, datasets[i].ingest_s);
      continue;
    }
    std::printf("| %zu | %.2f | %.2f | %.2f | %.0f | %.1f | %.2f | %.1f | %.1f | %s |\n", n,
                datasets[i].ingest_s, r.seconds, r.running_s,
                static_cast<double>(r.events_sent) / r.seconds, mib(row.dataset_bytes) / r.seconds,
                r.usage.user_s + r.usage.system_s, r.usage.max_rss_mib, r.hwm_mib,
                row.load.c_str());
  }
  const auto& last = rows.back();
  if (last.second.result.ok) {
    std::printf("\n- daemon peak RSS ≤ %.0f MiB at %zu events: %.1f MiB → %s\n", kRssTarget,
                last.first, last.second.result.usage.max_rss_mib,
                last.second.result.usage.max_rss_mib <= kRssTarget ? "met" : "MISSED");
  }
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // First, while this process is small: see bench_process.hpp.
  Launcher launcher = Launcher::forkEarly();
  ::signal(SIGPIPE, SIG_IGN);

  Args args;
  try {
    if (!parseArgs(argc, argv, args)) {
      std::fputs(kUsage, stderr);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replay_bench: %s\n%s", e.what(), kUsage);
    return 2;
  }
  if (!fs::exists(args.daemon)) {
    std::fprintf(stderr, "replay_bench: no daemon at %s (build audit-replayd or pass --daemon)\n",
                 args.daemon.c_str());
    return 2;
  }
  if (args.perf_dir) fs::create_directories(*args.perf_dir);
  const bool own_dir = args.dir.empty();
  if (own_dir)
    args.dir = fs::temp_directory_path() / ("replay-bench-" + std::to_string(::getpid()));
  fs::remove_all(args.dir);
  fs::create_directories(args.dir);
  printMachine(args);

  sink::ReceiverOptions options;
  options.keep_requests = false;  // count only: every byte is still read and gunzipped
  options.io_timeout = std::chrono::milliseconds(120'000);
  sink::Receiver receiver(options);
  receiver.start();
  options.decompress = false;  // reads every byte, gunzips nothing
  sink::Receiver counting(options);
  counting.start();

  const int rc = args.scaling ? runScaling(args, launcher, receiver)
                              : runMatrix(args, launcher, Receivers{&receiver, &counting});
  counting.stop();
  receiver.stop();
  if (!args.keep) fs::remove_all(args.dir);
  return rc;
}
