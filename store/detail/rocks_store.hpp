#pragma once
// Store on RocksDB: regions' events in the "events" family, records in "records".

#include "store/detail/db.hpp"
#include "store/event_store.hpp"

namespace audit::store::detail {

class RocksStore final : public Store {
 public:
  explicit RocksStore(DbPtr db);
  ~RocksStore() override { db_->store_open = false; }

  source::EventSourcePtr region(std::string_view name) override;
  source::Result<void> putRecord(RecordKind kind, std::string_view key,
                                 std::string_view value) override;
  source::Result<std::optional<std::string>> getRecord(RecordKind kind,
                                                       std::string_view key) override;
  source::Result<std::vector<std::pair<std::string, std::string>>> listRecords(
      RecordKind kind) override;
  source::Result<std::size_t> removeBefore(EpochMillis cutoff) override;
  std::uint64_t approximateSize() override;
  bool healthy() override;
  SignatureCachePtr signatureCache() override;

  /** Names of the regions that hold at least one event, in key order. */
  source::Result<std::vector<std::string>> regions();

 private:
  /** Names of the regions with at least one key in `family` (keys start "region\0"). */
  source::Result<std::vector<std::string>> regionsOf(rocksdb::ColumnFamilyHandle* family);

  DbPtr db_;
  std::shared_ptr<SignatureCache> signatures_;
};

}  // namespace audit::store::detail
