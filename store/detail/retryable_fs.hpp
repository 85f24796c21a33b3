#pragma once
// RocksDB's file system with "out of descriptors" marked retryable.
//
// RocksDB classes a plain I/O error in a flush or a memtable switch as fatal (with its
// default paranoid_checks): the database then refuses every write until it is reopened,
// and DB::Resume() refuses to help. Running out of descriptors (EMFILE, ENFILE) is not
// that kind of failure: it passes when connections close. Marked retryable, RocksDB treats
// it as a hard error with automatic recovery (it retries the flush every second, and
// DB::Resume() works), so the store takes writes again once descriptors are free.

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <memory>

namespace audit::store::detail {

/** An Env over the default file system with EMFILE/ENFILE open failures retryable. */
std::unique_ptr<rocksdb::Env> makeRetryableEnv();

/** True for RocksDB's words for EMFILE and ENFILE ("Too many open files"). */
bool isOutOfDescriptors(const rocksdb::IOStatus& status);

}  // namespace audit::store::detail
