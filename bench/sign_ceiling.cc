#include "bench/sign_ceiling.hpp"

#include <openssl/evp.h>
#include <sodium.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

namespace audit::bench {
namespace {

using Clock = std::chrono::steady_clock;

const unsigned char* bytesOf(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "sign ceiling: %s failed\n", what);
  std::exit(2);
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One fixed key for both libraries, so that both sign and verify the same bytes.
constexpr unsigned char kSeed[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

// One timed operation loop; returns operations done by this thread before `until`.
using Loop = std::uint64_t (*)(const std::string& message, Clock::time_point until);

std::uint64_t opensslSign(const std::string& message, Clock::time_point until) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, kSeed, sizeof kSeed));
  if (!key) die("EVP_PKEY_new_raw_private_key");
  unsigned char sig[64];
  std::uint64_t n = 0;
  do {
    // As a signer does it: one context per signature.
    for (int i = 0; i < 64; ++i, ++n) {
      std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
      std::size_t len = sizeof sig;
      if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
          EVP_DigestSign(ctx.get(), sig, &len, bytesOf(message), message.size()) != 1) {
        die("EVP_DigestSign");
      }
    }
  } while (Clock::now() < until);
  return n;
}

std::uint64_t opensslVerify(const std::string& message, Clock::time_point until) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, kSeed, sizeof kSeed));
  if (!key) die("EVP_PKEY_new_raw_private_key");
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &len, bytesOf(message), message.size()) != 1) {
      die("EVP_DigestSign");
    }
  }
  std::uint64_t n = 0;
  do {
    for (int i = 0; i < 32; ++i, ++n) {
      std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
      if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
          EVP_DigestVerify(ctx.get(), sig, len, bytesOf(message), message.size()) != 1) {
        die("EVP_DigestVerify");
      }
    }
  } while (Clock::now() < until);
  return n;
}

std::uint64_t sodiumSign(const std::string& message, Clock::time_point until) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, kSeed);
  unsigned char sig[crypto_sign_BYTES];
  std::uint64_t n = 0;
  do {
    for (int i = 0; i < 64; ++i, ++n) {
      crypto_sign_detached(sig, nullptr, bytesOf(message), message.size(), sk);
    }
  } while (Clock::now() < until);
  return n;
}

std::uint64_t sodiumVerify(const std::string& message, Clock::time_point until) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, kSeed);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, bytesOf(message), message.size(), sk);
  std::uint64_t n = 0;
  do {
    for (int i = 0; i < 32; ++i, ++n) {
      if (crypto_sign_verify_detached(sig, bytesOf(message), message.size(), pk) != 0) {
        die("crypto_sign_verify_detached");
      }
    }
  } while (Clock::now() < until);
  return n;
}

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Run {
  double per_second = 0;
  double per_cpu_second = 0;
};

Run runThreads(Loop loop, int threads, std::chrono::milliseconds duration) {
  const std::string message = ceilingMessage();
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(threads), 0);
  std::vector<double> cpu(static_cast<std::size_t>(threads), 0);
  const auto start = Clock::now();
  const auto until = start + duration;
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const double cpu0 = threadCpuSeconds();
        counts[static_cast<std::size_t>(t)] = loop(message, until);
        cpu[static_cast<std::size_t>(t)] = threadCpuSeconds() - cpu0;
      });
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::uint64_t total = 0;
  double cpu_total = 0;
  for (std::size_t t = 0; t < counts.size(); ++t) {
    total += counts[t];
    cpu_total += cpu[t];
  }
  return {seconds > 0 ? static_cast<double>(total) / seconds : 0,
          cpu_total > 0 ? static_cast<double>(total) / cpu_total : 0};
}

}  // namespace

std::string ceilingMessage() {
  // A 627-byte JSON object of the shape the generator's events have.
  std::string m =
      R"({"id":"0f8fad5b-d9cb-469f-a165-70867728950e","timestamp":"2026-12-01T10:00:00.123456Z",)"
      R"("region":"us","org_id":"5d3b6a2e-8f1c-4e7b-9a0d-2c4f6e8a1b3c","actor":{"type":"user",)"
      R"("id":"b7e1c9d2-3a4f-4b6c-8d9e-0f1a2b3c4d5e","email":"someone@example.com"},)"
      R"("action":"update","resource":{"type":"control_plane","id":"c1d2e3f4-a5b6-4c7d-8e9f-)"
      R"(0a1b2c3d4e5f","name":"production"},"request":{"method":"PATCH","path":"/v2/control-pl)"
      R"(anes/c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f","ip":"203.0.113.7","user_agent":"Mozilla/)"
      R"(5.0 X11 Linux x86_64"},"result":"success","status":200,"details":{"changed":["desc)"
      R"(ription","labels"]},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})";
  m.resize(626, ' ');
  m.push_back('}');
  if (m.size() != 627) die("message size");
  return m;
}

namespace {

struct Row {
  const char* library;
  const char* operation;
  Loop loop;
};
constexpr Row kRows[] = {{"openssl", "sign", opensslSign},
                         {"libsodium", "sign", sodiumSign},
                         {"openssl", "verify", opensslVerify},
                         {"libsodium", "verify", sodiumVerify}};

SignCeiling measureRow(const Row& row, int threads, std::chrono::milliseconds duration,
                       int repeat) {
  std::vector<Run> runs;
  for (int r = 0; r < std::max(1, repeat); ++r) {
    runs.push_back(runThreads(row.loop, threads, duration));
  }
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.per_second < b.per_second; });
  const Run& mid = runs[(runs.size() - 1) / 2];
  return {row.library, row.operation, threads, mid.per_second, mid.per_cpu_second};
}

}  // namespace

std::vector<SignCeiling> measureSignCeilings(std::chrono::milliseconds duration, int repeat) {
  if (sodium_init() < 0) die("sodium_init");
  std::vector<SignCeiling> out;
  for (int threads : {1, 2}) {
    for (const auto& row : kRows) out.push_back(measureRow(row, threads, duration, repeat));
  }
  return out;
}

SignCeiling measureSignCeiling(const std::string& library, const std::string& operation,
                               int threads, std::chrono::milliseconds duration, int repeat) {
  if (sodium_init() < 0) die("sodium_init");
  for (const auto& row : kRows) {
    if (library == row.library && operation == row.operation) {
      return measureRow(row, threads, duration, repeat);
    }
  }
  return {library, operation, threads, 0, 0};
}

double ceilingOf(const std::vector<SignCeiling>& all, const std::string& library,
                 const std::string& operation, int threads) {
  for (const auto& c : all) {
    if (c.library == library && c.operation == operation && c.threads == threads) {
      return c.per_second;
    }
  }
  return 0;
}

double ceilingPerCpuOf(const std::vector<SignCeiling>& all, const std::string& library,
                       const std::string& operation, int threads) {
  for (const auto& c : all) {
    if (c.library == library && c.operation == operation && c.threads == threads) {
      return c.per_cpu_second;
    }
  }
  return 0;
}

}  // namespace audit::bench
