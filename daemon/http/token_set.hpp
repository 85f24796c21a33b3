#pragma once
// The bearer tokens the HTTP API accepts (SPEC §7). Only SHA-256 digests are kept, so a
// core dump or a debugger shows no token, and comparing digests of equal length in
// constant time leaks neither a token's content nor its length.

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace audit::daemon::http {

class TokenSet {
 public:
  using Digest = std::array<unsigned char, 32>;

  /**
   * Reads one token per line; blank lines and lines starting with '#' are skipped, and
   * surrounding white space is trimmed. @return nullopt with *error set when the file
   * can't be read. An empty set is returned as is: the caller decides whether that's ok.
   */
  static std::optional<TokenSet> load(const std::filesystem::path& file, std::string* error);

  /** Parses the text of a tokens file (see load). */
  static TokenSet parse(std::string_view text);

  /** True when `token` is one of the set. Time depends only on the set's size. */
  bool contains(std::string_view token) const;

  bool empty() const { return digests_.empty(); }
  std::size_t size() const { return digests_.size(); }

 private:
  std::vector<Digest> digests_;
};

/**
 * The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 7235),
 * or empty when the value is not a bearer credential.
 */
std::string_view bearerToken(std::string_view authorization);

}  // namespace audit::daemon::http
