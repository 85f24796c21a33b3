#include "store/detail/region_source.hpp"

#include <rocksdb/write_batch.h>

#include <deque>
#include <limits>
#include <unordered_map>
#include <vector>

#include "store/detail/event_parse.hpp"
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
class SnapshotView final : public SourceView {
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

RegionSource::Bounds RegionSource::boundsOf(TimeRange range) const {
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

Result<IngestReport> RegionSource::ingest(std::span<const std::string_view> events,
                                          bool skip_invalid, std::size_t index_base) {
  if (!valid_) return Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return Errc::closed;
  IngestReport report;

  // Validate and key everything before touching the database (no lock held while parsing).
  std::vector<Candidate> candidates;
  candidates.reserve(events.size());
  std::deque<std::string> compacted;  // stable storage for re-serialised events (rare)
  EventParser parser;
  std::string compact;
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::string_view text = trimJsonSpace(events[i]);
    EventTime time = parser.parse(text, compact);
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
  // One MultiGet answers "already stored?" for every first-choice key.
  const std::size_t n = candidates.size();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(n);
  for (const auto& c : candidates) keys.emplace_back(c.key);
  std::vector<rocksdb::PinnableSlice> found(n);
  std::vector<rocksdb::Status> statuses(n);
  rocksdb::ReadOptions ro;
  db->db->MultiGet(ro, db->events, n, keys.data(), found.data(), statuses.data());

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
        s = statuses[i];
        stored = std::string_view(found[i].data(), found[i].size());
      } else {
        s = db->db->Get(ro, db->events, c.key, &probed);
        stored = probed;
      }
      if (s.IsNotFound()) {
        s = batch.Put(db->events, c.key, rocksdb::Slice(c.value.data(), c.value.size()));
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
  if (batch.Count() == 0) return report;
  // WAL on, no fsync: a process crash loses nothing acknowledged, a power loss may lose the
  // last moments, and ingest is idempotent, so the sender simply sends them again.
  rocksdb::WriteOptions wo;
  rocksdb::Status s = db->write(wo, &batch);
  if (!s.ok()) return translate(s);
  return report;
}

Result<std::uint64_t> RegionSource::count(TimeRange range) {
  if (!valid_) return Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return Errc::closed;
  return countRange(*db, region_, range);
}

Result<EventReaderPtr> RegionSource::openReader(TimeRange range, std::string_view checkpoint) {
  return openReaderAt(range, checkpoint, nullptr);
}

Result<RangePlan> RegionSource::plan(TimeRange range, std::string* /*detail*/) {
  if (!valid_) return Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return Errc::closed;
  // Counted and later read under one snapshot: the job sends exactly what it counted, and
  // events ingested into its range afterwards (even behind its read position) are not part
  // of it. They are stored, for forwarding or the next job.
  auto view = std::make_shared<const SnapshotView>(db);
  auto counted = countRange(*db, region_, range, view->get());
  if (!counted) return counted.error();
  return RangePlan{*counted, true, {}, std::move(view)};
}

Result<EventReaderPtr> RegionSource::openReaderAt(TimeRange range, std::string_view checkpoint,
                                                  const std::shared_ptr<const SourceView>& view) {
  if (!valid_) return Errc::invalid_argument;
  DbPtr db = db_.lock();
  if (!db || !db->store_open) return Errc::closed;
  // A checkpoint is a key this region's reader handed out; anything else is a caller's bug.
  if (!checkpoint.empty() &&
      (checkpoint.size() != prefix_.size() + kSuffixBytes || !checkpoint.starts_with(prefix_))) {
    return Errc::invalid_argument;
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
  return EventReaderPtr(std::make_unique<RangeReader>(std::move(db), prefix_.size(),
                                                      std::move(b.lower), std::move(b.upper), start,
                                                      std::move(snapshot), at));
}

}  // namespace audit::store::detail
