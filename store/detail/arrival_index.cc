#include "store/detail/arrival_index.hpp"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "store/detail/key_codec.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

// Read options bounded to one region's keys. The bounds point into the object, so it is
// neither copied nor moved; copies of options() stay valid while it lives.
class RegionBounds {
 public:
  explicit RegionBounds(std::string_view region)
      : lower_(regionPrefix(region)),
        upper_(regionEnd(region)),
        lower_slice_(lower_),
        upper_slice_(upper_) {
    options_.iterate_lower_bound = &lower_slice_;
    options_.iterate_upper_bound = &upper_slice_;
  }
  RegionBounds(const RegionBounds&) = delete;
  RegionBounds& operator=(const RegionBounds&) = delete;

  /** `fill_cache` false for walks that would evict hot blocks (retention, catch-up). */
  rocksdb::ReadOptions options(bool fill_cache = true) const {
    rocksdb::ReadOptions ro = options_;
    ro.fill_cache = fill_cache;
    return ro;
  }
  const std::string& prefix() const { return lower_; }

 private:
  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  rocksdb::ReadOptions options_;
};

std::string arrivalKey(std::string_view region, std::uint64_t sequence) {
  std::string key = regionPrefix(region);
  appendBigEndian(key, sequence);
  return key;
}

/** One entry of the arrivals family: the events first … first + count − 1. */
struct Group {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  EpochMillis arrived = 0;
  const char* suffixes = nullptr;  // count × kSuffixBytes, valid while the iterator stays

  std::uint64_t end() const { return first + count; }  // one past the last
};

std::optional<Group> readGroup(rocksdb::Slice key, rocksdb::Slice value, std::size_t prefix_size) {
  if (key.size() != prefix_size + 8 || value.size() < 8 + kSuffixBytes ||
      (value.size() - 8) % kSuffixBytes != 0) {
    return std::nullopt;
  }
  Group g;
  g.first = readBigEndian(key.data() + prefix_size);
  g.count = (value.size() - 8) / kSuffixBytes;
  g.arrived = static_cast<EpochMillis>(readBigEndian(value.data()));
  g.suffixes = value.data() + 8;
  return g;
}

/** An iterator over `region`'s entries, at the one holding `sequence`, or the first after
 *  it when that one is gone; invalid when there is none. */
std::unique_ptr<rocksdb::Iterator> seekGroup(Db& db, const rocksdb::ReadOptions& bounded,
                                             std::string_view region, std::size_t prefix_size,
                                             std::uint64_t sequence) {
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(bounded, db.arrivals));
  it->SeekForPrev(arrivalKey(region, sequence));
  if (it->Valid()) {
    auto g = readGroup(it->key(), it->value(), prefix_size);
    if (g && g->end() <= sequence) it->Next();  // ends before it: the next one
  } else if (it->status().ok()) {
    it->SeekToFirst();  // every entry up to it is gone (or there is none)
  }
  return it;
}

// Reads one batch per next() with fresh iterators, so it sees what was stored meanwhile:
// a forwarder that caught up asks again when woken and finds the new arrivals.
//
// The events are fetched by walking the time-keyed family with one iterator in the batch's
// arrival order: live events mostly arrive in time order, so most of them are the
// iterator's next key (a sequential read, as fast as a replay's scan), and only where the
// orders differ — a late event, a gap — does it seek. One MultiGet per batch instead cost a
// catch-up a third of a replay's speed.
class ArrivalReader final : public source::EventReader {
 public:
  ArrivalReader(DbPtr db, std::string region, std::uint64_t after)
      : db_(std::move(db)),
        region_(std::move(region)),
        bounds_(region_),
        prefix_(bounds_.prefix()),
        after_(after) {}

  source::Result<void> next(EventBatch& out, BatchLimits limits) override {
    out.clear();
    const std::size_t max_events = std::max<std::size_t>(limits.max_events, 1);
    if (auto listed = list(max_events); !listed) return listed.error();
    if (entries_.empty()) return {};

    const std::size_t expected =
        last_batch_bytes_ != 0 ? last_batch_bytes_ + last_batch_bytes_ / 8 : max_events * 700;
    out.reserve(std::min(expected, limits.max_bytes + max_events), entries_.size());

    // As a replay's scan, fill_cache off: a catch-up must not evict the hot blocks.
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db->NewIterator(bounds_.options(false), db_->events));
    std::size_t bytes = 0;
    std::uint64_t consumed = after_;
    std::string key = prefix_;
    for (const Entry& e : entries_) {
      key.resize(prefix_.size());
      key.append(e.suffix, kSuffixBytes);
      const rocksdb::Slice wanted(key);
      // A few steps forward are cheaper than a seek (another ingest's events in between).
      for (int step = 0; step < kStepsBeforeSeek && it->Valid() && it->key().compare(wanted) < 0;
           ++step) {
        it->Next();
      }
      if (!it->Valid() || it->key().compare(wanted) != 0) it->Seek(wanted);
      if (!it->status().ok()) {
        out.clear();
        return translate(it->status());
      }
      if (!it->Valid() || it->key().compare(wanted) != 0) {
        // Retention removed the event before it was forwarded.
        skipped_.add({1, e.time, e.time});
        consumed = e.sequence;
        continue;
      }
      const rocksdb::Slice value = it->value();
      // The byte cap never leaves a batch empty: a single larger event goes alone.
      if (!out.empty() && bytes + value.size() > limits.max_bytes) break;
      out.add(std::string_view(value.data(), value.size()), e.time);
      bytes += value.size();
      consumed = e.sequence;
      it->Next();
    }
    if (consumed == after_) return {};
    if (!out.empty()) last_batch_bytes_ = out.joined().size();
    out.checkpoint = formatArrivalPosition(consumed);
    out.identity = std::to_string(after_ + 1) + "-" + std::to_string(consumed);
    after_ = consumed;
    return {};
  }

  source::Skipped takeSkipped() override { return std::exchange(skipped_, {}); }

 private:
  static constexpr int kStepsBeforeSeek = 4;

  struct Entry {
    std::uint64_t sequence = 0;
    EpochMillis time = 0;
    char suffix[kSuffixBytes];  // the event key's time and hash
  };

  // The next events after after_, up to max_events.
  source::Result<void> list(std::size_t max_events) {
    entries_.clear();
    std::uint64_t next = after_ + 1;
    auto it = seekGroup(*db_, bounds_.options(), region_, prefix_.size(), next);
    for (; it->Valid() && entries_.size() < max_events; it->Next()) {
      auto group = readGroup(it->key(), it->value(), prefix_.size());
      if (!group) return source::Errc::corruption;
      if (group->end() <= next) continue;
      if (group->first > next) {
        // Entries trimmed by retention before they were read: their times are gone with them.
        skipped_.add({group->first - next, 0, 0});
        next = group->first;
      }
      for (; next < group->end() && entries_.size() < max_events; ++next) {
        Entry& e = entries_.emplace_back();
        e.sequence = next;
        std::memcpy(e.suffix, group->suffixes + (next - group->first) * kSuffixBytes, kSuffixBytes);
        e.time = timeFromOrdered(readBigEndian(e.suffix));
      }
    }
    if (!it->status().ok()) return translate(it->status());
    return {};
  }

  DbPtr db_;
  std::string region_;
  RegionBounds bounds_;
  const std::string& prefix_;  // bounds_'s
  std::uint64_t after_;
  std::vector<Entry> entries_;
  source::Skipped skipped_;
  std::size_t last_batch_bytes_ = 0;
};

}  // namespace

ArrivalWriter::ArrivalWriter(std::string_view region, std::uint64_t last, EpochMillis arrived_ms)
    : prefix_(regionPrefix(region)), last_(last), arrived_ms_(arrived_ms) {}

rocksdb::Status ArrivalWriter::add(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family,
                                   std::string_view event_key) {
  if (value_.empty()) {
    group_first_ = last_ + 1;
    value_.reserve(8 + kArrivalGroup * kSuffixBytes);
    appendBigEndian(value_, static_cast<std::uint64_t>(arrived_ms_));
  }
  value_.append(event_key.substr(event_key.size() - kSuffixBytes));
  ++last_;
  if (last_ - group_first_ + 1 < kArrivalGroup) return rocksdb::Status::OK();
  return finish(batch, family);
}

rocksdb::Status ArrivalWriter::finish(rocksdb::WriteBatch& batch,
                                      rocksdb::ColumnFamilyHandle* family) {
  if (value_.empty()) return rocksdb::Status::OK();
  std::string key = prefix_;
  appendBigEndian(key, group_first_);
  rocksdb::Status s = batch.Put(family, key, value_);
  value_.clear();
  return s;
}

source::Result<std::uint64_t> lastArrivalLocked(Db& db, const std::string& region) {
  if (auto it = db.last_arrival.find(region); it != db.last_arrival.end()) return it->second;
  const std::string lower = regionPrefix(region);
  const std::string upper = regionEnd(region);
  rocksdb::Slice lower_slice(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.arrivals));
  it->SeekForPrev(upper);
  if (!it->status().ok()) return translate(it->status());
  std::uint64_t last = 0;
  if (it->Valid()) {
    auto group = readGroup(it->key(), it->value(), lower.size());
    if (!group) return source::Errc::corruption;
    last = group->end() - 1;
  }
  db.last_arrival.emplace(region, last);
  return last;
}

std::string formatArrivalPosition(std::uint64_t sequence) {
  return std::to_string(sequence);
}

source::Result<std::uint64_t> parseArrivalPosition(std::string_view position) {
  std::uint64_t v = 0;
  const auto* end = position.data() + position.size();
  auto [ptr, ec] = std::from_chars(position.data(), end, v);
  if (position.empty() || ec != std::errc() || ptr != end) return source::Errc::invalid_argument;
  return v;
}

source::Result<std::string> arrivalPosition(Db& db, const std::string& region,
                                            source::ArrivalStart start, EpochMillis at_ms) {
  std::uint64_t last = 0;
  {
    std::lock_guard lock(db.write_mutex);
    auto loaded = lastArrivalLocked(db, region);
    if (!loaded) return loaded.error();
    last = *loaded;
  }
  if (start == source::ArrivalStart::Now) return formatArrivalPosition(last);
  const RegionBounds bounds(region);
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(bounds.options(false), db.arrivals));
  // Arrival times grow with the sequence (up to clock steps), so the first entry at or
  // after the time is found by walking from the oldest; this runs once per region, ever.
  for (it->Seek(bounds.prefix()); it->Valid(); it->Next()) {
    auto group = readGroup(it->key(), it->value(), bounds.prefix().size());
    if (!group) return source::Errc::corruption;
    if (start == source::ArrivalStart::Oldest || group->arrived >= at_ms) {
      return formatArrivalPosition(group->first - 1);
    }
  }
  if (!it->status().ok()) return translate(it->status());
  return formatArrivalPosition(last);
}

source::Result<source::ArrivalBacklog> arrivalBacklog(Db& db, const std::string& region,
                                                      std::uint64_t after) {
  std::uint64_t last = 0;
  {
    std::lock_guard lock(db.write_mutex);
    auto loaded = lastArrivalLocked(db, region);
    if (!loaded) return loaded.error();
    last = *loaded;
  }
  source::ArrivalBacklog backlog;
  if (last <= after) return backlog;
  backlog.events = last - after;
  const RegionBounds bounds(region);
  auto it = seekGroup(db, bounds.options(), region, bounds.prefix().size(), after + 1);
  if (!it->status().ok()) return translate(it->status());
  if (it->Valid()) {
    if (auto group = readGroup(it->key(), it->value(), bounds.prefix().size())) {
      backlog.oldest_arrival_ms = group->arrived;
    }
  }
  return backlog;
}

source::Result<source::EventReaderPtr> openArrivalReader(DbPtr db, const std::string& region,
                                                         std::uint64_t after) {
  return source::EventReaderPtr(std::make_unique<ArrivalReader>(std::move(db), region, after));
}

source::Result<bool> trimArrivalsBefore(Db& db, rocksdb::WriteBatch& batch,
                                        const std::string& region, EpochMillis cutoff) {
  const RegionBounds bounds(region);
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(bounds.options(false), db.arrivals));
  std::string end;  // the first entry kept
  std::string previous;
  std::size_t older = 0;
  for (it->Seek(bounds.prefix()); it->Valid(); it->Next()) {
    auto group = readGroup(it->key(), it->value(), bounds.prefix().size());
    if (!group) return {boost::system::in_place_error, make_error_code(source::Errc::corruption)};
    if (group->arrived >= cutoff) {
      end = it->key().ToString();
      break;
    }
    previous = it->key().ToString();
    ++older;
  }
  // (Result<bool> takes an error code only explicitly: it would convert to bool.)
  if (!it->status().ok()) return {boost::system::in_place_error, translate(it->status())};
  if (end.empty() && older > 0) {
    // Every entry is older than the cutoff: the last one stays, so the region's sequence
    // survives a restart (lastArrivalLocked() reads it from the last key) and a stored
    // forwarding position never lies ahead of new arrivals.
    end = previous;
    --older;
  }
  if (older == 0) return false;
  if (auto s = batch.DeleteRange(db.arrivals, bounds.prefix(), end); !s.ok()) {
    return {boost::system::in_place_error, translate(s)};
  }
  return true;
}

}  // namespace audit::store::detail
