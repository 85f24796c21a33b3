#include "bench/bench_daemon.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench/bench_dataset.hpp"
#include "bench/bench_util.hpp"
#include "common/rfc3339.hpp"

namespace audit::bench {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kStartDeadline = 120s;  // RocksDB recovery on a loaded machine
constexpr auto kJobDeadline = 3600s;   // 5M events at a few thousand a second still ends
constexpr auto kStopDeadline = 30s;    // docs/systemd.md promises 10 s; the rest is slack for load
constexpr auto kCallDeadline = 30s;

std::string configYaml(const DaemonEnv& env, const CaseSpec& spec) {
  std::ostringstream y;
  y << "data_dir: " << env.data_dir.string() << "\n"
    << "log: {level: " << env.log_level << ", format: text}\n"
    << "control:\n"
    << "  socket: " << (env.work_dir / "run" / "control.sock").string() << "\n"
    << "  spool_dir: " << (env.work_dir / "spool").string() << "\n";
  if (spec.with_signing && env.signing_key) {
    y << "signing:\n  key_file: " << env.signing_key->string() << "\n";
    if (spec.signature_cache) y << "  cache: true\n";
  }
  y << "regions:\n";
  for (const auto& region : env.regions) {
    y << "  " << region << ":\n"
      << "    webhook:\n"
      << "      endpoint: " << env.receiver->url("/audit") << "\n"
      << "      log_format: " << config::toString(spec.format) << "\n"
      << "      compression: " << config::toString(spec.compression) << "\n"
      << "      timeout: 60s\n"
      // Large enough that batch.max_events alone shapes the batches (5000 x ~630 B).
      << "    batch: {max_events: " << spec.max_events << ", max_bytes: 16MiB}\n";
  }
  return y.str();
}

const json::object* jobOf(const std::optional<json::object>& answer) {
  if (!answer) return nullptr;
  auto it = answer->find("job");
  return it != answer->end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

std::string statusOf(const json::object& job) {
  auto it = job.find("status");
  return it != job.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

}  // namespace

std::string CaseSpec::name() const {
  std::string n = std::string(config::toString(format)) + "/" + config::toString(compression) +
                  "/" + std::to_string(max_events);
  if (with_signing) n += signature_cache ? "/cached" : "/signed";
  return n;
}

CaseResult runCase(const DaemonEnv& env, const CaseSpec& spec, source::TimeRange range,
                   std::uint64_t expected, int serial) {
  CaseResult result;
  const std::string stem = "case-" + std::to_string(serial);
  const fs::path config_file = env.work_dir / (stem + ".yaml");
  const fs::path log_file = env.work_dir / (stem + ".log");
  const fs::path socket = env.work_dir / "run" / "control.sock";
  fs::create_directories(env.work_dir / "run");
  fs::create_directories(env.work_dir / "spool");
  std::ofstream(config_file) << configYaml(env, spec);

  auto fail = [&](std::string why) {
    result.ok = false;
    result.error =
        why + "\n  daemon log (" + log_file.string() + "), last lines:\n" + fileTail(log_file, 15);
    return result;
  };

  // Start and wait for the control socket to answer.
  const auto t_exec = SteadyClock::now();
  pid_t pid =
      env.launcher->spawn({env.binary.string(), "--config", config_file.string()}, log_file);
  if (pid <= 0) return fail("cannot start " + env.binary.string());
  ProcessWatch watch(pid);
  ControlClient control;
  bool up = false;
  while (SteadyClock::now() - t_exec < kStartDeadline) {
    if (control.connect(socket)) {
      auto pong = control.call({{"op", "ping"}}, kCallDeadline);
      if (pong && pong->contains("ok") && pong->at("ok") == true) {
        up = true;
        break;
      }
    }
    // Not up yet: wait a little for it, returning at once if the daemon exits instead.
    if (watch.waitExit(10ms)) break;
  }
  if (!up) {
    ChildUsage u = env.launcher->reap(pid, 1s);
    return fail("daemon did not come up (exit code " + std::to_string(u.exit_code) + ")");
  }
  result.startup_s = secondsSince(t_exec);

  // Optionally, perf attached to the daemon for the job only.
  pid_t perf_pid = -1;
  if (env.perf_dir) {
    const fs::path data = *env.perf_dir / (stem + ".perf.data");
    fs::remove(data);
    perf_pid = env.launcher->spawn({"/usr/bin/perf", "record", "-e", "cpu-clock", "-F", "997", "-g",
                                    "-p", std::to_string(pid), "-o", data.string()},
                                   *env.perf_dir / (stem + ".perf.log"));
    // perf writes its header once it is attached.
    ProcessWatch perf_watch(perf_pid);
    const auto t_perf = SteadyClock::now();
    std::error_code ec;
    while (perf_pid > 0 && SteadyClock::now() - t_perf < 20s && !perf_watch.waitExit(10ms)) {
      if (fs::file_size(data, ec) > 0 && !ec) break;
    }
  }

  // The job over the whole range.
  const sink::ReceiverStats before = env.receiver->stats();
  const auto t0 = SteadyClock::now();
  auto put = control.call({{"op", "put_job"},
                           {"region", spec.region},
                           {"start_at", formatRfc3339(range.first)},
                           {"end_at", formatRfc3339(range.last)}},
                          kCallDeadline);
  if (!put || !put->contains("code") || put->at("code") != 202) {
    ::kill(pid, SIGTERM);
    env.launcher->reap(pid, kStopDeadline);
    return fail("put_job refused: " + (put ? json::serialize(*put) : std::string("no answer")));
  }

  // Until the job runs (accepted → pending → running: the range is being sized), poll
  // get_job closely to time the sizing; the loop thread is idle then. Afterwards wait for
  // the receiver to have every event (a condition variable inside the receiver), checking
  // the job between waits so a failed job ends the wait at once.
  auto all_in = [&](const sink::ReceiverStats& s) { return s.events - before.events >= expected; };
  bool delivered = false;
  bool running = false;
  std::string status;
  std::optional<json::object> last_job;
  while (SteadyClock::now() - t0 < kJobDeadline) {
    if (!running || !env.receiver_counts_events) {
      if (watch.waitExit(2ms)) break;
    } else if (!delivered) {
      delivered = env.receiver->waitFor(all_in, 100ms);
      if (delivered) result.delivered_s = secondsSince(t0);
    } else if (watch.waitExit(2ms)) {
      break;  // the daemon died; reported below
    }
    auto got = control.call({{"op", "get_job"}, {"region", spec.region}}, kCallDeadline);
    const json::object* job = jobOf(got);
    if (job == nullptr) break;
    status = statusOf(*job);
    last_job = *job;
    if (!running && status != "accepted" && status != "pending") {
      running = true;
      result.running_s = secondsSince(t0);
    }
    if (status == "completed" || status == "failed") break;
  }
  result.seconds = secondsSince(t0);
  const sink::ReceiverStats after = env.receiver->stats();
  result.events = after.events - before.events;
  result.plain_bytes = after.plain_bytes - before.plain_bytes;
  result.wire_bytes = after.wire_bytes - before.wire_bytes;
  result.requests = after.requests - before.requests;
  if (last_job) {
    if (auto* p = last_job->if_contains("progress"); p && p->is_object()) {
      if (auto* sent = p->as_object().if_contains("events_sent")) {
        result.events_sent = sent->to_number<std::uint64_t>();
      }
    }
  }

  if (perf_pid > 0) {
    ::kill(perf_pid, SIGINT);  // perf writes its data and exits
    env.launcher->reap(perf_pid, 60s);
  }

  // Stop, and take CPU time and peak RSS from wait4().
  result.hwm_mib = liveHighWaterMib(pid);
  const auto t_stop = SteadyClock::now();
  ::kill(pid, SIGTERM);
  result.usage = env.launcher->reap(pid, kStopDeadline);
  result.stop_s = secondsSince(t_stop);

  if (status != "completed") {
    return fail("job ended as \"" + status + "\"" +
                (last_job ? ": " + json::serialize(*last_job) : std::string()));
  }
  const bool counted = env.receiver_counts_events || spec.compression == config::Compression::None;
  if ((counted && result.events < expected) || result.events_sent < expected) {
    return fail("receiver got " + std::to_string(result.events) + " events, job sent " +
                std::to_string(result.events_sent) + ", expected " + std::to_string(expected));
  }
  if (!result.usage.exited || result.usage.exit_code != 0) {
    return fail("daemon did not stop cleanly on SIGTERM (exit code " +
                std::to_string(result.usage.exit_code) + ", signal " +
                std::to_string(result.usage.signal) + ")");
  }
  if (!delivered) result.delivered_s = result.seconds;
  result.ok = true;
  return result;
}

Expected<> writeSigningKey(const fs::path& file) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return Failure{"Ed25519 key generation failed"};
  FILE* out = std::fopen(file.c_str(), "w");
  bool ok =
      out != nullptr && PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (out != nullptr) std::fclose(out);
  EVP_PKEY_free(key);
  if (!ok) return Failure{"cannot write " + file.string()};
  return {};
}

}  // namespace audit::bench
