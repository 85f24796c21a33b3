#pragma once
// Per-minute event counts, so a job learns the size of its range (docs/http-api.md: `events_total`
// is known from `pending` on) without reading every event of it twice.
//
// The counts column family holds, per region and minute, the number of events stored with a
// time in that minute: key = timeKey(region, minute start) (same layout as event keys, no
// hash), value = 8-byte little-endian count. Ingest adds to it in the same WriteBatch as the
// events (a merge, so concurrent writers never read-modify-write); retention deletes whole
// minutes and rewrites the one minute its cutoff cuts. A range count sums the whole minutes
// inside the range and scans the events of the two partial minutes at its ends, so it costs
// at most two minutes of events plus one small key per minute — a week is 10,080 keys.

#include <rocksdb/merge_operator.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "source/error.hpp"
#include "source/event_source.hpp"
#include "store/detail/db.hpp"

namespace audit::store::detail {

inline constexpr EpochMillis kCountBucketMs = 60'000;

/** Start of the minute holding `ms` (floor, also for negative times; clamped at INT64_MIN). */
EpochMillis bucketStart(EpochMillis ms);

std::string encodeCount(std::uint64_t n);
std::uint64_t decodeCount(const rocksdb::Slice& value);  // 0 for a malformed value

/** Adds 8-byte counts; the counts family's merge operator. */
std::shared_ptr<rocksdb::MergeOperator> makeCountMergeOperator();

/** Events of one region added by one write: minute key -> new events. */
using CountDelta = std::map<std::string, std::uint64_t>;

/** Exact number of the region's events in `range` (inclusive), using the counts. */
source::Result<std::uint64_t> countRange(Db& db, std::string_view region, source::TimeRange range,
                                         const rocksdb::Snapshot* snapshot = nullptr);

/** Number of the region's events in `range` (inclusive), by scanning the events. */
source::Result<std::uint64_t> scanCount(Db& db, std::string_view region, source::TimeRange range,
                                        const rocksdb::Snapshot* snapshot = nullptr);

/**
 * Makes the counts family match the events family when it may not: a store written before
 * the family existed, or a rebuild cut short by a crash. A marker record, written last and
 * synced, says the counts are complete. Called once at open, before anything else runs.
 */
source::Result<void> ensureCountsComplete(Db& db);

}  // namespace audit::store::detail
