#include "daemon/http/token_set.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace audit::daemon::http {
namespace {

constexpr std::string_view kSpace = " \t\r\n\f\v";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

TokenSet::Digest sha256(std::string_view data) {
  TokenSet::Digest digest{};
  unsigned int size = 0;
  // EVP_Digest only fails on allocation failure; a zero digest then matches no real token
  // hash, so the failure denies access rather than granting it.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    digest.fill(0);
  }
  return digest;
}

}  // namespace

std::optional<TokenSet> TokenSet::load(const std::filesystem::path& file, std::string* error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (error)
      *error = "cannot read http.tokens_file " + file.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    if (error) *error = "cannot read http.tokens_file " + file.string();
    return std::nullopt;
  }
  return parse(text.str());
}

TokenSet TokenSet::parse(std::string_view text) {
  TokenSet set;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    set.digests_.push_back(sha256(line));
  }
  return set;
}

bool TokenSet::contains(std::string_view token) const {
  if (token.empty()) return false;
  const Digest candidate = sha256(token);
  // No early exit: every stored digest is compared so timing says nothing about which (or
  // whether one) matched.
  bool found = false;
  for (const auto& digest : digests_) {
    found |= CRYPTO_memcmp(digest.data(), candidate.data(), digest.size()) == 0;
  }
  return found;
}

std::string_view bearerToken(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if (static_cast<char>(c | 0x20) != kScheme[i]) return {};
  }
  const auto rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return {};
  return trim(rest);
}

}  // namespace audit::daemon::http
