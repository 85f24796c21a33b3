#include "config/detail/network.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

#include "config/config.hpp"

namespace audit::config::detail {
namespace {

// Boost.URL's port_number() wraps values over 65535, so the digits are checked here.
bool parsePort(std::string_view digits, std::uint16_t& out) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || digits.empty()) return false;
  if (value > 65535) return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> parseListen(std::string_view text, ListenAddress& out) {
  const std::string expected = "expected host:port like 127.0.0.1:8470 or [::1]:8470";
  if (text.find('[') == std::string_view::npos && text.find(':') != text.rfind(':')) {
    return "an IPv6 address goes in brackets, like [::1]:8470";
  }
  auto parsed = boost::urls::parse_authority(text);
  if (!parsed || parsed->has_userinfo()) return expected;
  if (!parsed->has_port() || parsed->port().empty()) return "needs a port, like 127.0.0.1:8470";
  std::uint16_t port = 0;
  if (!parsePort(parsed->port(), port)) return "the port must be a number from 0 to 65535";
  ListenAddress address;
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      address.host = std::string(parsed->host_address());
      break;
    case boost::urls::host_type::name: {
      std::string_view host = parsed->encoded_host();
      // Percent-escapes are legal in a URL's host but never what an operator means here.
      if (host.empty() || host.find('%') != std::string_view::npos) return expected;
      address.host = std::string(host);
      break;
    }
    default:
      return expected;
  }
  address.port = port;
  out = std::move(address);
  return std::nullopt;
}

std::optional<std::string> checkEndpoint(std::string_view endpoint) {
  auto parsed = boost::urls::parse_uri(endpoint);
  if (!parsed) return "expected an http:// or https:// URL";
  if (!equalsNoCase(parsed->scheme(), "http") && !equalsNoCase(parsed->scheme(), "https")) {
    return "the scheme must be http or https";
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) return "the URL needs a host";
  // Credentials in the URL would end up in logs; the Authorization header is kept out of them.
  if (parsed->has_userinfo()) {
    return "the URL must not hold credentials; use webhook.authorization or authorization_file";
  }
  std::uint16_t port = 0;
  if (parsed->has_port() && !parsed->port().empty() &&
      (!parsePort(parsed->port(), port) || port == 0)) {
    return "the port must be a number from 1 to 65535";
  }
  return std::nullopt;
}

}  // namespace audit::config::detail

namespace audit::config {

std::string withoutPassword(std::string_view url) {
  return redactUrlPasswords(url);  // one rule for a single URL and for free text
}

}  // namespace audit::config
