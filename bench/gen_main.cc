// audit-replay-gen: prints Konnect-like audit events as NDJSON, for demos and load tests.
//
//   audit-replay-gen --count N --start RFC3339 --end RFC3339 [--seed S] [--unsigned]

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "bench/event_generator.hpp"
#include "common/rfc3339.hpp"

namespace {

constexpr const char* kUsage =
    "usage: audit-replay-gen --count N --start RFC3339 --end RFC3339 [--seed S] [--unsigned]\n"
    "Prints N Konnect-like audit events (NDJSON, time order) spread over [start, end].\n"
    "--unsigned omits the \"sig\" field.\n";

int usage(const char* problem) {
  if (problem != nullptr) std::fprintf(stderr, "audit-replay-gen: %s\n", problem);
  std::fputs(kUsage, stderr);
  return 2;
}

std::optional<std::uint64_t> parseCount(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::uint64_t> count;
  std::optional<audit::Rfc3339Time> start;
  std::optional<audit::Rfc3339Time> end;
  audit::bench::GeneratorOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--unsigned") {
      options.with_sig = false;
    } else if (arg == "--count" || arg == "--seed" || arg == "--start" || arg == "--end") {
      const char* v = value();
      if (v == nullptr) return usage((std::string(arg) + " needs a value").c_str());
      if (arg == "--count" && !(count = parseCount(v))) return usage("--count: not a number");
      if (arg == "--seed") {
        auto seed = parseCount(v);
        if (!seed) return usage("--seed: not a number");
        options.seed = *seed;
      }
      if (arg == "--start") {
        auto parsed = audit::parseRfc3339(v);
        if (!parsed) return usage("--start: not an RFC 3339 time with zone");
        start = *parsed;
      }
      if (arg == "--end") {
        auto parsed = audit::parseRfc3339(v);
        if (!parsed) return usage("--end: not an RFC 3339 time with zone");
        end = *parsed;
      }
    } else {
      return usage(("unknown argument " + std::string(arg)).c_str());
    }
  }
  if (!count || !start || !end) return usage("--count, --start and --end are required");
  if (end->ms < start->ms) return usage("--end is before --start");

  // Large writes: at ~600 bytes an event, per-line stdio calls would dominate.
  static char buffer[1 << 20];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  audit::bench::EventSequence events(*count, start->ms, end->ms, options);
  std::string line;
  while (events.next(line)) {
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) {
      std::fprintf(stderr, "audit-replay-gen: write failed: %s\n", std::strerror(errno));
      return 1;
    }
  }
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "audit-replay-gen: write failed: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}
