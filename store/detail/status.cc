#include "store/detail/status.hpp"

namespace audit::store::detail {
namespace {

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// RocksDB 7.8 reports lock conflicts as plain IOErrors; only the message tells them apart:
// "While lock file: <dir>/LOCK: Resource temporarily unavailable" (another process) and
// "lock hold by current process" (a second open in this process).
bool isLockConflict(const std::string& text) {
  return contains(text, "While lock file") || contains(text, "lock hold by current process");
}

// Likewise, errno survives only as strerror() text inside the message.
bool isPermissionProblem(const std::string& text) {
  return contains(text, "Permission denied") || contains(text, "Operation not permitted");
}

}  // namespace

boost::system::error_code translate(const rocksdb::Status& status) {
  if (status.IsCorruption()) return source::Errc::corruption;
  if (status.IsBusy() || status.IsTryAgain() || status.IsIncomplete()) return source::Errc::busy;
  if (status.IsInvalidArgument() || status.IsNotSupported()) return source::Errc::invalid_argument;
  if (status.IsNoSpace()) return source::Errc::no_space;
  std::string text = status.ToString();
  if (isLockConflict(text)) return source::Errc::locked;
  if (isPermissionProblem(text)) return source::Errc::no_permission;
  if (contains(text, "No space left on device")) return source::Errc::no_space;
  return source::Errc::io_error;
}

boost::system::error_code translate(const rocksdb::Status& status, std::string_view step,
                                    std::string* detail) {
  if (detail != nullptr) {
    detail->assign(step);
    detail->append(": ");
    detail->append(status.ToString());
  }
  return translate(status);
}

source::Result<void> toResult(const rocksdb::Status& status) {
  if (status.ok()) return {};
  return translate(status);
}

}  // namespace audit::store::detail
