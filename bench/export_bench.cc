// export_bench: `audit-replayctl export` of a plain JSON range against the store's read
// limit measured in the same run, and the daemon's peak RSS before and after.
//
//   export_bench [--count N] [--dir PATH] [--keep]
//
// Ingests N Konnect-like events into a fresh store, measures a raw EventReader scan of the
// range (median of 3), starts the real audit-replayd on the data and times the real
// audit-replayctl exporting the whole range to a file (the write included), then to
// stdout (/dev/null). Figures print as a Markdown table.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "bench/bench_dataset.hpp"
#include "bench/bench_limits.hpp"
#include "bench/bench_process.hpp"
#include "common/rfc3339.hpp"

namespace {

namespace fs = std::filesystem;
using namespace audit;
using namespace audit::bench;
using namespace std::chrono_literals;

constexpr double kTarget = 0.8;  // of the read limit

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  Launcher launcher = Launcher::forkEarly();
  std::size_t count = 1'000'000;
  fs::path dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--count" && i + 1 < argc) {
      count = std::stoull(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: export_bench [--count N] [--dir PATH] [--keep]\n");
      return 2;
    }
  }
  if (dir.empty()) {
    char tmpl[] = "/tmp/export-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  const fs::path data_dir = dir / "data";
  const source::TimeRange range = recentRange(2h, 3min);
  DatasetSpec spec;
  spec.data_dir = data_dir;
  spec.count = count;
  spec.range = range;
  spec.with_sig = true;
  DatasetFigures ingested = ingestDataset(spec);
  std::fprintf(stderr, "ingested %zu events (%.1f MB)\n", ingested.events,
               static_cast<double>(ingested.bytes) / 1e6);

  std::vector<Throughput> scans;
  for (int i = 0; i < 3; ++i) scans.push_back(measureScan(data_dir, "us", range, 1000));
  const Throughput scan = median(scans);

  fs::create_directories(dir / "run");
  fs::create_directories(dir / "spool");
  const fs::path socket = dir / "run" / "control.sock";
  std::ofstream(dir / "config.yaml") << "data_dir: " << data_dir.string() << "\n"
                                     << "log: {level: warn, format: text}\n"
                                     << "control:\n  socket: " << socket.string()
                                     << "\n  spool_dir: " << (dir / "spool").string() << "\n"
                                     << "regions:\n  us:\n    webhook: {endpoint: \"\"}\n"
                                     << "    batch: {max_events: 1000}\n";
  const fs::path bin(AUDIT_BINARY_DIR);
  pid_t daemon = launcher.spawn(
      {(bin / "daemon" / "audit-replayd").string(), "--config", (dir / "config.yaml").string()},
      dir / "daemon.log");
  ControlClient control;
  const auto t0 = SteadyClock::now();
  bool up = false;
  ProcessWatch watch(daemon);
  while (!up && SteadyClock::now() - t0 < 120s) {
    if (control.connect(socket)) up = static_cast<bool>(control.call({{"op", "ping"}}, 30s));
    if (!up && watch.waitExit(10ms)) break;
  }
  if (!up) {
    std::fprintf(stderr, "the daemon did not start; see %s\n", (dir / "daemon.log").c_str());
    return 1;
  }
  const double rss_start = liveHighWaterMib(daemon);

  auto run_export = [&](const std::vector<std::string>& extra, const fs::path& out) {
    std::vector<std::string> args{(bin / "ctl" / "audit-replayctl").string(),
                                  "--socket",
                                  socket.string(),
                                  "export",
                                  "--region",
                                  "us",
                                  "--start",
                                  formatRfc3339Millis(range.first),
                                  "--end",
                                  formatRfc3339Millis(range.last),
                                  "--format",
                                  "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto t = SteadyClock::now();
    pid_t pid = launcher.spawn(args, out);
    ChildUsage u = launcher.reap(pid, 600s);
    const double s = secondsSince(t);
    if (u.exit_code != 0) {
      std::fprintf(stderr, "export failed (exit %d); see %s\n", u.exit_code, out.c_str());
      std::exit(1);
    }
    return s;
  };
  const fs::path file = dir / "export.ndjson";
  const double file_s = run_export({"-o", file.string()}, dir / "ctl-file.log");
  const std::uintmax_t file_bytes = fs::file_size(file);
  fs::remove(file);
  const double stdout_s = run_export({}, "/dev/null");
  // The same into memory (tmpfs), to tell the disk's share from the daemon's.
  std::optional<double> shm_s;
  if (fs::is_directory("/dev/shm")) {
    const fs::path shm_file = fs::path("/dev/shm") / ("export-bench-" + std::to_string(::getpid()));
    shm_s = run_export({"-o", shm_file.string()}, dir / "ctl-shm.log");
    fs::remove(shm_file);
  }
  const double rss_end = liveHighWaterMib(daemon);
  ::kill(daemon, SIGTERM);
  launcher.reap(daemon, 30s);

  const double read_rate = scan.eventsPerSecond();
  const double file_rate = static_cast<double>(ingested.events) / file_s;
  const double stdout_rate = static_cast<double>(ingested.events) / stdout_s;
  std::printf("CPU: %s, %u cores; %zu events, %.1f MB exported as JSON lines\n\n",
              cpuModel().c_str(), std::thread::hardware_concurrency(), ingested.events,
              static_cast<double>(file_bytes) / 1e6);
  std::printf("| figure | events/s | of read limit |\n|---|---:|---:|\n");
  std::printf("| store read limit (raw scan, median of 3) | %.0f | 1.00 |\n", read_rate);
  std::printf("| export to a file (written by the daemon; temp + fsync + rename) | %.0f | %.2f |\n",
              file_rate, file_rate / read_rate);
  std::printf("| export to stdout (/dev/null: streamed over the socket) | %.0f | %.2f |\n",
              stdout_rate, stdout_rate / read_rate);
  if (shm_s) {
    const double shm_rate = static_cast<double>(ingested.events) / *shm_s;
    std::printf("| export to a file in tmpfs (/dev/shm) | %.0f | %.2f |\n", shm_rate,
                shm_rate / read_rate);
  }
  std::printf("\ndaemon peak RSS: %.1f MiB after start, %.1f MiB after both exports\n", rss_start,
              rss_end);
  const bool met = file_rate >= kTarget * read_rate;
  std::printf("target: export >= %.1f x read limit: %s\n", kTarget, met ? "met" : "NOT met");
  if (!keep) fs::remove_all(dir);
  return 0;
}
