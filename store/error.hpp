#pragma once
// Store errors as boost::system::error_code values in the "audit.store" category.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <type_traits>

namespace audit::store {

enum class Errc {
  locked = 1,        // another process has the data_dir open
  no_permission,     // the data_dir cannot be read or written
  corruption,        // RocksDB reports corrupt data
  io_error,          // disk full, read-only file system, other I/O failures
  invalid_argument,  // a caller's mistake (bad region name, bad checkpoint)
  busy,              // a transient condition worth retrying
  closed,            // the Store was destroyed; a region handle outlived it
  no_space,          // the file system of data_dir is full
};

const boost::system::error_category& storeCategory();

inline boost::system::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), storeCategory()};
}

template <class T>
using Result = boost::system::result<T>;

}  // namespace audit::store

namespace boost::system {
template <>
struct is_error_code_enum<audit::store::Errc> : std::true_type {};
}  // namespace boost::system
