#pragma once
// The seam between the job engine and where a region's events live: the local RocksDB
// store, or a Kafka-API log (SPEC §11). Both implement these two interfaces.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/event_batch.hpp"
#include "store/error.hpp"

namespace audit::store {

/** Inclusive at both ends, in epoch milliseconds. */
struct TimeRange {
  EpochMillis first = 0;
  EpochMillis last = 0;
};

struct Rejection {
  std::size_t index = 0;  // position in the request (0-based) or line number (1-based, files)
  std::string reason;
};

struct IngestReport {
  std::size_t ingested = 0;    // newly stored
  std::size_t duplicates = 0;  // already present (same bytes, same region)
  std::vector<Rejection> rejected;
};

/** Reads a region's events of one range in time order. Not thread-safe; one per job. */
class EventReader {
 public:
  virtual ~EventReader() = default;
  /**
   * Fills `out` (cleared first) with up to `limits` worth of the next events, sets
   * out.checkpoint to the position after them and out.identity to a stable id.
   * An empty batch means the range is exhausted. An I/O error never looks like the end.
   */
  virtual Result<void> next(EventBatch& out, BatchLimits limits) = 0;

  /** For partitioned sources: the exact count once the reader ran to the end. */
  virtual bool totalIsExact() const { return true; }
};
using EventReaderPtr = std::unique_ptr<EventReader>;

class EventSource {
 public:
  virtual ~EventSource() = default;

  /**
   * Stores events given as JSON text (surrounding white space trimmed). Each needs a time
   * (`rt` or `event_ts`, SPEC §2). Without skip_invalid, one bad event stores nothing and
   * every bad one is reported; with it, the good ones are stored. `index_base` is added to
   * each rejection's index (1 for line numbers of a file). Thread-safe.
   */
  virtual Result<IngestReport> ingest(std::span<const std::string_view> events, bool skip_invalid,
                                      std::size_t index_base = 0) = 0;

  /** Number of events in the range (an upper bound where a source cannot know exactly). */
  virtual Result<std::uint64_t> count(TimeRange range) = 0;

  /** False when count() is only an upper bound (a partitioned log, SPEC §11). */
  virtual bool countIsExact() const { return true; }

  /** A reader of the range, starting after `checkpoint` (empty: from the start). */
  virtual Result<EventReaderPtr> openReader(TimeRange range, std::string_view checkpoint) = 0;
};
using EventSourcePtr = std::shared_ptr<EventSource>;

}  // namespace audit::store
