// store_bench: ingest and scan throughput of the event store on this machine.
//
//   store_bench [--count N] [--batch B] [--dir PATH]
//
// Machines are shared and noisy (LIMITS.md), so every run also measures plain RocksDB doing
// the same work the way LIMITS.md measured it (LZ4, WriteBatch of B, keys region + time +
// sequence, no parsing, no dedupe) and reports the store's figures as ratios of that.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/event_generator.hpp"
#include "store/event_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr audit::EpochMillis kStart = 1'795'204'800'000;  // 2026-11-20T20:00:00Z
constexpr audit::EpochMillis kDay = 86'400'000;

struct Args {
  std::size_t count = 1'000'000;
  std::size_t batch = 1000;
  std::filesystem::path dir;
};

struct Figures {
  double ingest_s = 0;  // seconds inside ingest calls only (generation excluded)
  double scan_s = 0;
  // CPU seconds of the calling thread for the same work: less disturbed by other load on a
  // shared machine than wall time (background flushes and compactions are not in it).
  double ingest_cpu_s = 0;
  double scan_cpu_s = 0;
  std::size_t events = 0;
  std::size_t bytes = 0;
  std::size_t scanned = 0;
};

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall and thread CPU time of one piece of work, added to two totals.
class Stopwatch {
 public:
  Stopwatch(double& wall, double& cpu)
      : wall_(wall), cpu_(cpu), t0_(Clock::now()), c0_(threadCpuSeconds()) {}
  ~Stopwatch() {
    wall_ += seconds(Clock::now() - t0_);
    cpu_ += threadCpuSeconds() - c0_;
  }

 private:
  double& wall_;
  double& cpu_;
  Clock::time_point t0_;
  double c0_;
};

void appendBigEndian(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Plain RocksDB as LIMITS.md measured it: the machine's ceiling for this work.
Figures runBaseline(const Args& args, const std::filesystem::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kLZ4Compression;
  options.max_background_jobs = 2;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) {
    std::fprintf(stderr, "baseline open: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  Figures f;
  audit::bench::EventSequence events(args.count, kStart, kStart + kDay, {});
  std::vector<std::string> batch_events(args.batch);
  std::vector<audit::EpochMillis> times(args.batch);
  std::uint64_t seq = 0;
  bool more = true;
  while (more) {
    std::size_t n = 0;
    for (; n < args.batch && (more = events.next(batch_events[n])); ++n) times[n] = events.time();
    if (n == 0) break;
    // Building the batch is part of the work (the store does it inside ingest too).
    Stopwatch watch(f.ingest_s, f.ingest_cpu_s);
    rocksdb::WriteBatch batch;
    for (std::size_t i = 0; i < n; ++i) {
      std::string key(1, 'u');
      appendBigEndian(key, static_cast<std::uint64_t>(times[i]));
      appendBigEndian(key, seq++);
      (void)batch.Put(key, batch_events[i]);  // only fails on size limits far above these
      f.bytes += batch_events[i].size();
    }
    f.events += n;
    s = db->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) std::exit(1);
  }
  std::string lower(1, 'u');
  std::string upper(1, 'v');
  rocksdb::Slice lo(lower);
  rocksdb::Slice hi(upper);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  ro.iterate_lower_bound = &lo;
  ro.iterate_upper_bound = &hi;
  std::optional<Stopwatch> watch(std::in_place, f.scan_s, f.scan_cpu_s);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  std::string batch;
  std::size_t in_batch = 0;
  for (it->Seek(lo); it->Valid(); it->Next()) {
    // Copy into a batch buffer like the store's reader does, so both do comparable work.
    batch.append(it->value().data(), it->value().size());
    batch.push_back('\n');
    if (++in_batch == args.batch) {
      batch.clear();
      in_batch = 0;
    }
    ++f.scanned;
  }
  watch.reset();
  if (!it->status().ok()) std::exit(1);
  return f;
}

Figures runStore(const Args& args, const std::filesystem::path& dir, std::uint64_t* size) {
  std::string detail;
  auto opened = audit::store::Store::open({.data_dir = dir}, &detail);
  if (!opened) {
    std::fprintf(stderr, "store open: %s\n", detail.c_str());
    std::exit(1);
  }
  auto& store = *opened;
  auto region = store->region("us");
  Figures f;
  audit::bench::EventSequence events(args.count, kStart, kStart + kDay, {});
  std::vector<std::string> batch(args.batch);
  std::vector<std::string_view> views;
  bool more = true;
  while (more) {
    views.clear();
    for (std::size_t i = 0; i < args.batch && (more = events.next(batch[i])); ++i) {
      views.push_back(batch[i]);
      f.bytes += batch[i].size();
    }
    if (views.empty()) break;
    audit::source::Result<audit::source::IngestReport> report;
    {
      Stopwatch watch(f.ingest_s, f.ingest_cpu_s);
      report = region->ingest(views, false);
    }
    if (!report || !report->rejected.empty()) {
      std::fprintf(stderr, "ingest failed\n");
      std::exit(1);
    }
    f.events += report->ingested;
  }
  std::optional<Stopwatch> watch(std::in_place, f.scan_s, f.scan_cpu_s);
  auto reader = region->openReader({kStart, kStart + kDay}, {});
  if (!reader) std::exit(1);
  audit::EventBatch out;
  for (;;) {
    if (!(*reader)->next(out, {.max_events = args.batch, .max_bytes = 4 << 20})) std::exit(1);
    if (out.empty()) break;
    f.scanned += out.size();
  }
  watch.reset();
  *size = store->approximateSize();
  return f;
}

bool parseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    if (a == "--count") {
      args.count = std::stoull(argv[++i]);
    } else if (a == "--batch") {
      args.batch = std::stoull(argv[++i]);
    } else if (a == "--dir") {
      args.dir = argv[++i];
    } else {
      return false;
    }
  }
  return args.count > 0 && args.batch > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parseArgs(argc, argv, args)) {
    std::fprintf(stderr, "usage: store_bench [--count N] [--batch B] [--dir PATH]\n");
    return 2;
  }
  bool own_dir = args.dir.empty();
  if (own_dir) {
    args.dir = std::filesystem::temp_directory_path() /
               ("audit-store-bench-" + std::to_string(::getpid()));
  }
  std::filesystem::remove_all(args.dir);
  std::filesystem::create_directories(args.dir);

  Figures base = runBaseline(args, args.dir / "baseline");
  std::filesystem::remove_all(args.dir / "baseline");  // frees its page cache too
  std::uint64_t size = 0;
  Figures store = runStore(args, args.dir / "store", &size);
  if (own_dir) std::filesystem::remove_all(args.dir);

  auto rate = [](std::size_t n, double s) { return static_cast<double>(n) / s; };
  double mb = static_cast<double>(store.bytes) / 1e6;
  std::printf("events: %zu, %.0f bytes on average, %.1f MB\n", store.events,
              static_cast<double>(store.bytes) / static_cast<double>(store.events), mb);
  auto report = [&](const char* what, std::size_t n, double s, double cpu, std::size_t base_n,
                    double base_s, double base_cpu) {
    std::printf("%s %.0f events/s, %.1f MB/s wall; %.0f events/s per CPU-second\n", what,
                rate(n, s), mb / s, rate(n, cpu));
    std::printf(
        "        plain RocksDB: %.0f events/s wall, %.0f per CPU-second; "
        "ratio %.2f wall, %.2f CPU\n",
        rate(base_n, base_s), rate(base_n, base_cpu), rate(n, s) / rate(base_n, base_s),
        rate(n, cpu) / rate(base_n, base_cpu));
  };
  report("ingest:", store.events, store.ingest_s, store.ingest_cpu_s, base.events, base.ingest_s,
         base.ingest_cpu_s);
  report("scan:  ", store.scanned, store.scan_s, store.scan_cpu_s, base.scanned, base.scan_s,
         base.scan_cpu_s);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("store size: %.1f MB (%.2fx compression); peak RSS: %.1f MB\n",
              static_cast<double>(size) / 1e6, mb * 1e6 / static_cast<double>(size),
              static_cast<double>(usage.ru_maxrss) / 1024.0);
  if (store.scanned != store.events) {
    std::fprintf(stderr, "scanned %zu of %zu events\n", store.scanned, store.events);
    return 1;
  }
  return 0;
}
