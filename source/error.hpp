#pragma once
// Errors of an event source (the local store, a Kafka-API log) as boost::system::error_code
// values in the "audit.source" category.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <type_traits>
#include <utility>

namespace audit::source {

enum class Errc {
  locked = 1,        // another process has the data_dir open
  no_permission,     // the data_dir cannot be read or written
  corruption,        // RocksDB reports corrupt data
  io_error,          // disk full, read-only file system, other I/O failures
  invalid_argument,  // a caller's mistake (bad region name, bad checkpoint)
  busy,              // a transient condition worth retrying
  closed,            // the Store was destroyed; a region handle outlived it
  no_space,          // the file system of data_dir is full
  unsupported,       // the source cannot do this (e.g. arrival order of a Kafka region)
};

const boost::system::error_category& sourceCategory();

inline boost::system::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), sourceCategory()};
}

/**
 * A value or the error that prevented it. [[nodiscard]]: a result that can fail is never
 * dropped unread (a store write, a read of the range), the compiler checks it.
 */
template <class T>
class [[nodiscard]] Result : public boost::system::result<T> {
 public:
  using boost::system::result<T>::result;
  Result(boost::system::result<T> other)  // NOLINT(google-explicit-constructor)
      : boost::system::result<T>(std::move(other)) {}
};

}  // namespace audit::source

namespace boost::system {
template <>
struct is_error_code_enum<audit::source::Errc> : std::true_type {};
}  // namespace boost::system
