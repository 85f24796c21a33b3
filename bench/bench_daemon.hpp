#pragma once
// One end-to-end replay case: audit-replayd started as a child on an ingested data dir,
// a put_job over the whole range, get_job polled until the job ends, then SIGTERM and the
// daemon's CPU time and peak RSS from wait4(). Deliveries go to an in-process Receiver.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_process.hpp"
#include "common/expected.hpp"
#include "config/config.hpp"
#include "sink/receiver.hpp"
#include "source/event_source.hpp"

namespace audit::bench {

struct CaseSpec {
  std::string region = "us";
  config::EventFormat format = config::EventFormat::Json;
  config::Compression compression = config::Compression::None;
  std::size_t max_events = 1000;
  bool with_signing = false;
  bool signature_cache = false;  // with_signing and signing.cache: true

  /** "json/none/1000", "json/gzip/1000/signed", "json/gzip/1000/cached" (signed, cache on) */
  std::string name() const;
};

/** What every case shares. */
struct DaemonEnv {
  std::filesystem::path binary;    // audit-replayd
  std::filesystem::path work_dir;  // configs, logs and the control socket go here
  std::filesystem::path data_dir;
  std::vector<std::string> regions;  // all configured alike; the case picks one
  std::optional<std::filesystem::path> signing_key;
  Launcher* launcher = nullptr;
  sink::Receiver* receiver = nullptr;
  /** false: the receiver does not gunzip, so it cannot count events; the job's own
   *  progress says when every event was delivered. */
  bool receiver_counts_events = true;
  std::string log_level = "info";
  /** Set: each job is profiled with `perf record -e cpu-clock -g -p PID` into this folder. */
  std::optional<std::filesystem::path> perf_dir;
};

struct CaseResult {
  bool ok = false;
  std::string error;              // why not ok (with the tail of the daemon's log)
  std::uint64_t events = 0;       // acknowledged by the receiver during the job
  std::uint64_t plain_bytes = 0;  // as the receiver saw them, after gunzip
  std::uint64_t wire_bytes = 0;
  std::uint64_t requests = 0;
  std::uint64_t events_sent = 0;  // the job's own progress
  double startup_s = 0;           // exec → control socket answers ping
  double running_s = 0;           // put_job → get_job first shows running (sizing done)
  double delivered_s = 0;         // put_job → the receiver has every event
  double seconds = 0;             // put_job → get_job shows completed
  double stop_s = 0;              // SIGTERM → exit
  double hwm_mib = 0;             // VmHWM just before SIGTERM
  ChildUsage usage;               // wait4()
};

/** Runs one case. `expected` is the number of events in `range` of the case's region. */
CaseResult runCase(const DaemonEnv& env, const CaseSpec& spec, source::TimeRange range,
                   std::uint64_t expected, int serial);

/** Writes an Ed25519 private key (PEM) like `openssl genpkey -algorithm ed25519`. */
Expected<> writeSigningKey(const std::filesystem::path& file);

}  // namespace audit::bench
