#pragma once
// What the HTTP server counts about itself; rendered into /metrics and read by tests.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace audit::api {

struct HttpStats {
  std::size_t open_connections = 0;
  /** Connections answered 503 because max_connections were open. */
  std::uint64_t rejected_connections = 0;
  /** (route template or "other", status code) → requests answered. */
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests;
};

}  // namespace audit::api
