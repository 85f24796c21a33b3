// sign_bench: the Ed25519 sign and verify ceilings of this machine (OpenSSL 3 and libsodium,
// 1 and 2 threads, a 627-byte message), the figures a signed replay and
// `audit-replayctl verify` are compared with (docs/performance.md, "Signing").
// replay_bench --signed measures the same ceilings in its own run.
//
//   sign_bench [--seconds S] [--repeat R]

#include <cstdio>
#include <cstring>
#include <string>

#include "bench/sign_ceiling.hpp"

int main(int argc, char** argv) {
  double seconds = 2;
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: sign_bench [--seconds S] [--repeat R]\n");
      return 2;
    }
  }
  auto ceilings = audit::bench::measureSignCeilings(
      std::chrono::milliseconds(static_cast<long long>(seconds * 1000)), repeat);
  std::printf(
      "| library | operation | threads | per second | per CPU-second "
      "|\n|---|---|---:|---:|---:|\n");
  for (const auto& c : ceilings) {
    std::printf("| %s | %s | %d | %.0f | %.0f |\n", c.library.c_str(), c.operation.c_str(),
                c.threads, c.per_second, c.per_cpu_second);
  }
  return 0;
}
