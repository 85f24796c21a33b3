#include "store/detail/signature_store.hpp"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>

#include "store/detail/key_codec.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

constexpr std::size_t kSignatureBytes = 64;

}  // namespace

source::Result<CachedSignatures> SignatureStore::lookup(std::string_view region,
                                                        const EventBatch& batch,
                                                        std::string_view kid, SignedForm form) {
  if (!db_->store_open) return source::Errc::closed;
  if (!validRegionName(region)) return source::Errc::invalid_argument;
  std::string suffix(1, static_cast<char>(form));
  appendBigEndian(suffix, eventHash(kid));

  CachedSignatures out;
  const std::size_t n = batch.size();
  out.keys.reserve(n);
  const std::string prefix = regionPrefix(region);
  for (std::size_t i = 0; i < n; ++i) {
    std::string key;
    key.reserve(prefix.size() + kSuffixBytes + suffix.size());
    key += prefix;
    appendBigEndian(key, orderedTime(batch.time(i)));
    appendBigEndian(key, eventHash(batch.event(i)));
    key += suffix;
    out.keys.push_back(std::move(key));
  }
  out.signatures.resize(n);
  if (n == 0) return out;

  // One iterator over the batch's span, walked alongside the keys in order (a merge): the
  // entries of a batch are neighbours, so stepping costs far less than a lookup per key,
  // and a range never cached costs one seek.
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (!std::is_sorted(out.keys.begin(), out.keys.end())) {
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return out.keys[a] < out.keys[b]; });
  }
  std::string upper = out.keys[order.back()];
  upper.push_back('\0');  // just past the last key
  const rocksdb::Slice upper_bound(upper);
  rocksdb::ReadOptions ro;
  // A replay reads each signature once: keep the block cache for index and filter blocks.
  ro.fill_cache = false;
  ro.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->signatures));
  it->Seek(out.keys[order.front()]);
  for (std::size_t i : order) {
    const rocksdb::Slice key(out.keys[i]);
    // A few steps forward (other key ids' entries between), else seek.
    for (int steps = 0; it->Valid() && it->key().compare(key) < 0; ++steps) {
      if (steps < 4) {
        it->Next();
      } else {
        it->Seek(key);
        break;
      }
    }
    if (!it->Valid()) break;
    if (it->key() != key) continue;  // past it: not cached
    const rocksdb::Slice value = it->value();
    if (value.size() != kSignatureBytes) continue;  // not ours: sign again
    out.signatures[i].assign(value.data(), value.size());
    ++out.found;
  }
  if (!it->status().ok()) return translate(it->status());
  return out;
}

source::Result<void> SignatureStore::store(const std::vector<std::string>& keys,
                                           const std::vector<std::string>& signatures) {
  if (!db_->store_open) return source::Errc::closed;
  rocksdb::WriteBatch batch;
  for (std::size_t i = 0; i < keys.size() && i < signatures.size(); ++i) {
    if (signatures[i].size() != kSignatureBytes) continue;
    if (auto s = batch.Put(db_->signatures, keys[i], signatures[i]); !s.ok()) return translate(s);
  }
  if (batch.Count() == 0) return {};
  rocksdb::WriteOptions wo;
  // A signature lost in a crash is made again by the next replay: no WAL needed.
  wo.disableWAL = true;
  if (auto s = db_->db->Write(wo, &batch); !s.ok()) return translate(s);
  written_.fetch_add(batch.Count(), std::memory_order_relaxed);
  return {};
}

std::uint64_t SignatureStore::approximateBytes() {
  std::uint64_t total = 0;
  for (const auto& property : {rocksdb::DB::Properties::kLiveSstFilesSize,
                               rocksdb::DB::Properties::kCurSizeAllMemTables}) {
    std::uint64_t v = 0;
    if (db_->db->GetIntProperty(db_->signatures, property, &v)) total += v;
  }
  return total;
}

source::Result<void> removeSignaturesBefore(Db& db, EpochMillis cutoff) {
  // Each region's signatures are one run of keys; skip from one region to the next.
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.signatures));
  rocksdb::WriteBatch batch;
  std::vector<std::pair<std::string, std::string>> spans;
  for (it->SeekToFirst(); it->Valid();) {
    const rocksdb::Slice key = it->key();
    const std::string_view k(key.data(), key.size());
    const std::size_t sep = k.find(kRegionSeparator);
    if (sep == std::string_view::npos) break;  // not a signature key: nothing of ours follows
    const std::string region(k.substr(0, sep));
    std::string begin = regionPrefix(region);
    std::string end = timeKey(region, cutoff);
    if (k < std::string_view(end)) {
      if (auto s = batch.DeleteRange(db.signatures, begin, end); !s.ok()) return translate(s);
      spans.emplace_back(std::move(begin), std::move(end));
    }
    it->Seek(regionEnd(region));
  }
  if (!it->status().ok()) return translate(it->status());
  it.reset();
  if (spans.empty()) return {};
  if (auto s = db.db->Write(rocksdb::WriteOptions(), &batch); !s.ok()) return translate(s);
  rocksdb::CompactRangeOptions co;
  co.exclusive_manual_compaction = false;
  for (const auto& [begin, end] : spans) {
    rocksdb::Slice b(begin);
    rocksdb::Slice e(end);
    if (auto s = db.db->CompactRange(co, db.signatures, &b, &e); !s.ok()) return translate(s);
  }
  return {};
}

}  // namespace audit::store::detail
