#pragma once
// Signatures of delivered events, kept beside the events so that a range is signed once
// (docs/store.md, "Signature cache"). An entry is the signature of one event by one key
// (the key id) for one signed form (the JSON event, or its CEF line). Retention removes an
// event's signatures with the event; a new key id simply finds none and signs again.
//
// Thread-safe; every call may block on disk (callers on the event loop post them to a worker).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_batch.hpp"
#include "source/error.hpp"

namespace audit::store {

/** Which bytes were signed: the JSON event (json and cps bodies) or its CEF line. */
enum class SignedForm : char { Json = 'j', Cef = 'c' };

/** What the cache holds for the events of one batch, in batch order. */
struct CachedSignatures {
  std::vector<std::string> keys;        // the cache key of each event
  std::vector<std::string> signatures;  // 64 raw bytes, or empty: none cached
  std::size_t found = 0;                // non-empty entries of `signatures`
};

class SignatureCache {
 public:
  virtual ~SignatureCache() = default;

  /** The cached signatures of the batch's events (one batched read for the whole batch). */
  virtual source::Result<CachedSignatures> lookup(std::string_view region, const EventBatch& batch,
                                                  std::string_view kid, SignedForm form) = 0;

  /** Stores `signatures[i]` (64 raw bytes) under `keys[i]`, skipping empty ones. Not synced:
   *  a signature lost in a crash is only made again. */
  virtual source::Result<void> store(const std::vector<std::string>& keys,
                                     const std::vector<std::string>& signatures) = 0;

  /** Signatures written by store() since the store was opened. */
  virtual std::uint64_t written() const = 0;

  /** RocksDB's estimate of the cache's bytes on disk and in memory (for the docs' figures). */
  virtual std::uint64_t approximateBytes() = 0;
};
using SignatureCachePtr = std::shared_ptr<SignatureCache>;

}  // namespace audit::store
