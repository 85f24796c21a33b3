#include "store/detail/range_reader.hpp"

#include <algorithm>

#include "store/detail/key_codec.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {

RangeReader::RangeReader(DbPtr db, std::size_t prefix_size, std::string lower, std::string upper,
                         const std::string& start, std::shared_ptr<const source::SourceView> view,
                         const rocksdb::Snapshot* snapshot)
    : db_(std::move(db)),
      view_(std::move(view)),
      prefix_size_(prefix_size),
      lower_(std::move(lower)),
      upper_(std::move(upper)),
      lower_slice_(lower_),
      upper_slice_(upper_) {
  rocksdb::ReadOptions ro = scanReadOptions();
  ro.snapshot = snapshot;
  ro.iterate_lower_bound = &lower_slice_;
  ro.iterate_upper_bound = &upper_slice_;
  it_.reset(db_->db->NewIterator(ro, db_->events));
  // A start before the lower bound would let the iterator return keys outside the range.
  it_->Seek(std::max(start, lower_));
}

source::Result<void> RangeReader::next(EventBatch& out, BatchLimits limits) {
  out.clear();
  // Zero events per batch would read as "exhausted" forever; treat it as one.
  const std::size_t max_events = std::max<std::size_t>(limits.max_events, 1);
  // Batches of a range are alike: room for the last one's bytes and a bit more spares the
  // ~20 reallocations and copies of growing a 600 KB buffer from nothing.
  const std::size_t expected =
      last_batch_bytes_ != 0 ? last_batch_bytes_ + last_batch_bytes_ / 8 : max_events * 700;
  out.reserve(std::min(expected, limits.max_bytes + max_events), max_events);
  std::size_t bytes = 0;
  std::string first_key;
  for (; it_->Valid() && out.size() < max_events; it_->Next()) {
    rocksdb::Slice value = it_->value();
    // The byte cap never leaves a batch empty: a single larger event goes alone.
    if (!out.empty() && bytes + value.size() > limits.max_bytes) break;
    rocksdb::Slice key = it_->key();
    if (out.empty()) first_key.assign(key.data(), key.size());
    out.add(std::string_view(value.data(), value.size()),
            keyTime(std::string_view(key.data(), key.size()), prefix_size_));
    bytes += value.size();
    last_key_.assign(key.data(), key.size());
  }
  // Invalid() is also how an I/O error shows; it must not pass for the end of the range.
  if (!it_->status().ok()) {
    out.clear();
    return translate(it_->status());
  }
  if (out.empty()) return {};
  last_batch_bytes_ = out.joined().size();
  out.checkpoint = last_key_;
  std::string identity = first_key;
  identity += last_key_;
  identity += std::to_string(out.size());
  out.identity = toHex(eventHash(identity));
  return {};
}

}  // namespace audit::store::detail
