#pragma once
// RocksDB's own diagnostics, sent to the daemon's log instead of a LOG file in data_dir.
//
// A LOG file shares the disk with the data: when that disk fills up, Debian's RocksDB
// (built with assertions on) aborts on the failed LOG write before the failed data write
// can reach us as an error. Through spdlog the messages land in journald or stderr, and a
// full disk becomes an I/O error the daemon answers with 500 (docs/cli.md) or exit 3
// (docs/systemd.md).

#include <rocksdb/env.h>

#include <memory>

namespace audit::store::detail {

/** Warnings and worse, prefixed "rocksdb:"; RocksDB's INFO chatter is dropped. */
std::shared_ptr<rocksdb::Logger> makeRocksDbLogger();

}  // namespace audit::store::detail
