#pragma once
// The one place where rocksdb::Status becomes a store error (STYLE: wrap RocksDB's sharp
// edges once). Everything else in store/ calls these and never inspects a Status itself.

#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "source/error.hpp"

namespace audit::store::detail {

/**
 * Maps a failed status to Errc: another holder of the LOCK file -> locked, EACCES/EPERM ->
 * no_permission, Corruption -> corruption, Busy/TryAgain/Incomplete -> busy,
 * InvalidArgument/NotSupported -> invalid_argument, everything else -> io_error.
 * Must not be called with an OK status.
 */
boost::system::error_code translate(const rocksdb::Status& status);

/** translate() plus RocksDB's own words for logs: "<step>: <status>". */
boost::system::error_code translate(const rocksdb::Status& status, std::string_view step,
                                    std::string* detail);

/** A Result<void> for a status: success when ok(). */
source::Result<void> toResult(const rocksdb::Status& status);

}  // namespace audit::store::detail
