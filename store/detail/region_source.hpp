#pragma once
// EventSource of one region in the local store: ingest, count and readers over the region's
// slice of the events column family.

#include <memory>
#include <string>

#include "source/event_source.hpp"
#include "store/detail/db.hpp"

namespace audit::store::detail {

/**
 * Thread-safe; cheap to create. Holds the database weakly: a region handle kept somewhere
 * must not keep the store open (and its LOCK taken) after the Store is gone; its calls then
 * fail with Errc::closed. Readers it opens hold the database until they are destroyed.
 */
class RegionSource final : public source::EventSource {
 public:
  RegionSource(DbPtr db, std::string region);

  source::Result<source::IngestReport> ingest(std::span<const std::string_view> events,
                                              bool skip_invalid, std::size_t index_base) override;
  source::Result<std::uint64_t> count(source::TimeRange range) override;
  source::Result<source::EventReaderPtr> openReader(source::TimeRange range,
                                                    std::string_view checkpoint) override;
  /** Counts under a RocksDB snapshot and returns it as the plan's view. */
  source::Result<source::RangePlan> plan(source::TimeRange range, std::string* detail) override;
  source::Result<source::EventReaderPtr> openReaderAt(
      source::TimeRange range, std::string_view checkpoint,
      const std::shared_ptr<const source::SourceView>& view) override;
  source::Result<std::string> arrivalPosition(source::ArrivalStart start,
                                              EpochMillis at_ms) override;
  source::Result<source::EventReaderPtr> openArrivals(std::string_view position) override;
  source::Result<source::ArrivalBacklog> arrivalBacklog(std::string_view position) override;

 private:
  struct Bounds {
    std::string lower;  // first key of range.first
    std::string upper;  // first key after range.last (exclusive)
  };
  Bounds boundsOf(source::TimeRange range) const;

  std::weak_ptr<Db> db_;
  std::string region_;
  std::string prefix_;  // "region\0"
  bool valid_;          // a bad name fails every call with invalid_argument
};

}  // namespace audit::store::detail
