#include "webhook/detail/endpoint.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace audit::webhook::detail {

Expected<Endpoint> parseEndpoint(std::string_view url) {
  auto fail = [](std::string text) { return Failure{"webhook.endpoint: " + std::move(text)}; };
  Endpoint out;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return fail("not an absolute URL");
  boost::urls::url_view u = *parsed;

  if (u.scheme_id() == boost::urls::scheme::https) {
    out.tls = true;
  } else if (u.scheme_id() == boost::urls::scheme::http) {
    out.tls = false;
  } else {
    return fail("the scheme must be http or https");
  }
  // Credentials in the URL would end up in logs and job records; they belong in
  // webhook.authorization, which is never logged.
  if (u.has_userinfo()) return fail("must not carry credentials; use webhook.authorization");
  if (u.encoded_host().empty()) return fail("has no host");

  out.host = u.host_address();
  out.host_is_address = u.host_type() == boost::urls::host_type::ipv4 ||
                        u.host_type() == boost::urls::host_type::ipv6;
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) return fail("has an invalid port");
    out.port = u.port();
    out.host_header = u.encoded_host_and_port();
  } else {
    out.port = out.tls ? "443" : "80";
    out.host_header = u.encoded_host();
  }
  out.target = u.encoded_path().empty() ? std::string("/") : std::string(u.encoded_path());
  if (u.has_query()) {
    out.target.push_back('?');
    out.target += u.encoded_query();
  }
  return out;
}

}  // namespace audit::webhook::detail
