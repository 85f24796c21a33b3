#pragma once
// The local, time-keyed event store (docs/store.md) on RocksDB, plus the durable records the
// daemon keeps beside the events (job records, webhook status).
//
// Thread safety: Store and every EventSource it hands out are safe to use from several
// threads at once. An EventReader is not: one per job, used by one thread at a time.
// Every call here may block on disk; callers on the event loop post them to a worker.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/event_batch.hpp"
#include "source/error.hpp"
#include "source/event_source.hpp"
#include "store/signature_cache.hpp"

namespace audit::store {

struct StoreOptions {
  std::filesystem::path data_dir;
  /** Block cache for point lookups and job records; bulk scans bypass it. */
  std::size_t block_cache_bytes = 32 << 20;
  std::size_t write_buffer_bytes = 16 << 20;
};

/** Durable records other than events. Writes are synced before they return. */
enum class RecordKind : char {
  Job = 'j',
  WebhookStatus = 'w',
  Meta = 'm',
  WebhookOverride = 'o',  // a region's webhook as changed over the API
  Forward = 'f',          // a region's forwarding position (docs/forwarding.md)
};

class Store {
 public:
  /**
   * Opens (creating if needed) the store in options.data_dir.
   * Errors: Errc::locked when another process holds it, Errc::no_permission,
   * Errc::corruption, Errc::io_error. `detail` receives RocksDB's own words.
   */
  static source::Result<std::unique_ptr<Store>> open(const StoreOptions& options,
                                                     std::string* detail);

  virtual ~Store() = default;

  /**
   * The local event stream of a region (created on first use; cheap to call). The handle
   * does not keep the store open: once the Store is destroyed its calls fail with
   * Errc::closed. A reader it opened keeps the database open until the reader is destroyed.
   * Region names are non-empty, at most 255 bytes and hold no NUL byte; a handle for any
   * other name fails every call with Errc::invalid_argument.
   */
  virtual source::EventSourcePtr region(std::string_view name) = 0;

  virtual source::Result<void> putRecord(RecordKind kind, std::string_view key,
                                         std::string_view value) = 0;
  virtual source::Result<std::optional<std::string>> getRecord(RecordKind kind,
                                                               std::string_view key) = 0;
  virtual source::Result<std::vector<std::pair<std::string, std::string>>> listRecords(
      RecordKind kind) = 0;

  /**
   * Removes every region's events with a time before `cutoff` (retention). Cheap to call
   * often: a range tombstone per region and a compaction of what it covers.
   * @return the number of regions touched.
   */
  virtual source::Result<std::size_t> removeBefore(EpochMillis cutoff) = 0;

  /** RocksDB's estimate of live data on disk, in bytes (for metrics). */
  virtual std::uint64_t approximateSize() = 0;

  /**
   * True when the store takes writes (a small unsynced write and a read, for health and
   * /healthz). False while RocksDB refuses writes after a background error; the same call
   * asks RocksDB to resume (at most once a second), so it turns true once the cause is gone.
   */
  virtual bool healthy() = 0;

  /** Signatures of delivered events (store/signature_cache.hpp); null where not kept. */
  virtual SignatureCachePtr signatureCache() { return nullptr; }
};
using StorePtr = std::unique_ptr<Store>;

}  // namespace audit::store
