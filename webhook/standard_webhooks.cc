#include "webhook/standard_webhooks.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace audit::webhook {
namespace {

std::string signedContent(std::string_view id, std::int64_t timestamp, std::string_view body) {
  std::string ts = std::to_string(timestamp);
  std::string content;
  content.reserve(id.size() + ts.size() + body.size() + 2);
  content.append(id).append(1, '.').append(ts).append(1, '.').append(body);
  return content;
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock keeps the bytes the padding stands for as zeros: drop them.
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<std::string> standardWebhooksKey(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) secret.remove_prefix(kPrefix.size());
  auto key = base64Decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string standardWebhooksV1(std::string_view key, std::string_view id, std::int64_t timestamp,
                               std::string_view body) {
  const std::string content = signedContent(id, timestamp, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len);
  return "v1," + base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string standardWebhooksV1a(const signing::Signer& signer, std::string_view id,
                                std::int64_t timestamp, std::string_view body) {
  // Signer speaks base64url (as event signatures are written); the header wants base64.
  auto raw = signing::base64UrlDecode(signer.sign(signedContent(id, timestamp, body)));
  return "v1a," + base64Encode(raw ? *raw : std::string());
}

StandardWebhooksHeaders StandardWebhooksSigner::sign(std::string_view id, std::int64_t timestamp,
                                                     std::string_view body) const {
  StandardWebhooksHeaders h;
  h.id = std::string(id);
  h.timestamp = std::to_string(timestamp);
  h.signature = signer_ ? standardWebhooksV1a(*signer_, id, timestamp, body)
                        : standardWebhooksV1(key_, id, timestamp, body);
  return h;
}

}  // namespace audit::webhook
