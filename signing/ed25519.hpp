#pragma once
// Ed25519 through libsodium, shared by Signer and the line verifiers: the one Ed25519
// implementation of the project (bench/sign_bench measured it against OpenSSL 3's EVP
// Ed25519 on the same machine: about 2× the signatures and verifications per CPU-second).
// Signatures are RFC 8032 Ed25519, byte for byte what any other implementation produces.
// Nothing here throws.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace audit::signing {

/** An Ed25519 key pair expanded once from its 32-byte seed; wiped on destruction.
 *  Only read after construction, so one key signs from many threads at once. */
class Ed25519Key {
 public:
  /** nullopt unless `seed32` is 32 bytes (or libsodium cannot start). */
  static std::optional<Ed25519Key> fromSeed(std::string_view seed32);
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key& other) = default;
  Ed25519Key& operator=(const Ed25519Key& other) = default;

  /** The raw 32-byte public key. */
  std::string publicKey() const;
  /** The 64-byte signature of `message`. */
  std::array<unsigned char, 64> sign(std::string_view message) const;

 private:
  Ed25519Key() = default;
  std::array<unsigned char, 32> public_{};
  std::array<unsigned char, 64> secret_{};  // libsodium's: seed then public key
};

/** True when `signature` (64 raw bytes) is `public_key32`'s signature of `message`. */
bool ed25519Verify(std::string_view public_key32, std::string_view message,
                   std::string_view signature);

/** SHA-256 of `bytes` (32 raw bytes). */
std::string sha256(std::string_view bytes);

}  // namespace audit::signing
