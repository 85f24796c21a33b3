#include "signing/jwks.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "signing/signer.hpp"

namespace audit::signing {
namespace json = boost::json;

namespace {
constexpr std::size_t kMaxJwksFile = 1u << 20;

std::string_view stringOf(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}
}  // namespace

Expected<std::vector<std::string>> loadJwksFile(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Failure{"cannot read " + name + ": " + std::strerror(errno)};
  }
  std::string text(kMaxJwksFile + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxJwksFile) {
    return Failure{name + ": larger than 1 MiB, not a JWKS file"};
  }
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  const json::value* list = !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return Failure{name + ": not a JWKS file (expected {\"keys\":[…]})"};
  }
  std::vector<std::string> keys;
  for (const auto& key : list->get_array()) {
    if (!key.is_object()) continue;
    const json::object& jwk = key.get_object();
    if (stringOf(jwk, "kty") != "OKP" || stringOf(jwk, "crv") != "Ed25519") continue;
    const auto raw = base64UrlDecode(stringOf(jwk, "x"));
    if (!raw || raw->size() != 32) {
      return Failure{name + ": key \"" + std::string(stringOf(jwk, "kid")) +
                     "\" has an invalid \"x\""};
    }
    keys.push_back(json::serialize(jwk));
  }
  if (keys.empty()) {
    return Failure{name + ": no Ed25519 key (kty OKP, crv Ed25519)"};
  }
  return keys;
}

std::string jwksJson(const Signer* signer, const std::vector<std::string>& extra) {
  json::array keys;
  std::string own_x;
  if (signer != nullptr) {
    json::value own = json::parse(signer->jwkJson());
    own_x = std::string(stringOf(own.as_object(), "x"));
    keys.push_back(std::move(own));
  }
  for (const auto& text : extra) {
    boost::system::error_code ec;
    json::value key = json::parse(text, ec);
    if (ec || !key.is_object()) continue;  // loadJwksFile() only returns objects
    if (!own_x.empty() && stringOf(key.as_object(), "x") == own_x) continue;
    keys.push_back(std::move(key));
  }
  json::object set;
  set["keys"] = std::move(keys);
  return json::serialize(set);
}

}  // namespace audit::signing
