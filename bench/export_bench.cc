// export_bench: `audit-replayctl export` of a plain JSON range against the store's read
// limit measured in the same run, and the daemon's peak RSS before and after.
//
//   export_bench [--count N] [--dir PATH] [--keep]
//
// Ingests N Konnect-like events into a fresh store, measures a raw EventReader scan of the
// range (median of 3), starts the real audit-replayd on the data and times the real
// audit-replayctl exporting the whole range to stdout (/dev/null, and a pipe read by cat: the
// streamed path), to a file in tmpfs and to a file beside the data (the write and fsync included),
// each the median of 3. A file on disk cannot be written faster than the disk takes it: the disk's
// own rate (the same bytes written and fsynced, in the same run) is the second limit that figure is
// compared with. Figures print as a Markdown table.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
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
#include "daemon/memory.hpp"
#include "store/event_store.hpp"

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

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Seconds to write `bytes` into a new file in `dir` in 4 MiB writes and fsync it: what the
// disk takes, with nothing to read or encode.
double diskWriteSeconds(const fs::path& dir, std::uintmax_t bytes) {
  const fs::path path = dir / "disk-probe";
  const std::string block(4u << 20, 'x');
  const auto t = SteadyClock::now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  for (std::uintmax_t left = bytes; left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uintmax_t>(left, block.size()));
    const ssize_t w = ::write(fd, block.data(), n);
    if (w <= 0) break;
    left -= static_cast<std::uintmax_t>(w);
  }
  ::fsync(fd);
  ::close(fd);
  const double s = secondsSince(t);
  fs::remove(path);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Launcher launcher = Launcher::forkEarly();
  // The read limit is measured with the allocator set as the daemon sets it: with glibc's
  // defaults RocksDB's read-ahead buffers may be mapped and faulted in afresh every 2 MiB,
  // which made the limit itself move by half from one run to the next.
  daemon::tuneAllocator();
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

  // The store just written compacts when next opened: let it finish first, so that neither
  // the scans nor the exports share the machine with it.
  {
    std::string detail;
    auto settling = store::Store::open({.data_dir = data_dir}, &detail);
    if (settling && !waitForQuietStore(::getpid())) std::fprintf(stderr, "compactions ran on\n");
  }
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
  waitForQuietStore(daemon);
  const double rss_start = liveHighWaterMib(daemon);

  auto run_export = [&](const std::vector<std::string>& extra, const fs::path& out,
                        bool to_pipe = false) {
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
    if (to_pipe) {
      // The command's stdout is a pipe that cat empties, as in `export … | consumer`; the
      // shell exits with the command's status, not cat's.
      const std::string status = (dir / "ctl-pipe.status").string();
      args.insert(
          args.begin(),
          {"/bin/sh", "-c",
           R"sh(s=$1; shift; { "$@"; echo $? > "$s"; } | cat > /dev/null; exit "$(cat "$s")")sh",
           "sh", status});
    }
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
  // The disk first, on a quiet disk (median of 3), with as many bytes as the export writes.
  const std::uintmax_t export_bytes = ingested.bytes + ingested.events;  // lines + '\n'
  std::vector<double> disk_runs;
  for (int i = 0; i < 3; ++i) disk_runs.push_back(diskWriteSeconds(dir, export_bytes));
  const double disk_s = medianOf(disk_runs);
  // One export first, not timed: the daemon opens its table readers on the first read.
  run_export({}, "/dev/null");
  // Each way three times, interleaved, so that a burst of other load on a shared machine
  // does not land on one way only; the medians are reported.
  const fs::path file = dir / "export.ndjson";
  const bool have_shm = fs::is_directory("/dev/shm");
  const fs::path shm_file = fs::path("/dev/shm") / ("export-bench-" + std::to_string(::getpid()));
  std::vector<double> stdout_runs, pipe_runs, file_runs, shm_runs;
  std::uintmax_t file_bytes = 0;
  for (int i = 0; i < 3; ++i) {
    stdout_runs.push_back(run_export({}, "/dev/null"));
    pipe_runs.push_back(run_export({}, dir / "ctl-pipe.log", true));
    if (have_shm) {
      shm_runs.push_back(run_export({"-o", shm_file.string()}, dir / "ctl-shm.log"));
      fs::remove(shm_file);
    }
    file_runs.push_back(run_export({"-o", file.string()}, dir / "ctl-file.log"));
    file_bytes = fs::file_size(file);
    fs::remove(file);
  }
  const double stdout_s = medianOf(stdout_runs);
  const double file_s = medianOf(file_runs);
  const double rss_end = liveHighWaterMib(daemon);
  ::kill(daemon, SIGTERM);
  launcher.reap(daemon, 30s);

  const double events = static_cast<double>(ingested.events);
  const double read_rate = scan.eventsPerSecond();
  const double stdout_rate = events / stdout_s;
  const double file_rate = events / file_s;
  const double disk_rate = disk_s > 0 ? events / disk_s : 0;
  std::printf("CPU: %s, %u cores; %zu events, %.1f MB exported as JSON lines\n\n",
              cpuModel().c_str(), std::thread::hardware_concurrency(), ingested.events,
              static_cast<double>(file_bytes) / 1e6);
  std::printf("| figure | events/s | MB/s | of read limit |\n|---|---:|---:|---:|\n");
  const double bytes_per_event = static_cast<double>(file_bytes) / events;
  auto row = [&](const char* name, double rate) {
    std::printf("| %s | %.0f | %.0f | %.2f |\n", name, rate, rate * bytes_per_event / 1e6,
                rate / read_rate);
  };
  row("store read limit (raw scan, median of 3)", read_rate);
  row("disk write limit (as many bytes written and fsynced, no export; median of 3)", disk_rate);
  row("export to stdout (/dev/null: streamed over the socket; median of 3)", stdout_rate);
  const double pipe_rate = events / medianOf(pipe_runs);
  row("export to stdout (a pipe that cat reads: streamed over the socket; median of 3)", pipe_rate);
  if (!shm_runs.empty()) {
    row("export to a file in tmpfs (/dev/shm; written by the daemon; median of 3)",
        events / medianOf(shm_runs));
  }
  row("export to a file on disk (temp + fsync + rename; median of 3)", file_rate);
  std::printf("\ndaemon peak RSS: %.1f MiB after start, %.1f MiB after all exports\n", rss_start,
              rss_end);
  const double file_limit = std::min(read_rate, disk_rate > 0 ? disk_rate : read_rate);
  std::printf("target: export >= %.1f x read limit: to /dev/null %.2f (%s), to a pipe %.2f (%s)\n",
              kTarget, stdout_rate / read_rate,
              stdout_rate >= kTarget * read_rate ? "met" : "NOT met", pipe_rate / read_rate,
              pipe_rate >= kTarget * read_rate ? "met" : "NOT met");
  std::printf("        to a file on disk: %.2f of the lower of the read and disk limits (%s)\n",
              file_rate / file_limit, file_rate >= kTarget * file_limit ? "met" : "NOT met");
  if (!keep) fs::remove_all(dir);
  return 0;
}
