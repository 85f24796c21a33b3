#pragma once
// The server's own counters. Updated on the event loop; read by /metrics there and by
// HttpApi::stats() from any thread, hence the mutex (uncontended on the loop).

#include <mutex>
#include <string_view>

#include "api/http/http_stats.hpp"

namespace audit::api::http {

class RequestCounters {
 public:
  void countRequest(std::string_view route, unsigned status);
  void connectionOpened();
  void connectionClosed();
  void connectionRejected();

  HttpStats snapshot() const;

 private:
  mutable std::mutex mutex_;
  HttpStats stats_;
};

}  // namespace audit::api::http
