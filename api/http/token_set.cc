#include "api/http/token_set.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace audit::api::http {
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

Expected<TokenSet> TokenSet::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Failure{"cannot read http.tokens_file " + file.string() + ": " + std::strerror(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Failure{"cannot read http.tokens_file " + file.string()};
  auto set = parse(text.str());
  if (!set) return Failure{"http.tokens_file " + file.string() + ": " + set.message()};
  return set;
}

namespace {

std::optional<Role> parseRole(std::string_view word) {
  if (word == "admin") return Role::Admin;
  if (word == "viewer") return Role::Viewer;
  if (word == "ingest") return Role::Ingest;
  return std::nullopt;
}

}  // namespace

std::string_view toString(Role role) {
  switch (role) {
    case Role::Admin:
      return "admin";
    case Role::Viewer:
      return "viewer";
    case Role::Ingest:
      return "ingest";
  }
  return "admin";
}

bool roleAllows(Role role, std::string_view method) {
  switch (role) {
    case Role::Admin:
      return true;
    case Role::Viewer:
      return method == "GET" || method == "HEAD";
    case Role::Ingest:
      return method == "POST";
  }
  return false;
}

TokenSet TokenSet::parseLenient(std::string_view text) {
  // Lenient: a bad line is dropped (load() refuses such a file instead).
  TokenSet set;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (auto one = parse(line)) {
      set.digests_.insert(set.digests_.end(), one->digests_.begin(), one->digests_.end());
      set.roles_.insert(set.roles_.end(), one->roles_.begin(), one->roles_.end());
    }
  }
  return set;
}

Expected<TokenSet> TokenSet::parse(std::string_view text) {
  TokenSet set;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    const auto gap = line.find_first_of(kSpace);
    const auto token = line.substr(0, gap);
    Role role = Role::Admin;
    if (gap != std::string_view::npos) {
      const auto word = trim(line.substr(gap));
      const auto parsed = parseRole(word);
      if (!parsed) {
        // The role word only: the token itself never reaches an error message.
        return Failure{"line " + std::to_string(number) + ": unknown role \"" + std::string(word) +
                       "\"; a line is TOKEN or TOKEN ROLE with ROLE admin, viewer or ingest"};
      }
      role = *parsed;
    }
    set.digests_.push_back(sha256(token));
    set.roles_.push_back(role);
  }
  return set;
}

std::optional<Role> TokenSet::find(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const Digest candidate = sha256(token);
  // No early exit: every stored digest is compared so timing says nothing about which (or
  // whether one) matched.
  std::optional<Role> found;
  for (std::size_t i = 0; i < digests_.size(); ++i) {
    const bool same = CRYPTO_memcmp(digests_[i].data(), candidate.data(), digests_[i].size()) == 0;
    if (same) found = roles_[i];
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

}  // namespace audit::api::http
