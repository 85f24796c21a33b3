#include "store/detail/minute_counts.hpp"

#include <rocksdb/write_batch.h>

#include <limits>
#include <optional>

#include "store/detail/key_codec.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

constexpr EpochMillis kMinTime = std::numeric_limits<EpochMillis>::min();
constexpr EpochMillis kMaxTime = std::numeric_limits<EpochMillis>::max();

// Key of the marker "the counts match the events", in the counts family itself. No minute
// key starts with 0x00 (region names are not empty and never contain it).
constexpr std::string_view kCountsCompleteKey{"\0complete", 9};

// Minute keys written per WriteBatch while rebuilding.
constexpr std::size_t kRebuildBatchKeys = 10'000;

class CountMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    std::uint64_t sum = decodeCount(value);
    if (existing != nullptr) sum += decodeCount(*existing);
    *new_value = encodeCount(sum);
    return true;
  }
  const char* Name() const override { return "audit.minute_count_add"; }
};

// Scan bounds of an inclusive time range in the events family.
struct KeyBounds {
  std::string lower;
  std::string upper;
};

KeyBounds keyBounds(std::string_view region, source::TimeRange range) {
  return {timeKey(region, range.first),
          range.last == kMaxTime ? regionEnd(region) : timeKey(region, range.last + 1)};
}

// Sum of the counts of the minutes starting in [first, end).
source::Result<std::uint64_t> sumMinutes(Db& db, std::string_view region, EpochMillis first,
                                         EpochMillis end, const rocksdb::Snapshot* snapshot) {
  std::string lower = timeKey(region, first);
  std::string upper = timeKey(region, end);
  rocksdb::Slice lower_slice(lower);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.counts));
  std::uint64_t n = 0;
  for (it->Seek(lower_slice); it->Valid(); it->Next()) n += decodeCount(it->value());
  if (!it->status().ok()) return translate(it->status());
  return n;
}

// Start of the first whole minute at or after `ms`, if there is one.
std::optional<EpochMillis> firstWholeMinute(EpochMillis ms) {
  EpochMillis floor = bucketStart(ms);
  if (floor == ms && ms % kCountBucketMs == 0) return ms;
  if (floor > kMaxTime - kCountBucketMs) return std::nullopt;
  // A clamped floor (INT64_MIN is no minute start) still steps to the first real one.
  return floor == kMinTime ? bucketStart(kMinTime + kCountBucketMs) : floor + kCountBucketMs;
}

}  // namespace

EpochMillis bucketStart(EpochMillis ms) {
  EpochMillis rem = ms % kCountBucketMs;
  if (rem < 0) rem += kCountBucketMs;
  // Below the first minute start above INT64_MIN the floor is not representable.
  if (ms < kMinTime + rem) return kMinTime;
  return ms - rem;
}

std::string encodeCount(std::uint64_t n) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

std::uint64_t decodeCount(const rocksdb::Slice& value) {
  if (value.size() != 8) return 0;
  std::uint64_t n = 0;
  for (std::size_t i = 8; i-- > 0;) n = (n << 8) | static_cast<unsigned char>(value[i]);
  return n;
}

std::shared_ptr<rocksdb::MergeOperator> makeCountMergeOperator() {
  return std::make_shared<CountMergeOperator>();
}

source::Result<std::uint64_t> scanCount(Db& db, std::string_view region, source::TimeRange range,
                                        const rocksdb::Snapshot* snapshot) {
  if (range.last < range.first) return std::uint64_t{0};
  KeyBounds b = keyBounds(region, range);
  rocksdb::Slice lower(b.lower);
  rocksdb::Slice upper(b.upper);
  rocksdb::ReadOptions ro = scanReadOptions();
  ro.snapshot = snapshot;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.events));
  std::uint64_t n = 0;
  for (it->Seek(lower); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) return translate(it->status());
  return n;
}

source::Result<std::uint64_t> countRange(Db& db, std::string_view region, source::TimeRange range,
                                         const rocksdb::Snapshot* snapshot) {
  if (range.last < range.first) return std::uint64_t{0};
  // Whole minutes [whole_first, whole_end) come from the counts; the rest is scanned.
  std::optional<EpochMillis> whole_first = firstWholeMinute(range.first);
  // range.last + 1 would overflow at INT64_MAX, whose minute is never whole anyway.
  EpochMillis whole_end =
      range.last == kMaxTime ? bucketStart(kMaxTime) : bucketStart(range.last + 1);
  if (!whole_first || *whole_first >= whole_end) return scanCount(db, region, range, snapshot);

  std::uint64_t total = 0;
  if (range.first < *whole_first) {
    auto head = scanCount(db, region, {range.first, *whole_first - 1}, snapshot);
    if (!head) return head;
    total += *head;
  }
  auto middle = sumMinutes(db, region, *whole_first, whole_end, snapshot);
  if (!middle) return middle;
  total += *middle;
  if (whole_end <= range.last) {
    auto tail = scanCount(db, region, {whole_end, range.last}, snapshot);
    if (!tail) return tail;
    total += *tail;
  }
  return total;
}

source::Result<void> ensureCountsComplete(Db& db) {
  std::string marker;
  rocksdb::Status s =
      db.db->Get(rocksdb::ReadOptions(), db.counts,
                 rocksdb::Slice(kCountsCompleteKey.data(), kCountsCompleteKey.size()), &marker);
  if (s.ok()) return {};
  if (!s.IsNotFound()) return translate(s);

  // Start from nothing: whatever a cut-short rebuild left is incomplete.
  {
    rocksdb::WriteBatch clear;
    std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.counts));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (auto d = clear.Delete(db.counts, it->key()); !d.ok()) return translate(d);
    }
    if (!it->status().ok()) return translate(it->status());
    if (auto w = db.db->Write(rocksdb::WriteOptions(), &clear); !w.ok()) return translate(w);
  }

  // Event keys are "region\0" + 8 time bytes + 8 hash bytes, so dropping the hash and
  // rounding the time down gives the minute key; keys arrive in minute order per region.
  rocksdb::ReadOptions ro = scanReadOptions();
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.events));
  rocksdb::WriteBatch batch;
  std::string minute_key;
  std::uint64_t in_minute = 0;
  auto flushMinute = [&]() -> rocksdb::Status {
    if (in_minute == 0) return rocksdb::Status::OK();
    rocksdb::Status put = batch.Put(db.counts, minute_key, encodeCount(in_minute));
    in_minute = 0;
    if (!put.ok() || batch.Count() < kRebuildBatchKeys) return put;
    put = db.db->Write(rocksdb::WriteOptions(), &batch);
    batch.Clear();
    return put;
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key.size() < kSuffixBytes + 1) return source::Errc::corruption;  // not a key we write
    std::string_view prefix = key.substr(0, key.size() - kSuffixBytes);
    EpochMillis minute = bucketStart(keyTime(key, prefix.size()));
    std::string this_key(prefix);
    appendBigEndian(this_key, orderedTime(minute));
    if (this_key != minute_key) {
      if (auto f = flushMinute(); !f.ok()) return translate(f);
      minute_key = std::move(this_key);
    }
    ++in_minute;
  }
  if (!it->status().ok()) return translate(it->status());
  if (auto f = flushMinute(); !f.ok()) return translate(f);
  // The marker goes last, synced: a crash before it means "rebuild again" at the next open.
  if (auto m = batch.Put(db.counts,
                         rocksdb::Slice(kCountsCompleteKey.data(), kCountsCompleteKey.size()), "1");
      !m.ok()) {
    return translate(m);
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return toResult(db.db->Write(synced, &batch));
}

}  // namespace audit::store::detail
