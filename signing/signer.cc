#include "signing/signer.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "signing/detail/event_json.hpp"
#include "signing/ed25519.hpp"

namespace audit::signing {

struct Signer::Impl {
  explicit Impl(Ed25519Key k) : key(std::move(k)) {}
  Ed25519Key key;
  mutable std::atomic<std::uint64_t> made{0};
};

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// An encrypted key must fail to load rather than prompt on a terminal the daemon may not
// have (OpenSSL's default password callback reads stdin).
int noPassword(char*, int, int, void*) {
  return 0;
}

}  // namespace

namespace {

void appendBase64Url(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(kBase64Url[(v >> 18) & 63]);
    out.push_back(kBase64Url[(v >> 12) & 63]);
    out.push_back(kBase64Url[(v >> 6) & 63]);
    out.push_back(kBase64Url[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = p[i] << 16;
    if (rest == 2) v |= p[i + 1] << 8;
    out.push_back(kBase64Url[(v >> 18) & 63]);
    out.push_back(kBase64Url[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kBase64Url[(v >> 6) & 63]);
  }
}

}  // namespace

std::string base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  appendBase64Url(out, bytes);
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  // Padding is tolerated because some tools add it; the alphabet is strictly base64url.
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::array<int, 256> table;
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64Url[i])] = i;

  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Non-canonical trailing bits would let two texts decode to one signature.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

Signer::~Signer() = default;

Expected<std::shared_ptr<const Signer>> Signer::loadPem(const std::filesystem::path& file) {
  auto fail = [&](const std::string& what) {
    ERR_clear_error();
    return Failure{file.string() + ": " + what};
  };
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) return fail("cannot be read");
  // OpenSSL reads the PEM (PKCS#8) file; libsodium signs with the 32-byte seed inside it.
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
  if (!key) return fail("not a PEM private key (or encrypted)");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) return fail("not an Ed25519 private key");
  std::array<unsigned char, 32> seed{};
  std::size_t len = seed.size();
  const bool got = EVP_PKEY_get_raw_private_key(key.get(), seed.data(), &len) == 1 && len == 32;
  auto expanded = got ? Ed25519Key::fromSeed(std::string_view(
                            reinterpret_cast<const char*>(seed.data()), seed.size()))
                      : std::nullopt;
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!expanded) return fail("not an Ed25519 private key");
  std::string pub = expanded->publicKey();
  return make(std::make_unique<Impl>(std::move(*expanded)), std::move(pub));
}

Expected<std::shared_ptr<const Signer>> Signer::fromRawPrivateKey(std::string_view seed32) {
  if (seed32.size() != 32) return Failure{"an Ed25519 private key is 32 bytes"};
  auto expanded = Ed25519Key::fromSeed(seed32);
  if (!expanded) return Failure{"libsodium refused the Ed25519 private key"};
  std::string pub = expanded->publicKey();
  return make(std::make_unique<Impl>(std::move(*expanded)), std::move(pub));
}

std::shared_ptr<const Signer> Signer::make(std::unique_ptr<Impl> impl, std::string public_key) {
  std::shared_ptr<Signer> signer(new Signer());
  signer->impl_ = std::move(impl);
  signer->public_key_ = std::move(public_key);
  // RFC 7638: SHA-256 over the required members in lexicographic order, no white space.
  signer->kid_ = base64UrlEncode(sha256(R"({"crv":"Ed25519","kty":"OKP","x":")" +
                                        base64UrlEncode(signer->public_key_) + "\"}"));
  return signer;
}

namespace {

std::string_view asText(const std::array<unsigned char, 64>& sig) {
  return std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size());
}

}  // namespace

std::string Signer::sign(std::string_view bytes) const {
  impl_->made.fetch_add(1, std::memory_order_relaxed);
  return base64UrlEncode(asText(impl_->key.sign(bytes)));
}

std::uint64_t Signer::signaturesMade() const {
  return impl_->made.load(std::memory_order_relaxed);
}

std::string Signer::signJsonEvent(std::string_view json_event) const {
  return signJsonEvent(json_event, {}, nullptr);
}

std::string Signer::signJsonEvent(std::string_view json_event, std::string_view known,
                                  std::string* made) const {
  std::string out;
  appendSignedJsonEvent(out, json_event, known, made);
  return out;
}

void Signer::appendSignedJsonEvent(std::string& out, std::string_view json_event,
                                   std::string_view known, std::string* made) const {
  if (made) made->clear();
  bool empty = false;
  if (known.size() == 64) {
    // A known signature was made for exactly these bytes, so they were an object without a
    // sig then and are now: only whether it is `{}` is left to see.
    const std::size_t open = json_event.find('{');
    empty = json_event.find_first_not_of(" \t\r\n", open + 1) == json_event.rfind('}');
  } else {
    detail::JsonShape shape = detail::inspectJson(json_event);
    // An event that is not a JSON object goes out unchanged: there is no '}' to sign
    // before, and the receiver sees exactly what was stored. One signed already keeps its sig.
    if (!shape.object || shape.has_sig) {
      out.append(json_event);
      return;
    }
    empty = shape.empty;
  }
  std::size_t close = json_event.rfind('}');
  out.append(json_event.substr(0, close));
  // `{}` takes the member without a comma; a verifier removes `"sig":"…"` there (docs/formats.md).
  out += empty ? R"("sig":")" : R"(,"sig":")";
  appendSignature(out, json_event, known, made);
  out.push_back('"');
  out.append(json_event.substr(close));
}

std::string Signer::signCefLine(std::string_view cef_line) const {
  return signCefLine(cef_line, {}, nullptr);
}

std::string Signer::signCefLine(std::string_view cef_line, std::string_view known,
                                std::string* made) const {
  if (made) made->clear();
  std::string out;
  out.reserve(cef_line.size() + 92);
  out.append(cef_line);
  out += " sig=";
  appendSignature(out, cef_line, known, made);
  return out;
}

void Signer::appendSignature(std::string& out, std::string_view bytes, std::string_view known,
                             std::string* made) const {
  if (known.size() == 64) {
    appendBase64Url(out, known);
    return;
  }
  impl_->made.fetch_add(1, std::memory_order_relaxed);
  const auto sig = impl_->key.sign(bytes);
  if (made) made->assign(asText(sig));
  appendBase64Url(out, asText(sig));
}

std::string Signer::jwkJson() const {
  return R"({"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":")" + kid_ + R"(","x":")" +
         base64UrlEncode(public_key_) + "\"}";
}

}  // namespace audit::signing
