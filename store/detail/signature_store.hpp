#pragma once
// The signature cache on the store's RocksDB (the "signatures" column family). Key layout:
//
//   event key (region | 0x00 | time | hash, key_codec.hpp) | form byte | key id: 8 bytes
//
// The event key comes first so that retention's range over a region's old event keys covers
// their signatures too, and so that a batch's lookups read neighbouring keys in order.
// The key id part is the first 8 bytes of the key id's (base64url) text hashed with
// eventHash, enough to tell the keys an operator rotates through apart.

#include <atomic>

#include "store/detail/db.hpp"
#include "store/signature_cache.hpp"

namespace audit::store::detail {

class SignatureStore final : public SignatureCache {
 public:
  explicit SignatureStore(DbPtr db) : db_(std::move(db)) {}

  source::Result<CachedSignatures> lookup(std::string_view region, const EventBatch& batch,
                                          std::string_view kid, SignedForm form) override;
  source::Result<void> store(const std::vector<std::string>& keys,
                             const std::vector<std::string>& signatures) override;
  std::uint64_t written() const override { return written_.load(std::memory_order_relaxed); }
  std::uint64_t approximateBytes() override;

 private:
  DbPtr db_;
  std::atomic<std::uint64_t> written_{0};
};

/** Retention: removes every region's signatures of events before `cutoff`. */
source::Result<void> removeSignaturesBefore(Db& db, EpochMillis cutoff);

}  // namespace audit::store::detail
