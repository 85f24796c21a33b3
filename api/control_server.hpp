#pragma once
// The control socket (docs/cli.md): a unix stream socket speaking JSON Lines. One coroutine
// per connection reads a line, executes it through ControlApi and writes one line back.
// A malformed line answers 400 and the connection stays usable; a line over 16 MiB
// answers 413 and the connection is closed.
//
// Bounded: at most `max_connections` connections are served at once (more are answered 503
// and closed), lowered at start so that the descriptor limit keeps a reserve for the store;
// a connection idle for `idle_timeout` is closed; partial lines held across all connections
// stay under `max_buffered` bytes (the connection that would exceed it is answered 503 and
// closed). Out of descriptors (EMFILE, ENFILE), the acceptor pauses with a growing delay and
// logs once per episode instead of spinning.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "api/control_api.hpp"
#include "common/expected.hpp"
#include "config/config.hpp"

namespace audit::api {

class ControlServer : public std::enable_shared_from_this<ControlServer> {
 public:
  static constexpr std::size_t kMaxLine = 16u << 20;
  /** Descriptors kept free for the store (RocksDB's max_open_files) and everything else. */
  static constexpr std::size_t kReservedDescriptors = 640;

  /**
   * Listens on settings.socket (a stale socket file is replaced; a live daemon on it is an
   * error), or adopts `activated_fd` (socket activation) when it is ≥ 0.
   */
  static Expected<std::shared_ptr<ControlServer>> create(boost::asio::any_io_executor executor,
                                                         const config::ControlSettings& settings,
                                                         ControlApi& api, int activated_fd);
  void start();
  void stop();

  using Socket = boost::asio::local::stream_protocol::socket;
  /** Serves a request whose answer is a stream of its own (export); false: close. */
  using StreamHandler =
      std::function<boost::asio::awaitable<bool>(boost::json::object request, Socket& socket)>;
  /** Requests with `"op": op` go to `handler` instead of ControlApi. */
  void setStreamHandler(std::string op, StreamHandler handler) {
    stream_op_ = std::move(op);
    stream_handler_ = std::move(handler);
  }

 private:
  ControlServer(boost::asio::any_io_executor executor, const config::ControlSettings& settings,
                ControlApi& api);
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Socket> socket);
  boost::asio::awaitable<void> refuse(std::shared_ptr<Socket> socket);

  boost::asio::any_io_executor executor_;
  ControlApi& api_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer accept_backoff_;
  std::size_t max_connections_;
  std::chrono::milliseconds idle_timeout_;
  std::size_t max_buffered_;
  std::size_t buffered_ = 0;  // bytes of partial lines held by all connections
  bool refusing_logged_ = false;
  bool budget_logged_ = false;
  std::set<std::shared_ptr<Socket>> connections_;
  std::string path_;  // removed at stop when we created it
  std::string stream_op_;
  StreamHandler stream_handler_;
  bool stopped_ = false;
};

/** Parses one request line; on failure returns the 400 answer to send instead. */
bool parseRequestLine(std::string_view line, boost::json::object& request,
                      boost::json::object& error_answer);

}  // namespace audit::api
