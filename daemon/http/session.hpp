#pragma once
// One HTTP/1.1 connection: a coroutine that reads a request, answers it and, with
// keep-alive, waits for the next — each step under a deadline so no client can hold the
// server (slowloris, stalled readers). Also the short coroutine that refuses a connection
// over the limit with 503.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <unordered_map>

#include "daemon/http/client_limits.hpp"
#include "daemon/http/http_limits.hpp"
#include "daemon/http/request_counters.hpp"
#include "daemon/http/request_handler.hpp"

namespace audit::daemon::http {

class Session;

/** The open connections, so stop() can close them all. Event loop only. */
class SessionRegistry {
 public:
  void add(const std::shared_ptr<Session>& session, bool refusing);
  void remove(const Session* session);
  /** Closes every registered connection; their coroutines then end on their own. */
  void closeAll();

  std::size_t serving() const { return serving_; }
  std::size_t refusing() const { return refusing_; }

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    bool refusing;
  };
  std::unordered_map<const Session*, Entry> sessions_;
  std::size_t serving_ = 0;
  std::size_t refusing_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  /** What every connection shares; owned by the HttpApi that `owner` keeps alive. */
  struct Shared {
    RequestHandler& handler;
    RequestCounters& counters;
    SessionRegistry& registry;
    const HttpLimits& limits;
    const std::atomic<bool>& stopping;
    /** Unproven connections' limits (client_limits.hpp); null: none. */
    ClientLimits* clients = nullptr;
  };

  Session(boost::asio::ip::tcp::socket socket, Shared shared, std::shared_ptr<void> owner);

  /** Serves requests until the client closes, a deadline passes or close() is called. */
  boost::asio::awaitable<void> serve();
  /** Answers the connection's request with 503 (connection limit reached) and closes. */
  boost::asio::awaitable<void> refuse();
  /** Closes the socket now; pending operations end with operation_aborted. */
  void close();

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
  void finish(std::string_view method, std::string_view target, unsigned status,
              Clock::time_point started, std::string_view request_id);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  Shared shared_;
  std::shared_ptr<void> owner_;
};

}  // namespace audit::daemon::http
