#pragma once
// The process_* metrics every Prometheus client library exports, read from /proc/self.

#include <optional>

namespace audit::api::http {

struct ProcessStats {
  std::optional<double> cpu_seconds;     // user + system time
  std::optional<double> start_time;      // seconds since the Unix epoch
  std::optional<double> resident_bytes;  // RSS
  std::optional<double> virtual_bytes;   // VSZ
  std::optional<double> open_fds;        // entries of /proc/self/fd
  std::optional<double> max_fds;         // RLIMIT_NOFILE soft limit
};

/** What can be read now; a field that cannot be read is left empty. */
ProcessStats readProcessStats();

}  // namespace audit::api::http
