#pragma once
// One accepted connection of the receiver: HTTP/1.1 keep-alive, plain or TLS, answering each
// request as the script says. A coroutine that ends when the connection does; its socket is
// bound to a strand, so with several I/O threads a connection still runs one step at a time.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "sink/receiver.hpp"

namespace audit::sink::detail {

class Ledger;

/** What a session shares with the receiver; both outlive every session. */
struct SessionContext {
  Ledger& ledger;
  const ReceiverOptions& options;
};

boost::asio::awaitable<void> servePlain(boost::asio::ip::tcp::socket socket, SessionContext ctx);
boost::asio::awaitable<void> serveTls(boost::asio::ip::tcp::socket socket,
                                      boost::asio::ssl::context& tls, SessionContext ctx);

}  // namespace audit::sink::detail
