#pragma once
// replay_bench's data: Konnect-like events ingested straight into a fresh store (no daemon),
// and small helpers shared by the benchmark's parts (timing, rates).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/clock.hpp"
#include "source/event_source.hpp"

namespace audit::bench {

using SteadyClock = std::chrono::steady_clock;

inline double secondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

/** CPU seconds (user + system) of this whole process so far. */
double processCpuSeconds();

struct DatasetSpec {
  std::filesystem::path data_dir;
  std::string region = "us";
  std::size_t count = 1'000'000;
  source::TimeRange range;  // event times lie inside it
  std::uint64_t seed = 1;
  bool with_sig = true;      // false: events as they look before a signer adds `sig`
  std::size_t chunk = 1000;  // events per EventSource::ingest call (one WriteBatch)
};

struct DatasetFigures {
  std::size_t events = 0;   // newly stored
  std::uint64_t bytes = 0;  // event bytes (compact JSON, no separators)
  double generate_s = 0;    // inside the generator
  double ingest_s = 0;      // inside ingest calls
  double close_s = 0;       // destroying the Store (flushes the memtable)
};

/** Generates spec.count events over spec.range and ingests them into spec.data_dir through
 *  audit::store::Store, then closes the store. Exits the program on a store error. */
DatasetFigures ingestDataset(const DatasetSpec& spec);

/** Range of `span` ending `lag` before now, to whole seconds. */
source::TimeRange recentRange(std::chrono::milliseconds span, std::chrono::milliseconds lag);

}  // namespace audit::bench
