#pragma once
// TLS settings of a webhook connection (docs/formats.md): verification against the system store or
// webhook.ca_file, host name checks and SNI, or no verification when the operator asked.

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>
#include <string>

#include "common/expected.hpp"
#include "webhook/detail/endpoint.hpp"
#include "webhook/options.hpp"

namespace audit::webhook::detail {

/** A client context; fails when the CA file (or the system store) cannot be loaded. */
Expected<boost::asio::ssl::context> makeTlsContext(const TlsOptions& options);

/** Sets SNI and the peer checks on a fresh stream, before its handshake. */
boost::system::error_code prepareTlsStream(
    boost::beast::ssl_stream<boost::beast::tcp_stream>& stream, const Endpoint& endpoint,
    bool skip_verification);

}  // namespace audit::webhook::detail
