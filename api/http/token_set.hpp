#pragma once
// The bearer tokens the HTTP API accepts and the role of each. Only SHA-256 digests are
// kept, so a core dump or a debugger shows no token, and comparing digests of equal length
// in constant time leaks neither a token's content nor its length.

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace audit::api::http {

/**
 * What a token may do: Admin everything; Viewer only GET and HEAD; Ingest only POST (the
 * only POST routes are those that take events).
 */
enum class Role { Admin, Viewer, Ingest };

/** "admin", "viewer", "ingest". */
std::string_view toString(Role role);

/** True when a token of `role` may send a request with `method` (any route). */
bool roleAllows(Role role, std::string_view method);

class TokenSet {
 public:
  using Digest = std::array<unsigned char, 32>;

  /**
   * Reads one token per line, `TOKEN` or `TOKEN ROLE` (role admin, the default, viewer or
   * ingest); blank lines and lines starting with '#' are skipped, and surrounding white
   * space is trimmed. Fails when the file can't be read or a line
   * names an unknown role (the failure gives the line number, never the token). An empty
   * set is returned as is: the caller decides whether that's ok.
   */
  static Expected<TokenSet> load(const std::filesystem::path& file);

  /** Parses the text of a tokens file (see load); a line with a bad role is skipped. */
  static TokenSet parseLenient(std::string_view text);
  /** Parses the text of a tokens file (see load); fails on a bad role. */
  static Expected<TokenSet> parse(std::string_view text);

  /** The role of `token`, or nullopt when it is not one of the set. Time depends only on
   * the set's size. */
  std::optional<Role> find(std::string_view token) const;

  /** True when `token` is one of the set. */
  bool contains(std::string_view token) const { return find(token).has_value(); }

  bool empty() const { return digests_.empty(); }
  std::size_t size() const { return digests_.size(); }

 private:
  std::vector<Digest> digests_;
  std::vector<Role> roles_;  // beside digests_
};

/**
 * The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 7235),
 * or empty when the value is not a bearer credential.
 */
std::string_view bearerToken(std::string_view authorization);

}  // namespace audit::api::http
