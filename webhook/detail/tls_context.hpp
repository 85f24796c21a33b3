#pragma once
// TLS settings of a webhook connection (docs/formats.md): verification against the system store or
// webhook.ca_file, host name checks and SNI, or no verification when the operator asked.

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "webhook/detail/endpoint.hpp"

namespace audit::webhook::detail {

/** A client context; nullopt with `error` set when the CA file cannot be loaded. */
std::optional<boost::asio::ssl::context> makeTlsContext(const config::WebhookSettings& settings,
                                                        std::string* error);

/** Sets SNI and the peer checks on a fresh stream, before its handshake. */
boost::system::error_code prepareTlsStream(
    boost::beast::ssl_stream<boost::beast::tcp_stream>& stream, const Endpoint& endpoint,
    bool skip_verification);

}  // namespace audit::webhook::detail
