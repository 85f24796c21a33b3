#include "webhook/detail/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

namespace audit::webhook::detail {

namespace ssl = boost::asio::ssl;

Expected<ssl::context> makeTlsContext(const TlsOptions& options) {
  ssl::context ctx(ssl::context::tls_client);
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); no SIEM endpoint worth talking to needs them.
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  if (options.skip_verification) {
    ctx.set_verify_mode(ssl::verify_none);
    return ctx;
  }
  boost::system::error_code ec;
  if (options.ca_file) {
    ctx.load_verify_file(options.ca_file->string(), ec);
    if (ec) {
      ERR_clear_error();
      return Failure{"webhook.ca_file " + options.ca_file->string() + ": " + ec.message()};
    }
  } else {
    ctx.set_default_verify_paths(ec);
    if (ec) {
      ERR_clear_error();
      return Failure{"cannot load the system CA store: " + ec.message()};
    }
  }
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

boost::system::error_code prepareTlsStream(
    boost::beast::ssl_stream<boost::beast::tcp_stream>& stream, const Endpoint& endpoint,
    bool skip_verification) {
  // SNI carries a host name only (RFC 6066 §3); servers pick their certificate by it.
  if (!endpoint.host_is_address &&
      SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str()) != 1) {
    boost::system::error_code ec(static_cast<int>(ERR_get_error()),
                                 boost::asio::error::get_ssl_category());
    ERR_clear_error();
    return ec;
  }
  if (!skip_verification) {
    stream.set_verify_mode(ssl::verify_peer);
    // Checks DNS names, or IP addresses for an IP literal, in the certificate.
    stream.set_verify_callback(ssl::host_name_verification(endpoint.host));
  }
  return {};
}

}  // namespace audit::webhook::detail
