// ingest_bench: how fast events get into the store through each way in, against the store's
// own ingest rate measured in the same run (docs/performance.md, "Ingest"):
//   1. the store's own rate: EventSource::ingest of 1000-event chunks, in this process;
//   2. `audit-replayctl ingest FILE` of an NDJSON file into the real audit-replayd (time and
//      the CLI's peak RSS);
//   3. POST /v2/audit-logs of 1000-event bodies, plain and gzip, over 1 and 4 kept-alive
//      connections.
// Each figure is events/s and its ratio to (1). The machine may be shared: compare the
// ratios of one run, not absolute rates across runs.
//
//   ingest_bench [--events N] [--http-events N] [--dir DIR] [--keep]

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_dataset.hpp"
#include "bench/bench_process.hpp"
#include "bench/bench_util.hpp"
#include "bench/event_generator.hpp"
#include "webhook/gzip.hpp"

namespace {

namespace fs = std::filesystem;
using namespace audit;
using namespace std::chrono_literals;

struct Args {
  std::size_t events = 1'000'000;
  std::size_t http_events = 200'000;
  fs::path dir;
  bool keep = false;
};

Args parseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--events") {
      args.events = std::stoull(value());
    } else if (a == "--http-events") {
      args.http_events = std::stoull(value());
    } else if (a == "--dir") {
      args.dir = value();
    } else if (a == "--keep") {
      args.keep = true;
    } else {
      std::fprintf(stderr,
                   "usage: ingest_bench [--events N] [--http-events N] [--dir DIR] [--keep]\n");
      std::exit(2);
    }
  }
  if (args.dir.empty()) {
    char tmpl[] = "/tmp/ingest_bench.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    args.dir = tmpl;
  }
  return args;
}

std::string firstMatch(const char* file, const char* prefix) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      auto v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "?";
}

/** A kept-alive HTTP/1.1 connection that POSTs bodies and reads each answer to its end. */
class HttpPoster {
 public:
  explicit HttpPoster(std::uint16_t port) : port_(port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    // As curl and the log shippers do: without it the body's last segment can wait for the
    // daemon's acknowledgement of the ones before it (Nagle).
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~HttpPoster() {
    if (fd_ >= 0) ::close(fd_);
  }
  HttpPoster(const HttpPoster&) = delete;
  HttpPoster& operator=(const HttpPoster&) = delete;

  /** @return the status (0 on I/O failure); the answer's body in *body. */
  int post(const std::string& body, bool gzip, std::string* answer) {
    if (fd_ < 0) return 0;
    std::string head =
        "POST /v2/audit-logs?region=us HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: text/plain\r\n";
    if (gzip) head += "Content-Encoding: gzip\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (!sendAll(head) || !sendAll(body)) return 0;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore()) return 0;
    }
    const int status = std::atoi(buffer_.substr(9, 3).c_str());
    std::size_t length = 0;
    if (auto at = buffer_.find("Content-Length: "); at != std::string::npos && at < end) {
      length = std::strtoul(buffer_.c_str() + at + 16, nullptr, 10);
    }
    while (buffer_.size() < end + 4 + length) {
      if (!readMore()) return 0;
    }
    *answer = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return status;
  }

 private:
  bool sendAll(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool readMore() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 120'000) <= 0) return false;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  std::uint16_t port_;
  int fd_ = -1;
  std::string buffer_;
};

struct Row {
  std::string path;
  std::size_t events = 0;
  double seconds = 0;
  std::string note;
};

void printRow(const Row& row, double store_rate) {
  const double rate = row.seconds > 0 ? static_cast<double>(row.events) / row.seconds : 0;
  std::printf("| %-40s | %9zu | %7.2f | %9.0f | %5.2fx | %s |\n", row.path.c_str(), row.events,
              row.seconds, rate, store_rate > 0 ? rate / store_rate : 0.0, row.note.c_str());
  std::fflush(stdout);
}

/** `count` events (seed `seed`) as bodies of `per_body` newline-separated events. */
std::vector<std::string> makeBodies(std::size_t count, std::size_t per_body, std::uint64_t seed,
                                    source::TimeRange range, bool gzip) {
  bench::EventSequence sequence(count, range.first, range.last,
                                bench::GeneratorOptions{seed, /*with_sig=*/false});
  std::vector<std::string> bodies;
  std::string body;
  std::string event;
  std::size_t in_body = 0;
  while (sequence.next(event)) {
    body += event;
    body += '\n';
    if (++in_body == per_body) {
      bodies.push_back(gzip ? webhook::gzipCompress(body) : std::move(body));
      body.clear();
      in_body = 0;
    }
  }
  if (!body.empty()) bodies.push_back(gzip ? webhook::gzipCompress(body) : std::move(body));
  return bodies;
}

/** POSTs every body over `connections` kept-alive connections; @return seconds, or -1. */
double postAll(std::uint16_t port, const std::vector<std::string>& bodies, bool gzip,
               int connections, std::size_t* ingested) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<std::size_t> stored{0};
  const auto t0 = bench::SteadyClock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      HttpPoster poster(port);
      std::string answer;
      for (std::size_t i; (i = next++) < bodies.size();) {
        if (poster.post(bodies[i], gzip, &answer) != 200) {
          std::fprintf(stderr, "POST failed: %s\n", answer.c_str());
          failed = true;
          return;
        }
        if (auto at = answer.find("\"ingested\":"); at != std::string::npos) {
          stored += std::strtoul(answer.c_str() + at + 11, nullptr, 10);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  *ingested = stored;
  return failed ? -1 : bench::secondsSince(t0);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Launcher launcher = bench::Launcher::forkEarly();
  const Args args = parseArgs(argc, argv);
  const fs::path daemon_bin = fs::path(AUDIT_BINARY_DIR) / "daemon" / "audit-replayd";
  const fs::path ctl_bin = fs::path(AUDIT_BINARY_DIR) / "ctl" / "audit-replayctl";
  fs::create_directories(args.dir);

  std::printf("## ingest_bench\n\n");
  std::printf("- machine: %u CPUs (%s)\n", std::thread::hardware_concurrency(),
              firstMatch("/proc/cpuinfo", "model name").c_str());
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3) {
    std::printf("- load average at start: %.2f, %.2f, %.2f\n", load[0], load[1], load[2]);
  }
  std::printf("- events: %zu (store, CLI), %zu per HTTP case; work dir %s\n\n", args.events,
              args.http_events, args.dir.c_str());

  const source::TimeRange range = bench::recentRange(std::chrono::hours(24), std::chrono::hours(1));

  // 1. The store's own rate, in this process, on a fresh data dir.
  bench::DatasetSpec spec;
  spec.data_dir = args.dir / "store-only";
  spec.count = args.events;
  spec.range = range;
  spec.with_sig = false;
  spec.seed = 11;
  const bench::DatasetFigures own = bench::ingestDataset(spec);
  const double store_rate = static_cast<double>(own.events) / own.ingest_s;

  std::printf("| path | events | seconds | events/s | vs store | notes |\n");
  std::printf("|---|---:|---:|---:|---:|---|\n");
  printRow({"store: EventSource::ingest, 1000/call", own.events, own.ingest_s,
            std::to_string(own.bytes / std::max<std::size_t>(own.events, 1)) + " B/event"},
           store_rate);

  // The NDJSON file for the CLI: other events (another seed) than the store case.
  const fs::path file = args.dir / "events.ndjson";
  {
    std::ofstream out(file, std::ios::binary);
    bench::EventSequence sequence(args.events, range.first, range.last,
                                  bench::GeneratorOptions{12, false});
    std::string event;
    while (sequence.next(event)) {
      out << event << '\n';
    }
  }
  const auto file_bytes = fs::file_size(file);

  // A fresh audit-replayd (own data dir, HTTP API) for each path, so that no path pays for
  // the compactions of an earlier one: the store's own figure is on a fresh store too.
  const std::uint16_t port = bench::freePort();
  const fs::path socket = args.dir / "control.sock";
  int serial = 0;
  auto startDaemon = [&]() -> pid_t {
    const fs::path config = args.dir / ("config-" + std::to_string(++serial) + ".yaml");
    {
      std::ofstream out(config);
      out << "data_dir: " << (args.dir / ("daemon-data-" + std::to_string(serial))).string() << "\n"
          << "log: {level: warn}\n"
          << "control: {socket: " << socket.string()
          << ", spool_dir: " << (args.dir / "spool").string() << "}\n"
          << "http: {listen: \"127.0.0.1:" << port << "\", allow_unauthenticated: true}\n"
          << "regions:\n  us:\n    webhook: {endpoint: \"http://127.0.0.1:9/unused\"}\n";
    }
    const pid_t pid =
        launcher.spawn({daemon_bin.string(), "--config", config.string()}, args.dir / "daemon.log");
    bench::ControlClient control;
    const auto deadline = bench::SteadyClock::now() + 60s;
    while (bench::SteadyClock::now() < deadline) {
      if (control.connect(socket) && control.call({{"op", "ping"}}, 5s).has_value()) return pid;
      bench::ProcessWatch watch(pid);
      if (watch.waitExit(50ms)) break;  // polls with a deadline: the daemon may have died
    }
    std::fprintf(stderr, "audit-replayd did not start; see %s\n",
                 (args.dir / "daemon.log").c_str());
    std::exit(1);
  };
  auto stopDaemon = [&](pid_t pid) {
    ::kill(pid, SIGTERM);
    launcher.reap(pid, 60s);
  };

  // 2. audit-replayctl ingest FILE (check pass + send pass), as a child for its peak RSS.
  {
    const pid_t pid = startDaemon();
    const auto t0 = bench::SteadyClock::now();
    const pid_t cli = launcher.spawn(
        {ctl_bin.string(), "--socket", socket.string(), "ingest", "--region", "us", file.string()},
        args.dir / "ctl.log");
    const bench::ChildUsage usage = launcher.reap(cli, 30min);
    const double seconds = bench::secondsSince(t0);
    char note[160];
    std::snprintf(note, sizeof note, "%.0f MB file; CLI peak RSS %.1f MiB; exit %d",
                  static_cast<double>(file_bytes) / 1e6, usage.max_rss_mib, usage.exit_code);
    printRow({"audit-replayctl ingest FILE", args.events, seconds, note}, store_rate);
    stopDaemon(pid);
  }

  // 3. POST /v2/audit-logs: 1000-event bodies, plain and gzip, 1 and 4 connections.
  std::uint64_t seed = 100;
  for (const bool gzip : {false, true}) {
    for (const int connections : {1, 4}) {
      const auto bodies = makeBodies(args.http_events, 1000, ++seed, range, gzip);
      const pid_t pid = startDaemon();
      std::size_t ingested = 0;
      const double seconds = postAll(port, bodies, gzip, connections, &ingested);
      stopDaemon(pid);
      std::string name = std::string("POST /v2/audit-logs ") + (gzip ? "gzip" : "plain") + ", " +
                         std::to_string(connections) + " conn";
      if (seconds < 0) {
        std::printf("| %s | failed; see %s |\n", name.c_str(), (args.dir / "daemon.log").c_str());
        continue;
      }
      std::uint64_t wire = 0;
      for (const auto& b : bodies) wire += b.size();
      char note[96];
      std::snprintf(note, sizeof note, "%zu stored; %.0f KB/body on the wire", ingested,
                    static_cast<double>(wire) / static_cast<double>(bodies.size()) / 1e3);
      printRow({name, args.http_events, seconds, note}, store_rate);
    }
  }

  if (!args.keep) {
    std::error_code ec;
    fs::remove_all(args.dir, ec);
  }
  std::printf("\nTarget: every path at least 0.75x the store's own rate.\n");
  return 0;
}
