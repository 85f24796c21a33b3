#pragma once
// The arrivals column family: each region's events in the order they were stored, so
// forwarding reads events that arrived late (an old event time) too (docs/store.md).
//
//   key:   region bytes | 0x00 | sequence: 8 bytes big-endian (1, 2, 3, … per region)
//   value: arrival time: 8 bytes big-endian epoch ms | the event's key suffix (16 bytes)
//
// Ingest writes an entry for every newly stored event in the same WriteBatch as the event,
// under the store's write lock, so sequences are contiguous and commit in order: a reader
// never sees N+1 before N. Retention removes entries with the events they point to; an
// entry whose event is gone is a gap the reader reports. Part of the on-disk format.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "source/event_source.hpp"
#include "store/detail/db.hpp"

namespace audit::store::detail {

inline constexpr std::size_t kArrivalValueBytes = 24;

std::string arrivalKey(std::string_view region, std::uint64_t sequence);
/** `event_key` is the event's full key; the value keeps its time and hash. */
std::string arrivalValue(EpochMillis arrived_ms, std::string_view event_key);

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
 * Adds to `batch` the removal of `region`'s entries that arrived before `cutoff` (retention).
 * Call with db.write_mutex held. @return whether there was anything to remove.
 */
source::Result<bool> trimArrivalsBefore(Db& db, rocksdb::WriteBatch& batch,
                                        const std::string& region, EpochMillis cutoff);

}  // namespace audit::store::detail
