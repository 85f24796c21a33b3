#include "api/http/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace audit::api::http {
namespace {

// /proc/stat's btime: the boot time in seconds since the epoch.
std::optional<double> bootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

}  // namespace

ProcessStats readProcessStats() {
  ProcessStats out;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);

  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces: fields after the last
  // ')' are space-separated, starting with field 3 (state).
  const auto close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
    bool complete = false;
    for (int n = 3; fields >> field; ++n) {
      try {
        if (n == 14) utime = std::stod(field);
        if (n == 15) stime = std::stod(field);
        if (n == 22) starttime = std::stod(field);
        if (n == 23) vsize = std::stod(field);
        if (n == 24) {
          rss = std::stod(field);
          complete = true;
          break;
        }
      } catch (const std::exception&) {
        break;
      }
    }
    if (complete) {
      out.cpu_seconds = (utime + stime) / static_cast<double>(ticks);
      if (const auto boot = bootTime()) {
        out.start_time = *boot + starttime / static_cast<double>(ticks);
      }
      out.virtual_bytes = vsize;
      if (page > 0) out.resident_bytes = rss * static_cast<double>(page);
    }
  }

  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    fds += 1;
  }
  if (!ec) out.open_fds = fds;

  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    out.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return out;
}

}  // namespace audit::api::http
