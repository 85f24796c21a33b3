#pragma once
// The Ed25519 ceilings a signed replay and `audit-replayctl verify` are compared with:
// signatures (and verifications) per second of a 627-byte message — the size of a typical
// Konnect audit event — with OpenSSL 3's EVP API and with libsodium, on 1 and on 2 threads,
// each thread signing its own copy of the message back to back. Nothing else runs in the
// measuring threads: these are the most a signer can do on this machine.

#include <chrono>
#include <string>
#include <vector>

namespace audit::bench {

struct SignCeiling {
  std::string library;    // "openssl" or "libsodium"
  std::string operation;  // "sign" or "verify"
  int threads = 1;
  double per_second = 0;      // operations per second, all threads together
  double per_cpu_second = 0;  // operations per CPU-second of the measuring threads
};

/** The 627-byte message the ceilings are measured on (printable, JSON-like). */
std::string ceilingMessage();

/** Each library × {sign, verify} × {1, 2} threads, each timed for about `duration`;
 *  the median of `repeat` runs. */
std::vector<SignCeiling> measureSignCeilings(std::chrono::milliseconds duration, int repeat);

/** One of them alone (e.g. again, right before what is compared with it). */
SignCeiling measureSignCeiling(const std::string& library, const std::string& operation,
                               int threads, std::chrono::milliseconds duration, int repeat);

/** The figure for (library, operation, threads); 0 when it was not measured. */
double ceilingOf(const std::vector<SignCeiling>& all, const std::string& library,
                 const std::string& operation, int threads);
/** The same per CPU-second: steadier than wall time when other work shares the cores. */
double ceilingPerCpuOf(const std::vector<SignCeiling>& all, const std::string& library,
                       const std::string& operation, int threads);

}  // namespace audit::bench
