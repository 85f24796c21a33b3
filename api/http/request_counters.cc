#include "api/http/request_counters.hpp"

#include <string>

namespace audit::api::http {

void RequestCounters::countRequest(std::string_view route, unsigned status) {
  std::lock_guard lock(mutex_);
  ++stats_.requests[{std::string(route), status}];
}

void RequestCounters::connectionOpened() {
  std::lock_guard lock(mutex_);
  ++stats_.open_connections;
}

void RequestCounters::connectionClosed() {
  std::lock_guard lock(mutex_);
  if (stats_.open_connections > 0) --stats_.open_connections;
}

void RequestCounters::connectionRejected() {
  std::lock_guard lock(mutex_);
  ++stats_.rejected_connections;
}

HttpStats RequestCounters::snapshot() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace audit::api::http
