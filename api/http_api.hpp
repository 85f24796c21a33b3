#pragma once
// The Konnect-compatible HTTP API of docs/http-api.md: a Boost.Beast HTTP/1.1 server on the
// daemon's event loop that translates each request into one ControlApi request (the socket protocol
// of docs/cli.md), so validation and status codes are the same on every front end. GET /metrics
// reads the engine's typed stats through a StatsSource instead.
//
// Thread safety: the executor must be single-threaded (an io_context run by one thread);
// connections, the acceptor and the ControlApi calls all live on it. start(), stop() and
// reload() may be called from any thread (they hop onto the executor where they must);
// port() and stats() are safe from any thread.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/control_api.hpp"
#include "api/http/http_limits.hpp"
#include "api/http/http_stats.hpp"
#include "api/stats_source.hpp"
#include "common/expected.hpp"
#include "config/config.hpp"

namespace audit::api {

class HttpApi;
using HttpApiPtr = std::shared_ptr<HttpApi>;

class HttpApi : public std::enable_shared_from_this<HttpApi> {
 public:
  /**
   * Binds settings.host:settings.port (not yet accepting) and reads the tokens file.
   * Fails when the address is bad, the port is taken, the tokens file can't be read, or
   * there is no token and allow_unauthenticated is false. `api` and `stats` must outlive
   * every coroutine this object spawns (i.e. the executor's run).
   */
  static Expected<HttpApiPtr> create(boost::asio::any_io_executor ex,
                                     const config::HttpSettings& settings, ControlApi& api,
                                     StatsSource& stats, HttpLimits limits = {});

  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  /** Begins accepting. Call once. */
  void start();

  /**
   * Closes the acceptor and every connection (a request waiting on the ControlApi finishes
   * there, and its answer is dropped). Idempotent; the object cannot be started again.
   * Called on the loop it acts at once; from another thread, when the loop runs it next.
   */
  void stop();

  /**
   * Re-reads tokens_file and takes metrics_public (SIGHUP). On failure the running tokens
   * stay and the failure says why. A changed listen address needs a restart (logged).
   */
  Expected<> reload(const config::HttpSettings& settings);

  /**
   * The configured region names, for the region rule every route uses (?region, else the
   * Host header's first label, else the only region). Call at start and after each reload.
   * Any thread.
   */
  void setRegions(std::vector<std::string> regions);

  /** The bound port (useful with port 0 in tests). */
  std::uint16_t port() const { return port_; }

  /** Connection and request counters, as /metrics shows them. */
  HttpStats stats() const;

 private:
  struct Private {};

 public:
  // Public only for make_shared; use create().
  HttpApi(Private, boost::asio::any_io_executor ex, const config::HttpSettings& settings,
          ControlApi& api, StatsSource& stats, HttpLimits limits);

 private:
  Expected<> bind();
  void doStop();
  boost::asio::awaitable<void> acceptLoop();

  struct State;
  boost::asio::any_io_executor ex_;
  config::HttpSettings settings_;
  HttpLimits limits_;
  std::uint16_t port_ = 0;
  std::unique_ptr<State> state_;
};

}  // namespace audit::api
