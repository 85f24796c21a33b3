#pragma once
// The open RocksDB instance and its column families, shared by the Store, the region sources
// it hands out and their readers, so the database closes only after the last of them is gone
// (an iterator must never outlive its DB).

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "source/error.hpp"
#include "store/event_store.hpp"

namespace audit::store::detail {

inline constexpr const char* kEventsFamily = "events";
inline constexpr const char* kRecordsFamily = "records";
inline constexpr const char* kCountsFamily = "counts";
inline constexpr const char* kSignaturesFamily = "signatures";
inline constexpr const char* kArrivalsFamily = "arrivals";

struct Db {
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* events = nullptr;   // event keys, see key_codec.hpp
  rocksdb::ColumnFamilyHandle* records = nullptr;  // RecordKind byte + record key
  rocksdb::ColumnFamilyHandle* counts = nullptr;   // events per region and minute
  // The signature cache, see signature_store.hpp.
  rocksdb::ColumnFamilyHandle* signatures = nullptr;
  // Each region's events in the order they were stored (arrival_index.hpp).
  rocksdb::ColumnFamilyHandle* arrivals = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  // Ingest reads "is this key stored?" and then writes; two concurrent calls with the same
  // event would both see "absent" and both count it as new. Writers take this lock for the
  // check-then-write; readers never do.
  std::mutex write_mutex;
  // The last arrival sequence number written per region, under write_mutex: loaded from the
  // arrivals family on a region's first write, so sequences stay contiguous across restarts.
  std::unordered_map<std::string, std::uint64_t> last_arrival;

  /**
   * Writes `batch`; when that fails because RocksDB stopped writes after a background error
   * (a flush that hit EMFILE or a full disk), asks RocksDB to resume — at most once a second —
   * and, once it has, writes again. So the store recovers as soon as the cause is gone.
   */
  rocksdb::Status write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch);
  /** DB::Resume(), at most once a second. @return true when writes are accepted again. */
  bool tryResume();

  // Cleared when the Store is destroyed: region handles then fail even while a reader still
  // holds the database open.
  std::atomic<bool> store_open{true};

 private:
  std::mutex resume_mutex_;
  std::chrono::steady_clock::time_point last_resume_{};
};
using DbPtr = std::shared_ptr<Db>;

/** Opens or creates the database in options.data_dir (which must exist). */
source::Result<DbPtr> openDb(const StoreOptions& options, std::string* detail);

/** Read options for bulk scans: bypass the block cache, read ahead in big steps. */
rocksdb::ReadOptions scanReadOptions();

}  // namespace audit::store::detail
