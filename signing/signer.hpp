#pragma once
// Ed25519 signatures of delivered events (docs/formats.md), through libsodium (keys are read from
// PEM files with OpenSSL).
// A Signer is immutable after load and safe to share between threads.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace audit::signing {

class Signer {
 public:
  /** Fails with the file's problem ("signing.pem: not an Ed25519 private key"). */
  static Expected<std::shared_ptr<const Signer>> loadPem(const std::filesystem::path& file);
  static Expected<std::shared_ptr<const Signer>> fromRawPrivateKey(std::string_view seed32);
  ~Signer();

  /** base64url (no padding) Ed25519 signature of `bytes`. */
  std::string sign(std::string_view bytes) const;

  /** The JSON event with `,"sig":"…"` before its final '}'; unchanged if it has a sig. */
  std::string signJsonEvent(std::string_view json_event) const;

  /** The CEF line with ` sig=…` appended. */
  std::string signCefLine(std::string_view cef_line) const;

  /**
   * The same two, reusing a signature made before (the store's signature cache): `known`,
   * when it is 64 raw bytes, is written instead of signing. A signature made here is also
   * put into `made` (64 raw bytes); `made` is left empty when nothing was signed.
   */
  std::string signJsonEvent(std::string_view json_event, std::string_view known,
                            std::string* made) const;
  std::string signCefLine(std::string_view cef_line, std::string_view known,
                          std::string* made) const;
  /** signJsonEvent(json_event, known, made) appended to `out` (no temporary string). */
  void appendSignedJsonEvent(std::string& out, std::string_view json_event, std::string_view known,
                             std::string* made) const;

  /** Signatures this signer made so far, on every thread (reused ones not counted). */
  std::uint64_t signaturesMade() const;

  /** RFC 7638 thumbprint of the public key (base64url). */
  const std::string& kid() const { return kid_; }
  /** {"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":…,"x":…} */
  std::string jwkJson() const;
  /** Raw 32-byte public key. */
  const std::string& publicKey() const { return public_key_; }

 private:
  struct Impl;
  Signer() = default;
  static std::shared_ptr<const Signer> make(std::unique_ptr<Impl> impl, std::string public_key);
  /** Appends base64url of `known` when it is 64 bytes, else of a new signature of `bytes`
   *  (which is also copied to `made`). */
  void appendSignature(std::string& out, std::string_view bytes, std::string_view known,
                       std::string* made) const;

  std::unique_ptr<Impl> impl_;
  std::string public_key_;
  std::string kid_;
};
using SignerPtr = std::shared_ptr<const Signer>;

/** True when the JSON text has a top-level "sig" member. */
bool jsonHasSig(std::string_view json_event);

/** Verifies one line as a receiver would (docs/formats.md). Returns false with `reason` on failure.
 */
bool verifyJsonLine(std::string_view line, std::string_view public_key32, std::string* reason);
bool verifyCefLine(std::string_view line, std::string_view public_key32, std::string* reason);

std::string base64UrlEncode(std::string_view bytes);
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace audit::signing
