#pragma once
// One HTTP/1.1 connection: a coroutine that reads a request, answers it and, with
// keep-alive, waits for the next — each step under a deadline so no client can hold the
// server (slowloris, stalled readers). Also the short coroutine that refuses a connection
// over the limit with 503.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <unordered_map>

#include "api/http/client_limits.hpp"
#include "api/http/http_limits.hpp"
#include "api/http/request_counters.hpp"
#include "api/http/request_handler.hpp"

namespace audit::api::http {

/** What the registry needs of a connection, plain or TLS. */
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /** Closes the socket now; pending operations end with operation_aborted. */
  virtual void close() = 0;
};

/** The open connections, so stop() can close them all. Event loop only. */
class SessionRegistry {
 public:
  void add(const std::shared_ptr<SessionBase>& session, bool refusing);
  void remove(const SessionBase* session);
  /** Closes every registered connection; their coroutines then end on their own. */
  void closeAll();

  std::size_t serving() const { return serving_; }
  std::size_t refusing() const { return refusing_; }

 private:
  struct Entry {
    std::weak_ptr<SessionBase> session;
    bool refusing;
  };
  std::unordered_map<const SessionBase*, Entry> sessions_;
  std::size_t serving_ = 0;
  std::size_t refusing_ = 0;
};

/** What every connection shares; owned by the HttpApi that `owner` keeps alive. */
struct SessionShared {
  RequestHandler& handler;
  RequestCounters& counters;
  SessionRegistry& registry;
  const HttpLimits& limits;
  const std::atomic<bool>& stopping;
  /** Unproven connections' limits (client_limits.hpp); null: none. */
  ClientLimits* clients = nullptr;
};

/**
 * One connection over `Stream`: beast::tcp_stream (HTTP) or beast::ssl_stream of it (HTTPS,
 * the TLS handshake first, under the request deadline).
 */
template <class Stream>
class BasicSession : public SessionBase, public std::enable_shared_from_this<BasicSession<Stream>> {
 public:
  using Shared = SessionShared;

  /** `tls` is required for HTTPS and ignored for HTTP; the session keeps it alive. */
  BasicSession(boost::asio::ip::tcp::socket socket, Shared shared, std::shared_ptr<void> owner,
               std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  /** Serves requests until the client closes, a deadline passes or close() is called. */
  boost::asio::awaitable<void> serve();
  /** Answers the connection's request with 503 (connection limit reached) and closes. */
  boost::asio::awaitable<void> refuse();
  void close() override;

 private:
  using Parser = bhttp::request_parser<bhttp::string_body>;
  using Clock = std::chrono::steady_clock;

  /** True once the buffer holds a byte of the next request, by `deadline`. */
  boost::asio::awaitable<bool> awaitRequestStart(Clock::time_point deadline);
  /** Reads one request's header and body by `deadline`, sending 100 Continue if asked. */
  boost::asio::awaitable<boost::system::error_code> readRequest(Parser& parser,
                                                                Clock::time_point deadline);
  /** Answers a request that could not be read (413, 431, 400) or just closes (timeout, EOF). */
  boost::asio::awaitable<void> answerUnreadable(boost::system::error_code ec, const Parser& parser);
  boost::asio::awaitable<boost::system::error_code> write(Response& response);
  /** Half-closes and drains briefly so the client reads the answer before any RST. */
  boost::asio::awaitable<void> lingeringClose();
  /** HTTPS: the server side of the TLS handshake by `deadline`. HTTP: true at once. */
  boost::asio::awaitable<bool> handshake(Clock::time_point deadline);
  boost::beast::tcp_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }
  void finish(std::string_view method, std::string_view target, unsigned status,
              Clock::time_point started, std::string_view request_id);

  std::shared_ptr<boost::asio::ssl::context> tls_;  // before stream_, which refers to it
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  Shared shared_;
  std::shared_ptr<void> owner_;
};

using Session = BasicSession<boost::beast::tcp_stream>;
using TlsSession = BasicSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace audit::api::http
