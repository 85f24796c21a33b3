#pragma once
// The arrivals column family: each region's events in the order they were stored, so
// forwarding reads events that arrived late (an old event time) too (docs/store.md).
//
//   key:   region bytes | 0x00 | first sequence: 8 bytes big-endian (1, 2, 3, … per region)
//   value: arrival time: 8 bytes big-endian epoch ms | n × an event key's suffix (16 bytes:
//          time and hash), for the events numbered first … first + n − 1 (1 ≤ n ≤ kArrivalGroup)
//
// One entry holds a run of up to kArrivalGroup events stored by one ingest call: an entry
// per event would cost ingest a second memtable insert for every event. Ingest writes the
// entries in the same WriteBatch as the events, under the store's write lock, so sequences
// are contiguous and commit in order: a reader never sees N+1 before N. Retention removes
// whole entries by arrival time; an event that is gone when read is a gap the reader
// reports. Part of the on-disk format.

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "source/event_source.hpp"
#include "store/detail/db.hpp"

namespace audit::store::detail {

inline constexpr std::size_t kArrivalGroup = 1024;

/** The arrival entries of one ingest call: add() each newly stored event, in order. */
class ArrivalWriter {
 public:
  /** `last`: the region's last sequence so far; `arrived_ms`: the call's arrival time. */
  ArrivalWriter(std::string_view region, std::uint64_t last, EpochMillis arrived_ms);

  /** Numbers the event stored under `event_key`; a full entry goes into `batch`. */
  rocksdb::Status add(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family,
                      std::string_view event_key);
  /** Puts the last, partial entry into `batch`. */
  rocksdb::Status finish(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family);
  /** The last sequence given (the region's, once the batch is written). */
  std::uint64_t last() const { return last_; }

 private:
  std::string prefix_;
  std::uint64_t last_;
  EpochMillis arrived_ms_;
  std::uint64_t group_first_ = 0;
  std::string value_;  // of the entry being filled
};

/** The last sequence written for `region` (0: none). Call with db.write_mutex held. */
source::Result<std::uint64_t> lastArrivalLocked(Db& db, const std::string& region);

/** A position is the last sequence forwarded, as decimal text ("0": before the first). */
std::string formatArrivalPosition(std::uint64_t sequence);
/** Errc::invalid_argument for anything formatArrivalPosition() did not make. */
source::Result<std::uint64_t> parseArrivalPosition(std::string_view position);

source::Result<std::string> arrivalPosition(Db& db, const std::string& region,
                                            source::ArrivalStart start, EpochMillis at_ms);
source::Result<source::ArrivalBacklog> arrivalBacklog(Db& db, const std::string& region,
                                                      std::uint64_t after);
source::Result<source::EventReaderPtr> openArrivalReader(DbPtr db, const std::string& region,
                                                         std::uint64_t after);

/**
 * Adds to `batch` the removal of `region`'s entries that arrived before `cutoff` (retention),
 * all but the last: it keeps the region's sequence across restarts. Call with db.write_mutex
 * held. @return whether there was anything to remove.
 */
source::Result<bool> trimArrivalsBefore(Db& db, rocksdb::WriteBatch& batch,
                                        const std::string& region, EpochMillis cutoff);

}  // namespace audit::store::detail
