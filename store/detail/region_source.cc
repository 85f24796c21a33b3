#include "store/detail/region_source.hpp"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <unordered_map>
#include <vector>

#include "source/event_parser.hpp"
#include "store/detail/arrival_index.hpp"
#include "store/detail/key_codec.hpp"
#include "store/detail/minute_counts.hpp"
#include "store/detail/range_reader.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

// One valid event on its way into the batch.
struct Candidate {
  std::string key;
  std::string_view value;
  EpochMillis time = 0;
};

// A RocksDB snapshot, released when the last job reader and plan holding it are gone.
class SnapshotView final : public source::SourceView {
 public:
  explicit SnapshotView(DbPtr db) : db_(std::move(db)), snapshot_(db_->db->GetSnapshot()) {}
  ~SnapshotView() override { db_->db->ReleaseSnapshot(snapshot_); }
  SnapshotView(const SnapshotView&) = delete;
  SnapshotView& operator=(const SnapshotView&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }
  const Db* db() const { return db_.get(); }

 private:
  DbPtr db_;
  const rocksdb::Snapshot* snapshot_;
};

}  // namespace

RegionSource::RegionSource(DbPtr db, std::string region)
    : db_(std::move(db)),
      region_(std::move(region)),
      prefix_(regionPrefix(region_)),
      valid_(validRegionName(region_)) {}

RegionSource::Bounds RegionSource::boundsOf(source::TimeRange range) const {
  Bounds b{timeKey(region_, range.first), {}};
  if (range.last < range.first) {
    b.upper = b.lower;  // empty
  } else if (range.last == std::numeric_limits<EpochMillis>::max()) {
    b.upper = regionEnd(region_);
  } else {
    b.upper = timeKey(region_, range.last + 1);  // inclusive end: every key of `last` ms
  }
  return b;
}

source::Result<source::IngestReport> RegionSource::ingest(std::span<const std::string_view> events,
                                                          bool skip_invalid,
                                                          std::size_t index_base) {
  if (!valid_) return source::Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  source::IngestReport report;

  // Validate and key everything before touching the database (no lock held while parsing).
  std::vector<Candidate> candidates;
  candidates.reserve(events.size());
  std::deque<std::string> compacted;  // stable storage for re-serialised events (rare)
  source::EventParser parser;
  std::string compact;
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::string_view text = source::trimJsonSpace(events[i]);
    source::EventTime time = parser.parse(text, compact);
    if (!time.ok) {
      report.rejected.push_back({index_base + i, std::move(time.reason)});
      continue;
    }
    std::string_view value = text;
    if (!compact.empty()) value = compacted.emplace_back(std::move(compact));
    candidates.push_back({eventKey(region_, time.ms, eventHash(value)), value, time.ms});
  }
  // Atomic per call (docs/store.md): one bad event and nothing of the call is stored.
  if (!report.rejected.empty() && !skip_invalid) return report;
  if (candidates.empty()) return report;

  std::lock_guard lock(db->write_mutex);
  // Every new event also gets the region's next arrival sequence (arrival_index.hpp); the
  // counter moves only once the batch is written, so a failed write leaves no hole.
  auto last_arrival = lastArrivalLocked(*db, region_);
  if (!last_arrival) return last_arrival.error();
  const EpochMillis arrived_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  ArrivalWriter arrivals(region_, *last_arrival, arrived_ms);
  // MultiGet answers "already stored?" for the first-choice keys, a chunk at a time: its
  // answers (a PinnableSlice and a Status per key) would otherwise cost ~150 bytes for every
  // event of a large call, on top of the call's own events.
  const std::size_t n = candidates.size();
  constexpr std::size_t kLookupChunk = 4096;
  std::vector<rocksdb::Slice> keys;
  std::vector<rocksdb::PinnableSlice> found;
  std::vector<rocksdb::Status> statuses;
  rocksdb::ReadOptions ro;
  std::size_t chunk_begin = 0;
  auto lookUpChunkOf = [&](std::size_t i) {
    if (i < chunk_begin + keys.size() && !keys.empty()) return;
    chunk_begin = i;
    const std::size_t count = std::min(kLookupChunk, n - i);
    keys.clear();
    for (std::size_t k = i; k < i + count; ++k) keys.emplace_back(candidates[k].key);
    found = std::vector<rocksdb::PinnableSlice>(count);
    statuses.assign(count, rocksdb::Status());
    db->db->MultiGet(ro, db->events, count, keys.data(), found.data(), statuses.data());
  };

  rocksdb::WriteBatch batch;
  // Keys this call writes, to dedupe events repeated within the call.
  std::unordered_map<std::string_view, std::string_view> in_batch;
  in_batch.reserve(n);
  // New events per minute, added to the counts in the same batch (so counts never drift).
  std::uint64_t minute_events = 0;
  EpochMillis minute = 0;
  auto countMinute = [&]() -> rocksdb::Status {
    if (minute_events == 0) return rocksdb::Status::OK();
    rocksdb::Status m =
        batch.Merge(db->counts, timeKey(region_, minute), encodeCount(minute_events));
    minute_events = 0;
    return m;
  };
  for (std::size_t i = 0; i < n; ++i) {
    Candidate& c = candidates[i];
    lookUpChunkOf(i);
    bool first_choice = true;
    for (;;) {
      if (auto it = in_batch.find(c.key); it != in_batch.end()) {
        if (it->second == c.value) {
          ++report.duplicates;
          break;
        }
        nextProbe(c.key);  // same key, other bytes: a hash collision
        first_choice = false;
        continue;
      }
      rocksdb::Status s;
      std::string probed;
      std::string_view stored;
      if (first_choice) {
        s = statuses[i - chunk_begin];
        stored = std::string_view(found[i - chunk_begin].data(), found[i - chunk_begin].size());
      } else {
        s = db->db->Get(ro, db->events, c.key, &probed);
        stored = probed;
      }
      if (s.IsNotFound()) {
        s = batch.Put(db->events, c.key, rocksdb::Slice(c.value.data(), c.value.size()));
        if (!s.ok()) return translate(s);
        s = arrivals.add(batch, db->arrivals, c.key);
        if (!s.ok()) return translate(s);
        // Events mostly arrive in time order: one merge per run of the same minute.
        if (EpochMillis m = bucketStart(c.time); minute_events == 0 || m != minute) {
          if (s = countMinute(); !s.ok()) return translate(s);
          minute = m;
        }
        ++minute_events;
        in_batch.emplace(c.key, c.value);
        ++report.ingested;
        break;
      }
      if (!s.ok()) return translate(s);
      if (stored == c.value) {
        ++report.duplicates;
        break;
      }
      nextProbe(c.key);
      first_choice = false;
    }
  }
  if (rocksdb::Status m = countMinute(); !m.ok()) return translate(m);
  if (rocksdb::Status a = arrivals.finish(batch, db->arrivals); !a.ok()) return translate(a);
  if (batch.Count() == 0) return report;
  // WAL on, no fsync: a process crash loses nothing acknowledged, a power loss may lose the
  // last moments, and ingest is idempotent, so the sender simply sends them again.
  rocksdb::WriteOptions wo;
  rocksdb::Status s = db->write(wo, &batch);
  if (!s.ok()) return translate(s);
  db->last_arrival[region_] = arrivals.last();
  return report;
}

source::Result<std::uint64_t> RegionSource::count(source::TimeRange range) {
  if (!valid_) return source::Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  return countRange(*db, region_, range);
}

source::Result<source::EventReaderPtr> RegionSource::openReader(source::TimeRange range,
                                                                std::string_view checkpoint) {
  return openReaderAt(range, checkpoint, nullptr);
}

source::Result<source::RangePlan> RegionSource::plan(source::TimeRange range,
                                                     std::string* /*detail*/) {
  if (!valid_) return source::Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  // Counted and later read under one snapshot: the job sends exactly what it counted, and
  // events ingested into its range afterwards (even behind its read position) are not part
  // of it. They are stored, for forwarding or the next job.
  auto view = std::make_shared<const SnapshotView>(db);
  auto counted = countRange(*db, region_, range, view->get());
  if (!counted) return counted.error();
  return source::RangePlan{*counted, true, {}, std::move(view)};
}

source::Result<source::EventReaderPtr> RegionSource::openReaderAt(
    source::TimeRange range, std::string_view checkpoint,
    const std::shared_ptr<const source::SourceView>& view) {
  if (!valid_) return source::Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  // A checkpoint is a key this region's reader handed out; anything else is a caller's bug.
  if (!checkpoint.empty() &&
      (checkpoint.size() != prefix_.size() + kSuffixBytes || !checkpoint.starts_with(prefix_))) {
    return source::Errc::invalid_argument;
  }
  // A view of another kind, or of a store since closed and reopened: read the latest data.
  auto snapshot = std::dynamic_pointer_cast<const SnapshotView>(view);
  if (snapshot && snapshot->db() != db.get()) snapshot.reset();
  Bounds b = boundsOf(range);
  std::string start = b.lower;
  if (!checkpoint.empty()) {
    // checkpoint + 0x00 is the smallest key after the checkpoint.
    start.assign(checkpoint);
    start.push_back('\0');
  }
  const rocksdb::Snapshot* at = snapshot ? snapshot->get() : nullptr;
  return source::EventReaderPtr(
      std::make_unique<RangeReader>(std::move(db), prefix_.size(), std::move(b.lower),
                                    std::move(b.upper), start, std::move(snapshot), at));
}

source::Result<std::string> RegionSource::arrivalPosition(source::ArrivalStart start,
                                                          EpochMillis at_ms) {
  if (!valid_) return source::Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  return detail::arrivalPosition(*db, region_, start, at_ms);
}

source::Result<source::EventReaderPtr> RegionSource::openArrivals(std::string_view position) {
  if (!valid_) return source::Errc::invalid_argument;
  auto after = parseArrivalPosition(position);
  if (!after) return after.error();
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  return openArrivalReader(std::move(db), region_, *after);
}

source::Result<source::ArrivalBacklog> RegionSource::arrivalBacklog(std::string_view position) {
  if (!valid_) return source::Errc::invalid_argument;
  auto after = parseArrivalPosition(position);
  if (!after) return after.error();
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return source::Errc::closed;
  return detail::arrivalBacklog(*db, region_, *after);
}

}  // namespace audit::store::detail
