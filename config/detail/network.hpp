#pragma once
// Syntax checks of network addresses in the configuration (no name resolution: a host
// that does not resolve yet is the network's business at run time, not a config error).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace audit::config::detail {

struct ListenAddress {
  std::string host;  // without brackets: "::1"
  std::uint16_t port = 0;
};

/**
 * Parses `host:port` ("127.0.0.1:8470", "[::1]:8470", "localhost:8470"). Port 0 is allowed:
 * the system picks a free port (useful in tests).
 * @return nullopt on success; else what is wrong, as a phrase to follow the key path.
 */
std::optional<std::string> parseListen(std::string_view text, ListenAddress& out);

/** @return nullopt when `endpoint` is an http:// or https:// URL with a host; else what is wrong.
 */
std::optional<std::string> checkEndpoint(std::string_view endpoint);

}  // namespace audit::config::detail
