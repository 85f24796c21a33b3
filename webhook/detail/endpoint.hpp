#pragma once
// A webhook URL taken apart for the HTTP client.

#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace audit::webhook::detail {

struct Endpoint {
  bool tls = false;
  std::string host;              // for DNS, SNI and certificate checks: "siem.example.com", "::1"
  std::string port;              // "443"
  std::string host_header;       // "siem.example.com", "[::1]:8443"
  std::string target;            // path and query: "/audit?source=replay"
  bool host_is_address = false;  // an IP literal: no SNI (RFC 6066 §3)
};

/**
 * Parses an http:// or https:// URL. A failure ("webhook.endpoint: has no host") never
 * quotes user information from the URL (it may hold a password).
 */
Expected<Endpoint> parseEndpoint(std::string_view url);

}  // namespace audit::webhook::detail
