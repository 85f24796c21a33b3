#pragma once
// Thin RAII over OpenSSL 3's EVP Ed25519, shared by Signer and the line verifiers.
// Nothing here throws; every function clears the thread's OpenSSL error queue on failure
// so a stale error cannot surface later in an unrelated TLS call on the same thread.

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace audit::webhook::detail {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

/** The 32-byte raw public key of an Ed25519 key; nullopt if it is not one. */
std::optional<std::string> rawPublicKey(EVP_PKEY* key);

/** 64-byte signature over `message`; empty on an OpenSSL failure (out of memory). */
std::string ed25519Sign(EVP_PKEY* key, std::string_view message);

/** True when `signature` (64 raw bytes) is `public_key32`'s signature of `message`. */
bool ed25519Verify(std::string_view public_key32, std::string_view message,
                   std::string_view signature);

/** SHA-256 of `bytes` (32 raw bytes). */
std::string sha256(std::string_view bytes);

}  // namespace audit::webhook::detail
