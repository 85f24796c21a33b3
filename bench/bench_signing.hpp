#pragma once
// The signing part of replay_bench --signed: the signed lines `audit-replayctl verify` is
// timed on, and the run of verify itself.

#include <cstdint>
#include <filesystem>
#include <string>

#include "bench/bench_process.hpp"
#include "source/event_source.hpp"

namespace audit::bench {

/**
 * Writes every event of `range` in `region` as the daemon delivers it in JSON lines, signed
 * with the PEM key `key_file` (one line per event, on all cores), and the key's JWKS to
 * `jwks_file`. Exits the program on failure. @return the number of lines.
 */
std::uint64_t writeSignedLines(const std::filesystem::path& data_dir, const std::string& region,
                               source::TimeRange range, const std::filesystem::path& key_file,
                               const std::filesystem::path& lines_file,
                               const std::filesystem::path& jwks_file);

struct VerifyRun {
  bool ok = false;
  std::string output;  // what verify printed (its summary line)
  double seconds = 0;  // wall time, exec to exit
  ChildUsage usage;
};

/** Runs `ctl verify --jwks jwks_file lines_file` and times it. */
VerifyRun runVerify(Launcher& launcher, const std::filesystem::path& ctl,
                    const std::filesystem::path& jwks_file, const std::filesystem::path& lines_file,
                    const std::filesystem::path& log_file);

}  // namespace audit::bench
