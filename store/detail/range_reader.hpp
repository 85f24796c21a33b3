#pragma once
// EventReader over one region's key range of the events column family.

#include <rocksdb/db.h>

#include <memory>
#include <string>

#include "source/event_source.hpp"
#include "store/detail/db.hpp"

namespace audit::store::detail {

/**
 * Iterates [lower, upper) of the events family from `start` on. The iterator is created once
 * and kept, so the reader sees the store as it was when it was opened: events ingested later
 * do not change a running replay, whose size was fixed when it was counted. Not thread-safe.
 */
class RangeReader final : public source::EventReader {
 public:
  /** `prefix_size`: bytes of "region\0" at the front of every key (to decode times). */
  RangeReader(DbPtr db, std::size_t prefix_size, std::string lower, std::string upper,
              const std::string& start, std::shared_ptr<const source::SourceView> view = nullptr,
              const rocksdb::Snapshot* snapshot = nullptr);

  source::Result<void> next(EventBatch& out, BatchLimits limits) override;

 private:
  DbPtr db_;  // declared first: destroyed after the iterator that needs it
  std::shared_ptr<const source::SourceView> view_;  // keeps the snapshot read from alive
  std::size_t prefix_size_;
  // The iterator keeps pointers to the bound slices and they to these strings.
  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::string last_key_;
  std::size_t last_batch_bytes_ = 0;  // sizes the next batch's buffer
};

}  // namespace audit::store::detail
