#include "store/detail/db.hpp"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <algorithm>

#include "store/detail/minute_counts.hpp"
#include "store/detail/retryable_fs.hpp"
#include "store/detail/rocksdb_logger.hpp"
#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

constexpr std::size_t kMiB = 1 << 20;

rocksdb::DBOptions dbOptions(const StoreOptions& options) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // Sized for the 2-core machine: one flush and one compaction at a time, the loop and the
  // replay threads keep the rest.
  o.max_background_jobs = 2;
  // Write back SST and WAL data in 1 MiB steps instead of one large burst at fsync time,
  // so a synced job-record write never waits behind hundreds of MB of dirty pages.
  o.bytes_per_sync = kMiB;
  o.wal_bytes_per_sync = kMiB;
  // The records family is written rarely; its unflushed memtable would keep every WAL file
  // alive. Past this size RocksDB flushes the families that pin the oldest WAL.
  o.max_total_wal_size = 4 * options.write_buffer_bytes;
  // RocksDB's warnings and errors go to our log (rocksdb_logger.hpp says why not a LOG file).
  o.info_log = makeRocksDbLogger();
  // Stay well below the common 1024-descriptor limit; sockets and the spool need some too.
  o.max_open_files = 512;
  // Out of descriptors is retryable, so the store recovers by itself (retryable_fs.hpp).
  // One Env for the process, never destroyed, like rocksdb::Env::Default().
  static rocksdb::Env* const env = makeRetryableEnv().release();
  o.env = env;
  return o;
}

rocksdb::BlockBasedTableOptions tableOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                             std::size_t block_size) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = block_size;
  // A whole-key bloom filter does nothing for range scans, but ingest asks "is this event
  // stored?" for every new event; the filter answers "no" without reading a data block.
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.whole_key_filtering = true;
  // Index and filter blocks count against the block cache, so memory stays bounded as the
  // store grows; L0's stay pinned because every lookup consults them.
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  return t;
}

rocksdb::ColumnFamilyOptions eventsOptions(const StoreOptions& options,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  // LZ4: ~1.5 M events/s scans on one core (LIMITS.md); Snappy is 25 % slower, no
  // compression 1.8x the disk for 20 % more speed.
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kLZ4Compression;
  o.write_buffer_size = options.write_buffer_bytes;
  // Ingest keeps writing into a fresh memtable while up to two others flush.
  o.max_write_buffer_number = 4;
  o.level_compaction_dynamic_level_bytes = true;
  o.target_file_size_base = 64 * kMiB;
  // Events are ~600 bytes and read in long runs: 16 KiB blocks compress better and mean
  // fewer block decodes per scanned MB than the 4 KiB default.
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(tableOptions(cache, 16 * 1024)));
  // The dedupe lookups of ingest mostly miss; a memtable bloom filter answers them without
  // walking the skip list.
  o.memtable_prefix_bloom_size_ratio = 0.02;
  o.memtable_whole_key_filtering = true;
  return o;
}

rocksdb::ColumnFamilyOptions recordsOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.compression = rocksdb::kLZ4Compression;
  // A few thousand small records at most: a small memtable, point lookups through the cache.
  o.write_buffer_size = 4 * kMiB;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(tableOptions(cache, 4 * 1024)));
  return o;
}

rocksdb::ColumnFamilyOptions countsOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  // One 8-byte count per region and minute, added to by merges: tiny and read in short runs
  // by every job start, so it stays in the block cache.
  o.merge_operator = makeCountMergeOperator();
  o.write_buffer_size = 4 * kMiB;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(tableOptions(cache, 4 * 1024)));
  return o;
}

rocksdb::ColumnFamilyOptions signaturesOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  // 64 random bytes per entry do not compress; the keys share their prefixes anyway.
  o.compression = rocksdb::kNoCompression;
  o.write_buffer_size = 8 * kMiB;
  o.level_compaction_dynamic_level_bytes = true;
  // A first signed replay writes ~95 bytes per event in one long run of new keys: let a
  // few more memtables pile up in L0 before compacting them (they never overlap much), so a
  // 1 M-event replay's 95 MB are rewritten once rather than several times.
  o.level0_file_num_compaction_trigger = 8;
  // 16 KiB blocks: a batch's entries are read in one run, as events are.
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(tableOptions(cache, 16 * 1024)));
  return o;
}

rocksdb::ColumnFamilyOptions arrivalsOptions(const StoreOptions& options,
                                             const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  // 24-byte entries written in key order and read in long runs shortly after: a scan never
  // needs a filter, and the keys share their prefixes.
  o.compression = rocksdb::kLZ4Compression;
  o.write_buffer_size = std::max<std::size_t>(options.write_buffer_bytes / 4, 4 * kMiB);
  o.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = 16 * 1024;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace

Db::~Db() {
  if (db == nullptr) return;
  for (auto* handle : handles) {
    // Failure only means the handle was already gone; nothing to do about it at close.
    (void)db->DestroyColumnFamilyHandle(handle);
  }
  // Close() reports errors that deleting would swallow; at this point they can only be
  // ignored too (the WAL already holds everything written), so delete is enough.
  delete db;
}

bool Db::tryResume() {
  std::lock_guard lock(resume_mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (last_resume_ != std::chrono::steady_clock::time_point{} &&
      now - last_resume_ < std::chrono::seconds(1)) {
    return false;
  }
  last_resume_ = now;
  // OK at once when there is no background error; otherwise flushes what failed and clears
  // the error, or fails again while the cause (no descriptors, no space) is still there.
  return db->Resume().ok();
}

rocksdb::Status Db::write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch) {
  rocksdb::Status s = db->Write(options, batch);
  if (s.ok() || s.IsInvalidArgument() || s.IsNotSupported() || s.IsCorruption()) return s;
  if (!tryResume()) return s;
  return db->Write(options, batch);
}

source::Result<DbPtr> openDb(const StoreOptions& options, std::string* detail) {
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      // RocksDB requires the default family; the store keeps nothing in it.
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kEventsFamily, eventsOptions(options, cache)},
      {kRecordsFamily, recordsOptions(cache)},
      {kCountsFamily, countsOptions(cache)},
      {kSignaturesFamily, signaturesOptions(cache)},
      {kArrivalsFamily, arrivalsOptions(options, cache)},
  };
  auto out = std::make_shared<Db>();
  rocksdb::Status s = rocksdb::DB::Open(dbOptions(options), options.data_dir.string(), families,
                                        &out->handles, &out->db);
  if (!s.ok()) return translate(s, "open " + options.data_dir.string(), detail);
  out->events = out->handles[1];
  out->records = out->handles[2];
  out->counts = out->handles[3];
  out->signatures = out->handles[4];
  out->arrivals = out->handles[5];
  if (auto counted = ensureCountsComplete(*out); !counted) {
    if (detail != nullptr) {
      *detail =
          "rebuild event counts in " + options.data_dir.string() + ": " + counted.error().message();
    }
    return counted.error();
  }
  return out;
}

rocksdb::ReadOptions scanReadOptions() {
  rocksdb::ReadOptions ro;
  // A bulk scan would evict the index, filter and record blocks other work needs, and
  // costs 7-17 % more when it fills the cache (LIMITS.md).
  ro.fill_cache = false;
  ro.readahead_size = 2 * kMiB;
  return ro;
}

}  // namespace audit::store::detail
