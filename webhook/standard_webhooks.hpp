#pragma once
// Standard Webhooks signatures: one per request, over "id.timestamp.body" with the exact
// body bytes sent. `v1,` is HMAC-SHA256 with the `whsec_` secret's key; `v1a,` is Ed25519
// with the signing key. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "signing/signer.hpp"

namespace audit::webhook {

/** The HMAC key of a `whsec_<base64>` secret (a bare base64 secret is accepted too);
 *  nullopt when it does not decode or is empty. */
std::optional<std::string> standardWebhooksKey(std::string_view secret);

/** "v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>" */
std::string standardWebhooksV1(std::string_view key, std::string_view id, std::int64_t timestamp,
                               std::string_view body);

/** "v1a,<base64 Ed25519 signature of id "." timestamp "." body>" */
std::string standardWebhooksV1a(const signing::Signer& signer, std::string_view id,
                                std::int64_t timestamp, std::string_view body);

/** The three headers of one request. */
struct StandardWebhooksHeaders {
  std::string id;
  std::string timestamp;
  std::string signature;
};

/** Signs a request: HMAC when `signer` is null, else Ed25519. */
class StandardWebhooksSigner {
 public:
  /** HMAC with `key` (raw bytes). */
  explicit StandardWebhooksSigner(std::string key) : key_(std::move(key)) {}
  /** Ed25519 with `signer`. */
  explicit StandardWebhooksSigner(signing::SignerPtr signer) : signer_(std::move(signer)) {}

  StandardWebhooksHeaders sign(std::string_view id, std::int64_t timestamp,
                               std::string_view body) const;

 private:
  std::string key_;
  signing::SignerPtr signer_;
};

std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace audit::webhook
