#include "signing/ed25519.hpp"

#include <sodium.h>

namespace audit::signing {
namespace {

const unsigned char* bytesOf(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// sodium_init picks the fastest code for this CPU; it may be called from any thread and
// more than once, and the first call is made before any key exists.
bool sodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

std::optional<Ed25519Key> Ed25519Key::fromSeed(std::string_view seed32) {
  if (seed32.size() != crypto_sign_SEEDBYTES || !sodiumReady()) return std::nullopt;
  Ed25519Key key;
  if (crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(), bytesOf(seed32)) != 0) {
    return std::nullopt;
  }
  return key;
}

Ed25519Key::~Ed25519Key() {
  sodium_memzero(secret_.data(), secret_.size());
}

std::string Ed25519Key::publicKey() const {
  return std::string(reinterpret_cast<const char*>(public_.data()), public_.size());
}

std::array<unsigned char, 64> Ed25519Key::sign(std::string_view message) const {
  std::array<unsigned char, 64> sig{};
  crypto_sign_detached(sig.data(), nullptr, bytesOf(message), message.size(), secret_.data());
  return sig;
}

bool ed25519Verify(std::string_view public_key32, std::string_view message,
                   std::string_view signature) {
  if (public_key32.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES ||
      !sodiumReady()) {
    return false;
  }
  return crypto_sign_verify_detached(bytesOf(signature), bytesOf(message), message.size(),
                                     bytesOf(public_key32)) == 0;
}

std::string sha256(std::string_view bytes) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  if (!sodiumReady()) return {};
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), bytesOf(bytes), bytes.size());
  return out;
}

}  // namespace audit::signing
