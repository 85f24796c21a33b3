// forward_bench: per-region forwarding of audit-replayd (docs/forwarding.md) measured
// end to end against the real daemon and an in-process receiver (docs/performance.md,
// "Forwarding"). One run prints:
//
//   1. Latency, ingest → webhook: events POSTed to /v2/audit-logs at a paced offered load
//      (1,000 and 10,000 events/s by default; one POST every --interval-ms over 4 kept-alive
//      connections), each event with a unique id (its trace_id). Per event: the time its
//      POST returned 200 and the time the in-process receiver took the batch holding it
//      (the receiver's script runs right before it answers 200). Both on this process's
//      steady clock. p50 / p90 / p99 / max. Target p99 < 1 s at 10,000 events/s.
//   2. Catch-up rate: forward_pause, N events POSTed as a backlog, forward_resume, time until
//      the receiver has all N; then an ordinary replay job (put_job over the whole range,
//      bench/bench_daemon's runCase, as replay_bench runs it) of the same events to the same
//      receiver. Ratio catch-up / replay; target ≥ 0.8.
//   3. RSS while a backlog drains: M events ingested straight into a fresh store (no
//      daemon), then the daemon started with `forward.start: oldest`; VmRSS of
//      /proc/PID/status sampled every 0.5 s until the receiver has all M. Start / max / end,
//      VmHWM and wait4()'s ru_maxrss.
//
// Webhook settings of every daemon here: log_format json, compression gzip, 1000-event
// batches (the replay case json/gzip/1000). The receiver gunzips and counts every event on
// the same cores (a "receiver on the same host").
//
//   forward_bench [--rates 1000,10000] [--latency-seconds S] [--interval-ms MS]
//                 [--catchup-events N] [--rss-events N] [--parts latency,catchup,rss]
//                 [--daemon PATH] [--dir PATH] [--keep] [--log-level L]
//
// Defaults: 10 s per rate, 1,000,000 catch-up events, a 2,000,000-event RSS backlog (about
// 1 minute on 2 shared cores). Full sizes: --latency-seconds 15 --rss-events 5000000 (about
// 2 minutes there). --backlog-events is another name of --rss-events.

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_daemon.hpp"
#include "bench/bench_dataset.hpp"
#include "bench/bench_process.hpp"
#include "bench/bench_util.hpp"
#include "bench/event_generator.hpp"
#include "common/rfc3339.hpp"
#include "sink/receiver.hpp"
#include "webhook/http_client.hpp"

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace json = boost::json;
using namespace audit;
using namespace audit::bench;
using namespace std::chrono_literals;

constexpr double kLatencyTarget = 1.0;                            // s, p99 at 10,000 events/s
constexpr double kCatchupTarget = 0.8;                            // of the replay rate
constexpr auto kSpan = std::chrono::milliseconds(2 * 3'600'000);  // bulk events' time range
constexpr auto kLag = std::chrono::milliseconds(3 * 60'000);      // ... ending this long ago
constexpr std::uint64_t kIdBase = 1'000'000'000'000'000ULL;       // trace_id = kIdBase + seq
constexpr auto kCallDeadline = 30s;
constexpr auto kStallLimit = 60s;  // no event received for this long: forwarding stalled
constexpr std::size_t kBulkPerPost = 1000;
constexpr int kBulkConnections = 2;
constexpr int kPacedConnections = 4;

struct Args {
  std::vector<double> rates{1000, 10000};
  double latency_seconds = 10;
  int interval_ms = 10;
  std::size_t catchup_events = 1'000'000;
  std::size_t rss_events = 2'000'000;
  std::vector<std::string> parts{"latency", "catchup", "rss"};
  fs::path daemon = fs::path(AUDIT_BINARY_DIR) / "daemon" / "audit-replayd";
  fs::path dir;
  bool keep = false;
  std::string log_level = "info";

  bool runs(const std::string& part) const {
    return std::find(parts.begin(), parts.end(), part) != parts.end();
  }
};

constexpr const char* kUsage =
    "usage: forward_bench [--rates 1000,10000] [--latency-seconds S] [--interval-ms MS]\n"
    "                     [--catchup-events N] [--rss-events N] [--parts latency,catchup,rss]\n"
    "                     [--daemon PATH] [--dir PATH] [--keep] [--log-level L]\n"
    "  full sizes: --catchup-events 1000000 --rss-events 5000000\n";

bool parseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--rates") {
      a.rates.clear();
      for (const auto& r : splitList(value())) a.rates.push_back(std::stod(r));
    } else if (k == "--latency-seconds") {
      a.latency_seconds = std::stod(value());
    } else if (k == "--interval-ms") {
      a.interval_ms = std::stoi(value());
    } else if (k == "--catchup-events") {
      a.catchup_events = std::stoull(value());
    } else if (k == "--rss-events" || k == "--backlog-events") {
      a.rss_events = std::stoull(value());
    } else if (k == "--parts") {
      a.parts = splitList(value());
    } else if (k == "--daemon") {
      a.daemon = fs::absolute(value());
    } else if (k == "--dir") {
      a.dir = fs::absolute(value());
    } else if (k == "--keep") {
      a.keep = true;
    } else if (k == "--log-level") {
      a.log_level = value();
    } else {
      return false;
    }
  }
  for (const auto& p : a.parts) {
    if (p != "latency" && p != "catchup" && p != "rss") return false;
  }
  return !a.rates.empty() && a.latency_seconds > 0 && a.interval_ms > 0 && a.catchup_events > 0 &&
         a.rss_events > 0;
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

/** VmRSS of a live process in MiB; 0 if unknown (liveHighWaterMib reads VmHWM alike). */
double liveRssMib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

// ---- events with unique ids --------------------------------------------------------------

/** Appends one event whose trace_id is kIdBase + seq, and a newline. */
void appendEvent(EventGenerator& generator, std::uint64_t seq, EpochMillis time, std::string& out) {
  const std::size_t start = out.size();
  generator.append(time, out);
  constexpr std::string_view kKey = "\"trace_id\":";
  const std::size_t at = out.find(kKey, start);
  if (at != std::string::npos) {
    const std::size_t digits = at + kKey.size();
    const std::size_t end = out.find(',', digits);
    out.replace(digits, end - digits, std::to_string(kIdBase + seq));
  }
  out.push_back('\n');
}

/** The ids (seq) of the events in an NDJSON body, as appendEvent wrote them. */
template <class F>
void forEachId(std::string_view body, F&& f) {
  constexpr std::string_view kKey = "\"trace_id\":";
  for (std::size_t at = 0; (at = body.find(kKey, at)) != std::string_view::npos;) {
    at += kKey.size();
    std::uint64_t v = 0;
    while (at < body.size() && body[at] >= '0' && body[at] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(body[at] - '0');
      ++at;
    }
    if (v >= kIdBase) f(v - kIdBase);
  }
}

// ---- the daemon ----------------------------------------------------------------------------

struct DaemonSetup {
  fs::path binary;
  fs::path work_dir;  // configs, logs, the control socket
  fs::path data_dir;
  std::string receiver_url;
  std::optional<std::uint16_t> http_port;  // the HTTP API, for POST /v2/audit-logs
  std::string start = "now";               // forward.start
  std::string log_level = "info";
  std::string stem;  // file names: <stem>.yaml, <stem>.log
};

struct Daemon {
  pid_t pid = -1;
  fs::path log_file;
  fs::path socket;
  double startup_s = 0;
  std::unique_ptr<ProcessWatch> watch;
  ControlClient control;
};

/** Starts audit-replayd with forwarding on (region us) and waits for its control socket. */
bool startDaemon(Launcher& launcher, const DaemonSetup& s, Daemon& d) {
  const fs::path config = s.work_dir / (s.stem + ".yaml");
  d.log_file = s.work_dir / (s.stem + ".log");
  d.socket = s.work_dir / "run" / "control.sock";
  fs::create_directories(s.work_dir / "run");
  fs::create_directories(s.work_dir / "spool");
  {
    std::ofstream y(config);
    y << "data_dir: " << s.data_dir.string() << "\n"
      << "log: {level: " << s.log_level << ", format: text}\n"
      << "control:\n"
      << "  socket: " << d.socket.string() << "\n"
      << "  spool_dir: " << (s.work_dir / "spool").string() << "\n";
    if (s.http_port) {
      y << "http: {listen: \"127.0.0.1:" << *s.http_port << "\", allow_unauthenticated: true}\n";
    }
    // The webhook settings of replay_bench's json/gzip/1000 case (bench_daemon.cc).
    y << "regions:\n"
      << "  us:\n"
      << "    webhook:\n"
      << "      endpoint: " << s.receiver_url << "\n"
      << "      log_format: json\n"
      << "      compression: gzip\n"
      << "      timeout: 60s\n"
      << "    batch: {max_events: 1000, max_bytes: 16MiB}\n"
      << "    forward: {enabled: true, start: " << s.start << "}\n";
  }
  const auto t0 = SteadyClock::now();
  d.pid = launcher.spawn({s.binary.string(), "--config", config.string()}, d.log_file);
  if (d.pid <= 0) return false;
  d.watch = std::make_unique<ProcessWatch>(d.pid);
  while (SteadyClock::now() - t0 < 120s) {
    if (d.control.connect(d.socket)) {
      auto pong = d.control.call({{"op", "ping"}}, kCallDeadline);
      if (pong && pong->contains("ok") && pong->at("ok") == true) {
        d.startup_s = secondsSince(t0);
        return true;
      }
    }
    if (d.watch->waitExit(10ms)) break;
  }
  std::fprintf(stderr, "forward_bench: audit-replayd did not come up; %s, last lines:\n%s",
               d.log_file.c_str(), fileTail(d.log_file, 15).c_str());
  return false;
}

ChildUsage stopDaemon(Launcher& launcher, Daemon& d) {
  ::kill(d.pid, SIGTERM);
  return launcher.reap(d.pid, 60s);
}

struct ForwardInfo {
  bool ok = false;
  std::string state;
  std::uint64_t backlog = 0;
  std::uint64_t forwarded = 0;
  double lag_s = 0;
  std::string raw;
};

ForwardInfo forwardCall(Daemon& d, const char* op) {
  ForwardInfo f;
  auto answer = d.control.call({{"op", op}, {"region", "us"}}, kCallDeadline);
  if (!answer) return f;
  f.raw = json::serialize(*answer);
  const auto* fw = answer->if_contains("forward");
  if (fw == nullptr || !fw->is_object()) return f;
  const auto& o = fw->as_object();
  f.ok = true;
  if (const auto* v = o.if_contains("state"); v && v->is_string()) f.state = v->as_string();
  if (const auto* v = o.if_contains("backlog_events"); v && v->is_number())
    f.backlog = v->to_number<std::uint64_t>();
  if (const auto* v = o.if_contains("events_forwarded"); v && v->is_number())
    f.forwarded = v->to_number<std::uint64_t>();
  if (const auto* v = o.if_contains("lag_seconds"); v && v->is_number())
    f.lag_s = v->to_number<double>();
  return f;
}

std::string describe(const ForwardInfo& f) {
  if (!f.ok) return "no forward status (" + f.raw + ")";
  char buf[160];
  std::snprintf(buf, sizeof buf, "state %s, backlog %llu, forwarded %llu, lag %.1f s",
                f.state.c_str(), static_cast<unsigned long long>(f.backlog),
                static_cast<unsigned long long>(f.forwarded), f.lag_s);
  return buf;
}

/** Polls forward_status until `state` (or the deadline). */
ForwardInfo waitState(Daemon& d, const std::string& state, std::chrono::seconds deadline) {
  const auto t0 = SteadyClock::now();
  ForwardInfo f;
  for (;;) {
    f = forwardCall(d, "forward_status");
    if ((f.ok && f.state == state) || SteadyClock::now() - t0 > deadline) return f;
    if (d.watch->waitExit(50ms)) return f;
  }
}

/**
 * Waits until the receiver has counted `target` events in all (stats().events), while the
 * daemon lives and events keep arriving. @return seconds waited, or -1 on a stall or death
 * (`why` says which).
 */
double waitReceived(const sink::Receiver& receiver, std::uint64_t target, Daemon& d,
                    std::string* why, const std::function<void()>& each_second = {}) {
  const auto t0 = SteadyClock::now();
  auto last_progress = t0;
  std::uint64_t last = receiver.stats().events;
  for (;;) {
    const bool done =
        receiver.waitFor([&](const sink::ReceiverStats& s) { return s.events >= target; }, 1s);
    if (done) return secondsSince(t0);
    if (each_second) each_second();
    const std::uint64_t now = receiver.stats().events;
    if (now != last) {
      last = now;
      last_progress = SteadyClock::now();
    }
    if (!d.watch->alive()) {
      *why = "the daemon exited";
      return -1;
    }
    if (SteadyClock::now() - last_progress > kStallLimit) {
      *why = "no event received for " + std::to_string(kStallLimit.count()) + " s (" +
             std::to_string(last) + " of " + std::to_string(target) + "); " +
             describe(forwardCall(d, "forward_status"));
      return -1;
    }
  }
}

// ---- POSTing events ---------------------------------------------------------------------

webhook::WebhookClientPtr makeClient(asio::io_context& ioc, std::uint16_t port) {
  webhook::ClientOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v2/audit-logs?region=us";
  options.timeout = Millis(120'000);
  auto created = webhook::WebhookClient::create(ioc.get_executor(), options);
  if (!created) {
    std::fprintf(stderr, "forward_bench: HTTP client: %s\n", created.message().c_str());
    std::exit(1);
  }
  return std::move(*created);
}

/** "" when the ingest answered 200 with every event stored; why not otherwise. */
std::string checkIngest(const webhook::AttemptResult& r, std::size_t events) {
  if (r.error) return "POST: " + r.step + ": " + r.error.message();
  if (r.status != 200) return "POST answered " + std::to_string(r.status) + ": " + r.body_excerpt;
  const auto at = r.body_excerpt.find("\"ingested\":");
  if (at == std::string::npos ||
      std::strtoull(r.body_excerpt.c_str() + at + 11, nullptr, 10) != events) {
    return "POST stored fewer events than sent: " + r.body_excerpt;
  }
  return {};
}

struct BulkResult {
  double seconds = 0;
  std::string error;
};

/** POSTs events [0, count) (ids first_seq + i) in bodies of kBulkPerPost over
 *  kBulkConnections connections, each on its own thread, event times spread over `range`. */
BulkResult postBulk(std::uint16_t port, std::uint64_t first_seq, std::size_t count,
                    source::TimeRange range) {
  BulkResult result;
  std::atomic<std::size_t> next_body{0};
  std::mutex error_mutex;
  const std::size_t bodies = (count + kBulkPerPost - 1) / kBulkPerPost;
  const double step = static_cast<double>(range.last - range.first) / static_cast<double>(count);
  const auto t0 = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < kBulkConnections; ++c) {
    threads.emplace_back([&, c] {
      asio::io_context ioc;
      auto client = makeClient(ioc, port);
      auto loop = [&]() -> asio::awaitable<void> {
        EventGenerator generator(
            GeneratorOptions{.seed = 1000 + static_cast<std::uint64_t>(c), .with_sig = false});
        webhook::EncodedBody body;
        for (std::size_t b; (b = next_body++) < bodies;) {
          body.bytes.clear();
          const std::size_t first = b * kBulkPerPost;
          const std::size_t last = std::min(count, first + kBulkPerPost);
          for (std::size_t i = first; i < last; ++i) {
            const auto time = range.first + static_cast<EpochMillis>(static_cast<double>(i) * step);
            appendEvent(generator, first_seq + i, time, body.bytes);
          }
          body.events = last - first;
          body.plain_bytes = body.bytes.size();
          const std::string why = checkIngest(co_await client->post(body, {}), body.events);
          if (!why.empty()) {
            std::lock_guard lock(error_mutex);
            result.error = why;
            next_body = bodies;  // every thread stops
            co_return;
          }
        }
      };
      asio::co_spawn(ioc, loop(), asio::detached);
      ioc.run();
    });
  }
  for (auto& t : threads) t.join();
  result.seconds = secondsSince(t0);
  return result;
}

// ---- 1. latency ----------------------------------------------------------------------------

/** Receive times of one latency run, written by the receiver's script. */
struct Tracker {
  std::uint64_t first_seq = 0;
  std::size_t count = 0;
  std::unique_ptr<std::atomic<std::int64_t>[]> received_ns;  // 0: not yet
  std::atomic<std::size_t> received{0};
  std::atomic<std::size_t> duplicates{0};
};

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

struct LatencyResult {
  double rate = 0;
  std::size_t events = 0;
  std::size_t posts = 0;
  double offered_s = 0;            // first scheduled POST → last POST's 200
  std::size_t late_posts = 0;      // started more than one interval after their schedule
  std::vector<double> latency_ms;  // receiver's 200 − ingest's 200, of received events
  std::vector<double> post_ms;     // each POST's duration
  std::size_t missing = 0;
  std::size_t duplicates = 0;
  double drain_s = 0;  // last POST's 200 → the receiver has every event
  std::string error;
};

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

LatencyResult runLatency(sink::Receiver& receiver, Daemon& d, std::uint16_t port, double rate,
                         double seconds, int interval_ms, std::uint64_t& next_seq) {
  LatencyResult r;
  r.rate = rate;
  const auto per_post = static_cast<std::size_t>(
      std::max(1.0, rate * static_cast<double>(interval_ms) / 1000.0 + 0.5));
  r.posts = static_cast<std::size_t>(seconds * 1000.0 / interval_ms + 0.5);
  r.events = r.posts * per_post;

  auto tracker = std::make_shared<Tracker>();
  // Warm-up events (one per connection) first, then the measured ones.
  const std::uint64_t warmup_seq = next_seq;
  tracker->first_seq = next_seq + kPacedConnections;
  tracker->count = r.events;
  tracker->received_ns = std::make_unique<std::atomic<std::int64_t>[]>(r.events);
  for (std::size_t i = 0; i < r.events; ++i) tracker->received_ns[i] = 0;
  next_seq += kPacedConnections + r.events;
  receiver.setScript([tracker](const sink::ReceivedRequest& request, std::size_t) {
    const std::int64_t t = nowNs();
    forEachId(request.body, [&](std::uint64_t seq) {
      if (seq < tracker->first_seq || seq >= tracker->first_seq + tracker->count) return;
      std::int64_t expected = 0;
      if (tracker->received_ns[seq - tracker->first_seq].compare_exchange_strong(expected, t)) {
        ++tracker->received;
      } else {
        ++tracker->duplicates;
      }
    });
    return sink::Reply{};
  });

  std::vector<std::int64_t> acked_ns(r.events, 0);
  r.post_ms.resize(r.posts, 0);
  std::vector<std::size_t> late(kPacedConnections, 0);
  std::string error;
  asio::io_context ioc;
  std::vector<webhook::WebhookClientPtr> clients;
  for (int c = 0; c < kPacedConnections; ++c) clients.push_back(makeClient(ioc, port));
  SteadyClock::time_point t0;
  std::atomic<int> warm{0};
  const auto interval = std::chrono::milliseconds(interval_ms);

  auto connection = [&](int c) -> asio::awaitable<void> {
    EventGenerator generator(GeneratorOptions{
        .seed = 7000 + static_cast<std::uint64_t>(c) + static_cast<std::uint64_t>(rate),
        .with_sig = false});
    webhook::EncodedBody body;
    asio::steady_timer timer(ioc);
    // Warm-up: connect with one event (not measured), then wait for the common start.
    appendEvent(generator, warmup_seq + static_cast<std::uint64_t>(c), RealClock().nowMillis(),
                body.bytes);
    body.events = 1;
    body.plain_bytes = body.bytes.size();
    if (auto why = checkIngest(co_await clients[c]->post(body, {}), 1); !why.empty()) {
      error = why;
      co_return;
    }
    if (++warm == kPacedConnections) t0 = SteadyClock::now() + 50ms;
    while (warm < kPacedConnections) {
      timer.expires_after(1ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    for (std::size_t k = static_cast<std::size_t>(c); k < r.posts && error.empty();
         k += kPacedConnections) {
      const auto due = t0 + k * interval;
      timer.expires_at(due);
      co_await timer.async_wait(asio::use_awaitable);
      body.bytes.clear();
      const EpochMillis now_ms = RealClock().nowMillis();
      for (std::size_t i = 0; i < per_post; ++i) {
        appendEvent(generator, tracker->first_seq + k * per_post + i, now_ms, body.bytes);
      }
      body.events = per_post;
      body.plain_bytes = body.bytes.size();
      const auto started = SteadyClock::now();
      if (started - due > interval) ++late[c];
      auto result = co_await clients[c]->post(body, {});
      const std::int64_t done = nowNs();
      if (auto why = checkIngest(result, per_post); !why.empty()) {
        error = why;
        co_return;
      }
      r.post_ms[k] =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
      for (std::size_t i = 0; i < per_post; ++i) acked_ns[k * per_post + i] = done;
    }
  };
  for (int c = 0; c < kPacedConnections; ++c) asio::co_spawn(ioc, connection(c), asio::detached);
  ioc.run();
  r.offered_s = secondsSince(t0);
  if (!error.empty()) {
    r.error = error;
    receiver.setScript({});
    return r;
  }
  for (auto& l : late) r.late_posts += l;

  // Until every event was received (or forwarding stalls).
  const auto t_drain = SteadyClock::now();
  auto last_progress = t_drain;
  std::size_t last = 0;
  while (tracker->received < r.events) {
    receiver.waitFor([&](const sink::ReceiverStats&) { return tracker->received >= r.events; },
                     200ms);
    if (tracker->received != last) {
      last = tracker->received;
      last_progress = SteadyClock::now();
    }
    if (SteadyClock::now() - last_progress > 30s || !d.watch->alive()) break;
  }
  r.drain_s = secondsSince(t_drain);
  receiver.setScript({});
  for (std::size_t i = 0; i < r.events; ++i) {
    const std::int64_t got = tracker->received_ns[i];
    if (got == 0 || acked_ns[i] == 0) {
      ++r.missing;
      continue;
    }
    r.latency_ms.push_back(static_cast<double>(got - acked_ns[i]) / 1e6);
  }
  r.duplicates = tracker->duplicates;
  std::sort(r.latency_ms.begin(), r.latency_ms.end());
  std::sort(r.post_ms.begin(), r.post_ms.end());
  return r;
}

bool partLatency(const Args& args, Launcher& launcher, sink::Receiver& receiver) {
  std::printf("\n### 1. Latency: ingest's 200 → receiver's 200\n\n");
  const std::uint16_t port = freePort();
  DaemonSetup setup{.binary = args.daemon,
                    .work_dir = args.dir / "latency",
                    .data_dir = args.dir / "latency" / "data",
                    .receiver_url = receiver.url("/audit"),
                    .http_port = port,
                    .start = "now",
                    .log_level = args.log_level,
                    .stem = "daemon"};
  Daemon d;
  if (!startDaemon(launcher, setup, d)) return false;
  const ForwardInfo following = waitState(d, "following", 60s);
  std::printf("daemon up in %.2f s; forwarding: %s\n", d.startup_s, describe(following).c_str());
  std::printf(
      "%d kept-alive connections, one POST every %d ms (round robin), events stamped now\n\n",
      kPacedConnections, args.interval_ms);
  std::printf(
      "| offered events/s | events | POSTs × events | achieved events/s | late POSTs | "
      "p50 ms | p90 ms | p99 ms | max ms | min ms | missing | POST p50 / p99 ms | "
      "drain after last POST s | target |\n");
  std::printf("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n");
  std::fflush(stdout);
  bool ok = true;
  std::uint64_t seq = 0;
  for (double rate : args.rates) {
    LatencyResult r =
        runLatency(receiver, d, port, rate, args.latency_seconds, args.interval_ms, seq);
    if (!r.error.empty()) {
      std::printf("| %.0f | failed: %s | | | | | | | | | | | | |\n", rate, r.error.c_str());
      ok = false;
      continue;
    }
    const double p99 = percentile(r.latency_ms, 0.99);
    std::string target = "—";
    if (rate >= 10000) target = p99 < kLatencyTarget * 1000 && r.missing == 0 ? "met" : "MISSED";
    std::printf(
        "| %.0f | %zu | %zu × %zu | %.0f | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %zu | "
        "%.1f / %.1f | %.2f | %s |\n",
        rate, r.events, r.posts, r.events / std::max<std::size_t>(r.posts, 1),
        static_cast<double>(r.events) / r.offered_s, r.late_posts, percentile(r.latency_ms, 0.5),
        percentile(r.latency_ms, 0.9), p99, r.latency_ms.empty() ? 0.0 : r.latency_ms.back(),
        r.latency_ms.empty() ? 0.0 : r.latency_ms.front(), r.missing, percentile(r.post_ms, 0.5),
        percentile(r.post_ms, 0.99), r.drain_s, target.c_str());
    if (r.duplicates > 0) std::printf("  (%zu events received more than once)\n", r.duplicates);
    std::fflush(stdout);
    ok = ok && r.missing == 0;
  }
  std::printf(
      "\nlatency = receiver's script (right before its 200) − this process reading the POST's "
      "200, per event; below 0 when the batch reached the receiver before the client thread "
      "got to the 200 (the event was durable and forwarded first)\n");
  std::printf("forwarding after the runs: %s\n",
              describe(forwardCall(d, "forward_status")).c_str());
  const ChildUsage u = stopDaemon(launcher, d);
  std::printf("daemon: CPU %.2f s (user %.2f, sys %.2f), peak RSS %.1f MiB, exit %d\n",
              u.user_s + u.system_s, u.user_s, u.system_s, u.max_rss_mib, u.exit_code);
  std::fflush(stdout);
  return ok;
}

// ---- 2. catch-up vs replay ---------------------------------------------------------------

bool partCatchup(const Args& args, Launcher& launcher, sink::Receiver& receiver) {
  const std::size_t n = args.catchup_events;
  std::printf("\n### 2. Catch-up after forward_pause vs a replay job, %zu events\n\n", n);
  const source::TimeRange range = recentRange(kSpan, kLag);
  const std::uint16_t port = freePort();
  const fs::path work = args.dir / "catchup";
  DaemonSetup setup{.binary = args.daemon,
                    .work_dir = work,
                    .data_dir = work / "data",
                    .receiver_url = receiver.url("/audit"),
                    .http_port = port,
                    .start = "now",
                    .log_level = args.log_level,
                    .stem = "daemon"};
  Daemon d;
  if (!startDaemon(launcher, setup, d)) return false;
  const ForwardInfo following = waitState(d, "following", 60s);
  const ForwardInfo paused = forwardCall(d, "forward_pause");
  std::printf("- daemon up in %.2f s; before: %s; after forward_pause: %s\n", d.startup_s,
              describe(following).c_str(), describe(paused).c_str());
  std::fflush(stdout);

  const BulkResult bulk = postBulk(port, 0, n, range);
  if (!bulk.error.empty()) {
    std::printf("- backlog ingest failed: %s\n", bulk.error.c_str());
    stopDaemon(launcher, d);
    return false;
  }
  std::printf(
      "- backlog: %zu events POSTed (%zu a body, %d connections) in %.2f s = %.0f events/s\n", n,
      kBulkPerPost, kBulkConnections, bulk.seconds, static_cast<double>(n) / bulk.seconds);
  // The status's backlog is refreshed once a second.
  d.watch->waitExit(1100ms);
  std::printf("- while paused: %s; RSS %.1f MiB\n",
              describe(forwardCall(d, "forward_status")).c_str(), liveRssMib(d.pid));
  std::fflush(stdout);

  // Resume, and time until the receiver has every event.
  const std::uint64_t before = receiver.stats().events;
  std::vector<std::string> progress;
  const auto t0 = SteadyClock::now();
  const ForwardInfo resumed = forwardCall(d, "forward_resume");
  std::string why;
  const double catchup_s = waitReceived(receiver, before + n, d, &why, [&] {
    char line[200];
    std::snprintf(line, sizeof line, "  %5.1f s: received %llu; %s; RSS %.1f MiB", secondsSince(t0),
                  static_cast<unsigned long long>(receiver.stats().events - before),
                  describe(forwardCall(d, "forward_status")).c_str(), liveRssMib(d.pid));
    progress.push_back(line);
  });
  std::printf("- forward_resume answered: %s\n", describe(resumed).c_str());
  for (const auto& line : progress) std::printf("%s\n", line.c_str());
  if (catchup_s < 0) {
    std::printf("- catch-up FAILED: %s\n  daemon log (%s), last lines:\n%s", why.c_str(),
                d.log_file.c_str(), fileTail(d.log_file, 15).c_str());
    stopDaemon(launcher, d);
    return false;
  }
  const ForwardInfo after = waitState(d, "following", 10s);
  const double hwm = liveHighWaterMib(d.pid);
  const ChildUsage cu = stopDaemon(launcher, d);
  const double catchup_rate = static_cast<double>(n) / catchup_s;
  std::printf(
      "- catch-up: forward_resume → receiver has all %zu: %.2f s = %.0f events/s; then %s\n", n,
      catchup_s, catchup_rate, describe(after).c_str());
  std::printf(
      "- forwarding daemon (ingest + catch-up): CPU %.2f s (user %.2f, sys %.2f), VmHWM %.1f "
      "MiB, ru_maxrss %.1f MiB, exit %d\n",
      cu.user_s + cu.system_s, cu.user_s, cu.system_s, hwm, cu.max_rss_mib, cu.exit_code);
  std::fflush(stdout);

  // The replay job of the same events: replay_bench's case, its own daemon on the data dir.
  DaemonEnv env{.binary = args.daemon,
                .work_dir = work / "replay",
                .data_dir = setup.data_dir,
                .regions = {"us"},
                .signing_key = std::nullopt,
                .launcher = &launcher,
                .receiver = &receiver,
                .receiver_counts_events = true,
                .log_level = args.log_level,
                .perf_dir = std::nullopt};
  fs::create_directories(env.work_dir);
  CaseSpec spec;
  spec.format = config::EventFormat::Json;
  spec.compression = config::Compression::Gzip;
  spec.max_events = 1000;
  const CaseResult rr = runCase(env, spec, range, n, 1);
  if (!rr.ok) {
    std::printf("- replay FAILED: %s\n", rr.error.c_str());
    return false;
  }
  const double replay_rate = static_cast<double>(n) / rr.delivered_s;
  std::printf(
      "- replay job %s (put_job %s … %s): put_job → receiver has all: %.2f s = %.0f events/s "
      "(sizing %.2f s; → completed %.2f s = %.0f events/s); daemon CPU %.2f s, peak RSS "
      "%.1f MiB\n",
      spec.name().c_str(), formatRfc3339(range.first).c_str(), formatRfc3339(range.last).c_str(),
      rr.delivered_s, replay_rate, rr.running_s, rr.seconds,
      static_cast<double>(rr.events_sent) / rr.seconds, rr.usage.user_s + rr.usage.system_s,
      rr.usage.max_rss_mib);
  const double ratio = catchup_rate / replay_rate;
  std::printf("\n| what | events | seconds | events/s |\n|---|---:|---:|---:|\n");
  std::printf("| catch-up (forward_resume → all received) | %zu | %.2f | %.0f |\n", n, catchup_s,
              catchup_rate);
  std::printf("| replay job (put_job → all received) | %zu | %.2f | %.0f |\n", n, rr.delivered_s,
              replay_rate);
  std::printf("\n- catch-up / replay = %.2f (target ≥ %.1f) → %s\n", ratio, kCatchupTarget,
              ratio >= kCatchupTarget ? "met" : "MISSED");
  std::fflush(stdout);
  return true;
}

// ---- 3. RSS while a backlog drains ----------------------------------------------------------

struct RssSample {
  double t = 0;  // s since the daemon answered ping
  double rss_mib = 0;
  std::uint64_t received = 0;
};

bool partRss(const Args& args, Launcher& launcher, sink::Receiver& receiver) {
  const std::size_t n = args.rss_events;
  std::printf("\n### 3. Daemon RSS while a %zu-event backlog drains\n\n", n);
  const source::TimeRange range = recentRange(kSpan, kLag);
  const fs::path work = args.dir / "rss";
  DatasetSpec spec;
  spec.data_dir = work / "data";
  spec.region = "us";
  spec.count = n;
  spec.range = range;
  spec.seed = 3;
  spec.with_sig = true;
  const DatasetFigures ds = ingestDataset(spec);
  std::printf(
      "- backlog: %zu events (%.0f B/event) ingested straight into a fresh store in %.2f s; "
      "daemon started with forward.start: oldest\n",
      ds.events,
      static_cast<double>(ds.bytes) / static_cast<double>(std::max<std::size_t>(ds.events, 1)),
      ds.generate_s + ds.ingest_s + ds.close_s);
  std::fflush(stdout);

  DaemonSetup setup{.binary = args.daemon,
                    .work_dir = work,
                    .data_dir = spec.data_dir,
                    .receiver_url = receiver.url("/audit"),
                    .http_port = std::nullopt,
                    .start = "oldest",
                    .log_level = args.log_level,
                    .stem = "daemon"};
  const std::uint64_t before = receiver.stats().events;
  Daemon d;
  if (!startDaemon(launcher, setup, d)) return false;
  const auto t0 = SteadyClock::now();
  std::vector<RssSample> samples;
  std::mutex samples_mutex;
  std::atomic<bool> sampling{true};
  const pid_t pid = d.pid;
  std::thread sampler([&] {
    for (auto next = t0; sampling; next += 500ms) {
      const double rss = liveRssMib(pid);
      {
        std::lock_guard lock(samples_mutex);
        samples.push_back({secondsSince(t0), rss, receiver.stats().events - before});
      }
      std::this_thread::sleep_until(next + 500ms);
    }
  });
  std::string why;
  const double drain_s = waitReceived(receiver, before + n, d, &why);
  sampling = false;
  sampler.join();
  samples.push_back({secondsSince(t0), liveRssMib(pid), receiver.stats().events - before});
  const ForwardInfo after = forwardCall(d, "forward_status");
  const double hwm = liveHighWaterMib(pid);
  const ChildUsage u = stopDaemon(launcher, d);

  // A few rows of the series (at most ~20) and the figures.
  std::printf("\n| s since up | VmRSS MiB | events received |\n|---:|---:|---:|\n");
  const std::size_t every = std::max<std::size_t>(1, samples.size() / 20);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i % every != 0 && i + 1 != samples.size()) continue;
    std::printf("| %.1f | %.1f | %llu |\n", samples[i].t, samples[i].rss_mib,
                static_cast<unsigned long long>(samples[i].received));
  }
  double max_rss = 0;
  for (const auto& s : samples) max_rss = std::max(max_rss, s.rss_mib);
  std::printf(
      "\n- VmRSS every 0.5 s (%zu samples): start %.1f MiB, max %.1f MiB, end %.1f MiB; VmHWM "
      "%.1f MiB; ru_maxrss %.1f MiB\n",
      samples.size(), samples.front().rss_mib, max_rss, samples.back().rss_mib, hwm, u.max_rss_mib);
  if (drain_s < 0) {
    std::printf("- drain FAILED: %s\n  daemon log (%s), last lines:\n%s", why.c_str(),
                d.log_file.c_str(), fileTail(d.log_file, 15).c_str());
    return false;
  }
  std::printf(
      "- drained in %.2f s after the daemon answered (startup %.2f s) = %.0f events/s; then %s; "
      "daemon CPU %.2f s (user %.2f, sys %.2f), exit %d\n",
      drain_s, d.startup_s, static_cast<double>(n) / drain_s, describe(after).c_str(),
      u.user_s + u.system_s, u.user_s, u.system_s, u.exit_code);
  std::fflush(stdout);
  return true;
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
    std::fprintf(stderr, "forward_bench: %s\n%s", e.what(), kUsage);
    return 2;
  }
  if (!fs::exists(args.daemon)) {
    std::fprintf(stderr, "forward_bench: no daemon at %s (build audit-replayd or pass --daemon)\n",
                 args.daemon.c_str());
    return 2;
  }
  if (args.dir.empty())
    args.dir = fs::temp_directory_path() / ("forward-bench-" + std::to_string(::getpid()));
  fs::remove_all(args.dir);
  fs::create_directories(args.dir);

  std::printf("## forward_bench\n\n");
  std::printf("- machine: %u CPUs (%s), MemTotal %s\n", std::thread::hardware_concurrency(),
              firstMatch("/proc/cpuinfo", "model name").c_str(),
              firstMatch("/proc/meminfo", "MemTotal").c_str());
  std::printf("- load average at start: %s\n", loadAverage().c_str());
  std::printf("- daemon: %s\n- work dir: %s\n", args.daemon.c_str(), args.dir.c_str());
  std::printf(
      "- webhook: json, gzip, 1000-event batches, to an in-process receiver that gunzips and "
      "counts (same host)\n");
  std::fflush(stdout);

  sink::ReceiverOptions options;
  options.keep_requests = false;
  options.io_timeout = std::chrono::milliseconds(120'000);
  sink::Receiver receiver(options);
  receiver.start();

  bool ok = true;
  if (args.runs("latency")) ok = partLatency(args, launcher, receiver) && ok;
  if (args.runs("catchup")) ok = partCatchup(args, launcher, receiver) && ok;
  if (args.runs("rss")) ok = partRss(args, launcher, receiver) && ok;

  std::printf("\nload average at the end: %s\n", loadAverage().c_str());
  receiver.stop();
  if (!args.keep) fs::remove_all(args.dir);
  return ok ? 0 : 1;
}
