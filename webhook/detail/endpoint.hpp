#pragma once
// A webhook URL taken apart for the HTTP client.

#include <string>
#include <string_view>

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
 * Parses an http:// or https:// URL. On failure returns false and sets `error`, which
 * never quotes user information from the URL (it may hold a password).
 */
bool parseEndpoint(std::string_view url, Endpoint& out, std::string* error);

}  // namespace audit::webhook::detail
