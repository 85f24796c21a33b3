#include "store/detail/rocks_store.hpp"

#include <rocksdb/write_batch.h>

#include <chrono>
#include <limits>
#include <mutex>

#include "store/detail/arrival_index.hpp"
#include "store/detail/key_codec.hpp"
#include "store/detail/minute_counts.hpp"
#include "store/detail/region_source.hpp"
#include "store/detail/signature_store.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

std::string recordKey(RecordKind kind, std::string_view key) {
  std::string k(1, static_cast<char>(kind));
  k.append(key);
  return k;
}

}  // namespace

source::EventSourcePtr RocksStore::region(std::string_view name) {
  return std::make_shared<RegionSource>(db_, std::string(name));
}

source::Result<void> RocksStore::putRecord(RecordKind kind, std::string_view key,
                                           std::string_view value) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s =
      batch.Put(db_->records, recordKey(kind, key), rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) return translate(s);
  // Job records promise durability before a status becomes visible (docs/http-api.md): fsync the
  // WAL.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return toResult(db_->write(wo, &batch));
}

source::Result<std::optional<std::string>> RocksStore::getRecord(RecordKind kind,
                                                                 std::string_view key) {
  std::string value;
  rocksdb::Status s =
      db_->db->Get(rocksdb::ReadOptions(), db_->records, recordKey(kind, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return translate(s);
  return std::optional<std::string>(std::move(value));
}

source::Result<std::vector<std::pair<std::string, std::string>>> RocksStore::listRecords(
    RecordKind kind) {
  std::string lower(1, static_cast<char>(kind));
  std::string upper(1, static_cast<char>(static_cast<char>(kind) + 1));
  rocksdb::Slice lower_slice(lower);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->records));
  std::vector<std::pair<std::string, std::string>> out;
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    k.remove_prefix(1);
    out.emplace_back(k.ToString(), it->value().ToString());
  }
  if (!it->status().ok()) return translate(it->status());
  return out;
}

source::Result<std::vector<std::string>> RocksStore::regions() {
  return regionsOf(db_->events);
}

source::Result<std::vector<std::string>> RocksStore::regionsOf(
    rocksdb::ColumnFamilyHandle* family) {
  // No registry to keep in step: the key layout puts each region in one contiguous run, so
  // a seek past "name\x01" jumps from one region to the next, one seek per region.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, family));
  std::vector<std::string> out;
  for (it->SeekToFirst(); it->Valid();) {
    rocksdb::Slice key = it->key();
    std::string_view k(key.data(), key.size());
    auto sep = k.find(kRegionSeparator);
    if (sep == std::string_view::npos) return source::Errc::corruption;  // not a key we write
    out.emplace_back(k.substr(0, sep));
    it->Seek(regionEnd(out.back()));
  }
  if (!it->status().ok()) return translate(it->status());
  return out;
}

RocksStore::RocksStore(DbPtr db)
    : db_(std::move(db)), signatures_(std::make_shared<SignatureStore>(db_)) {}

SignatureCachePtr RocksStore::signatureCache() {
  return signatures_;
}

source::Result<std::size_t> RocksStore::removeBefore(EpochMillis cutoff) {
  // Signatures go with their events (or before them: a cached signature is only a saving).
  if (auto removed = removeSignaturesBefore(*db_, cutoff); !removed) return removed.error();
  auto names = regions();
  if (!names) return names.error();
  auto arrival_names = regionsOf(db_->arrivals);
  if (!arrival_names) return arrival_names.error();
  // The counts of the minute the cutoff cuts are recounted from the events that stay; no
  // ingest may add to that minute between the recount and the write.
  std::unique_lock lock(db_->write_mutex);
  rocksdb::WriteBatch batch;
  std::vector<std::pair<std::string, std::string>> spans;
  const EpochMillis cut_minute = bucketStart(cutoff);
  for (const auto& name : *names) {
    std::string begin = regionPrefix(name);
    std::string end = timeKey(name, cutoff);
    // Only regions with something to remove get a tombstone and a compaction, so calling
    // this every few minutes costs one seek per region when there is nothing to do.
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->events));
    it->Seek(begin);
    if (!it->status().ok()) return translate(it->status());
    if (!it->Valid()) continue;
    rocksdb::Status s = batch.DeleteRange(db_->events, begin, end);
    if (!s.ok()) return translate(s);
    // Whole minutes before the cutoff go; the cut minute keeps the count of what stays.
    std::string minute_key = timeKey(name, cut_minute);
    s = batch.DeleteRange(db_->counts, begin, minute_key);
    if (!s.ok()) return translate(s);
    if (cut_minute != cutoff) {
      const EpochMillis minute_last =
          cut_minute > std::numeric_limits<EpochMillis>::max() - kCountBucketMs
              ? std::numeric_limits<EpochMillis>::max()
              : cut_minute + kCountBucketMs - 1;
      auto kept = scanCount(*db_, name, {cutoff, minute_last});
      if (!kept) return kept.error();
      s = *kept == 0 ? batch.Delete(db_->counts, minute_key)
                     : batch.Put(db_->counts, minute_key, encodeCount(*kept));
      if (!s.ok()) return translate(s);
    }
    spans.emplace_back(std::move(begin), std::move(end));
  }
  // Arrival entries go by when they arrived: an event older than the cutoff that arrived
  // lately keeps its entry, so forwarding that had not sent it reports it as a gap.
  bool arrivals_trimmed = false;
  for (const auto& name : *arrival_names) {
    auto trimmed = trimArrivalsBefore(*db_, batch, name, cutoff);
    if (!trimmed) return trimmed.error();
    arrivals_trimmed = arrivals_trimmed || *trimmed;
  }
  if (spans.empty() && !arrivals_trimmed) return std::size_t{0};
  // Not synced: after a crash the events (and their counts) reappear together and the next
  // run removes them again.
  if (auto s = db_->db->Write(rocksdb::WriteOptions(), &batch); !s.ok()) return translate(s);
  lock.unlock();  // compaction takes a while; ingest may go on meanwhile
  // A range tombstone hides the events at once; compacting the span frees their disk space
  // now rather than whenever normal compaction reaches those files.
  rocksdb::CompactRangeOptions co;
  co.exclusive_manual_compaction = false;  // let ingest's own flushes and compactions go on
  for (const auto& [begin, end] : spans) {
    rocksdb::Slice b(begin);
    rocksdb::Slice e(end);
    if (auto s = db_->db->CompactRange(co, db_->events, &b, &e); !s.ok()) return translate(s);
  }
  return spans.size();
}

std::uint64_t RocksStore::approximateSize() {
  std::uint64_t total = 0;
  for (auto* cf : {db_->events, db_->records, db_->counts, db_->signatures, db_->arrivals}) {
    std::uint64_t v = 0;
    if (db_->db->GetIntProperty(cf, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) total += v;
    if (db_->db->GetIntProperty(cf, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
      total += v;
    }
  }
  return total;
}

bool RocksStore::healthy() {
  // Health is the store's write state: after a background error (EMFILE in a flush, a full
  // disk) RocksDB refuses every write while reads still succeed, so a read alone would say
  // "ok". A small unsynced write answers the real question and, through Db::write, lets the
  // store resume once the cause is gone.
  rocksdb::WriteBatch probe;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string stamp =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  if (!probe.Put(db_->records, recordKey(RecordKind::Meta, "health"), stamp).ok()) return false;
  if (!db_->write(rocksdb::WriteOptions(), &probe).ok()) return false;
  std::string value;
  rocksdb::Status s = db_->db->Get(rocksdb::ReadOptions(), db_->records,
                                   recordKey(RecordKind::Meta, "health"), &value);
  return s.ok() || s.IsNotFound();
}

}  // namespace audit::store::detail
