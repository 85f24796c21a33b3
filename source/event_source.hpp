#pragma once
// The seam between the job engine and where a region's events live: the local RocksDB
// store, or a Kafka-API log (docs/kafka.md). Both implement these two interfaces.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/event_batch.hpp"
#include "source/error.hpp"

namespace audit::source {

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

/**
 * Events a reader passed over because the source no longer holds them: retention removed
 * them before they were read (a forwarding gap). Times are the events' own; both 0 when the
 * source no longer knows them.
 */
struct Skipped {
  std::uint64_t events = 0;
  EpochMillis first = 0;
  EpochMillis last = 0;

  bool any() const { return events > 0; }
  void add(const Skipped& other) {
    if (!other.any()) return;
    const bool timed = other.first != 0 || other.last != 0;
    if (timed && (first == 0 || other.first < first)) first = other.first;
    if (timed && other.last > last) last = other.last;
    events += other.events;
  }
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

  /**
   * Why the last next() failed, in words for an operator (the job's error reason): e.g.
   * which partitions lost records to retention, what the broker answered. Empty when the
   * error code says all there is (the local store).
   */
  virtual std::string lastErrorDetail() const { return {}; }

  /**
   * What the reader passed over since the last call (arrival readers only). A batch may then
   * hold no event and still carry a checkpoint: the position moved past the gap.
   */
  virtual Skipped takeSkipped() { return {}; }
};
using EventReaderPtr = std::unique_ptr<EventReader>;

/** A range as sized when its job enters `pending` (docs/http-api.md, docs/kafka.md). */
/** A consistent view of a source, held open while it is referenced (a RocksDB snapshot). */
class SourceView {
 public:
  virtual ~SourceView() = default;
};

struct RangePlan {
  std::uint64_t count = 0;  // events of the range; an upper bound unless `exact`
  bool exact = true;
  /**
   * Where the job's reader starts: openReader(range, checkpoint). A partitioned log fixes
   * each partition's end offset here, so a job resumed after a crash keeps the same end.
   * Empty: from the start of the range.
   */
  std::string checkpoint;
  /**
   * The source as it was when the range was sized, for openReaderAt(): a reader opened
   * with it reads exactly what was counted, and nothing ingested later. Null where the
   * source keeps no such view (readers then see the latest data).
   */
  std::shared_ptr<const SourceView> view;
};

/** Where forwarding starts when a region has no stored position (docs/forwarding.md). */
enum class ArrivalStart {
  Now,     // after the last event stored so far
  Oldest,  // before the oldest event still held
  At,      // before the first event that arrived at or after a time
};

/** What waits after an arrival position. */
struct ArrivalBacklog {
  std::uint64_t events = 0;
  EpochMillis oldest_arrival_ms = 0;  // when the first waiting event arrived; 0: none waits
};

class EventSource {
 public:
  virtual ~EventSource() = default;

  /**
   * Stores events given as JSON text (surrounding white space trimmed). Each needs a time
   * (`rt` or `event_ts`, docs/store.md). Without skip_invalid, one bad event stores nothing and
   * every bad one is reported; with it, the good ones are stored. `index_base` is added to
   * each rejection's index (1 for line numbers of a file). Thread-safe.
   */
  virtual Result<IngestReport> ingest(std::span<const std::string_view> events, bool skip_invalid,
                                      std::size_t index_base = 0) = 0;

  /** Number of events in the range (an upper bound where a source cannot know exactly). */
  virtual Result<std::uint64_t> count(TimeRange range) = 0;

  /** False when count() is only an upper bound (a partitioned log, docs/kafka.md). */
  virtual bool countIsExact() const { return true; }

  /**
   * A reader of the range, starting after `checkpoint` (empty: from the start). What the
   * source can explain (records of the range deleted, brokers unreachable) may instead come
   * from the reader's first next(), with lastErrorDetail().
   */
  virtual Result<EventReaderPtr> openReader(TimeRange range, std::string_view checkpoint) = 0;

  /**
   * openReader() over `view` (from this source's plan()): the reader sees the source as it
   * was when the range was sized. Default (and a null view): openReader().
   */
  virtual Result<EventReaderPtr> openReaderAt(TimeRange range, std::string_view checkpoint,
                                              const std::shared_ptr<const SourceView>& view) {
    (void)view;
    return openReader(range, checkpoint);
  }

  /**
   * Sizes the range for a job entering `pending` and fixes what the job will read: the job
   * stores the plan's checkpoint durably and opens its reader from it. On failure, `detail`
   * (when given) receives words for an operator. Default: count() and countIsExact(), read
   * from the start.
   */
  virtual Result<RangePlan> plan(TimeRange range, std::string* detail) {
    (void)detail;
    auto counted = count(range);
    if (!counted) return counted.error();
    return RangePlan{*counted, countIsExact(), {}, nullptr};
  }

  // Arrival order (forwarding): every stored event in the order it was stored, late ones
  // (an old event time) included. Positions are opaque text; Errc::unsupported where the
  // source keeps no arrival order.

  /** The position forwarding starts from without a stored one (`at_ms` with At). */
  virtual Result<std::string> arrivalPosition(ArrivalStart start, EpochMillis at_ms) {
    (void)start;
    (void)at_ms;
    return Errc::unsupported;
  }

  /**
   * A reader of the events stored after `position`, in arrival order. It follows the source:
   * each next() sees what is stored by then, and an empty batch without a checkpoint means
   * "nothing more yet", not the end.
   */
  virtual Result<EventReaderPtr> openArrivals(std::string_view position) {
    (void)position;
    return Errc::unsupported;
  }

  /** How many events are stored after `position`, and when the first of them arrived. */
  virtual Result<ArrivalBacklog> arrivalBacklog(std::string_view position) {
    (void)position;
    return Errc::unsupported;
  }
};
using EventSourcePtr = std::shared_ptr<EventSource>;

}  // namespace audit::source
