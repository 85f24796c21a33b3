#include "webhook/detail/ed25519.hpp"

#include <openssl/err.h>

namespace audit::webhook::detail {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

const unsigned char* bytesOf(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::optional<std::string> rawPublicKey(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) return std::nullopt;
  std::string out(32, '\0');
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != 32) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

std::string ed25519Sign(EVP_PKEY* key, std::string_view message) {
  // The key is only read here, which OpenSSL 3 allows from many threads at once; each call
  // has its own context.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  // Ed25519 is a one-shot scheme: no digest (NULL md) and EVP_DigestSign, not Update/Final.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     bytesOf(message), message.size()) != 1 ||
      len != 64) {
    ERR_clear_error();
    return {};
  }
  return sig;
}

bool ed25519Verify(std::string_view public_key32, std::string_view message,
                   std::string_view signature) {
  if (public_key32.size() != 32 || signature.size() != 64) return false;
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytesOf(public_key32),
                                          public_key32.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = key && ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), bytesOf(signature), signature.size(), bytesOf(message),
                             message.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

std::string sha256(std::string_view bytes) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return out;
}

}  // namespace audit::webhook::detail
