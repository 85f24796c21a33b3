#include "api/http_api.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <filesystem>
#include <mutex>

#include "api/http/request_counters.hpp"
#include "api/http/request_handler.hpp"
#include "api/http/session.hpp"
#include "api/http/token_set.hpp"

namespace audit::api {
namespace {

namespace net = boost::asio;
using boost::system::error_code;
using net::ip::tcp;

/**
 * The token set `settings` asks for: nullptr means "no authentication", allowed only with
 * allow_unauthenticated. A tokens file always requires its tokens, even with that flag.
 */
using Tokens = std::shared_ptr<const http::TokenSet>;

Expected<Tokens> loadTokens(const config::HttpSettings& settings) {
  if (!settings.tokens_file) {
    if (!settings.allow_unauthenticated) {
      return Failure{
          "http: no tokens_file is set; give http.tokens_file (one bearer token per line) or "
          "set http.allow_unauthenticated: true to serve without authentication"};
    }
    return Tokens();
  }
  const auto& file = *settings.tokens_file;
  auto set = http::TokenSet::load(file);
  if (!set) return set.error();
  if (set->empty()) {
    if (!settings.allow_unauthenticated) {
      return Failure{"http.tokens_file " + file.string() +
                     " holds no token; add one bearer token per line"};
    }
    return Tokens();
  }
  error_code ec;
  const auto perms = std::filesystem::status(file, ec).permissions();
  if (!ec && (perms & std::filesystem::perms::others_read) != std::filesystem::perms::none) {
    spdlog::warn("http.tokens_file {} is readable by every user; chmod o-r it", file.string());
  }
  return Tokens(std::make_shared<const http::TokenSet>(std::move(*set)));
}

/**
 * The server TLS context of `settings.tls` (TLS 1.2 and later), nullptr without one.
 * Fails naming the file when the certificate or key cannot be used.
 */
using TlsContext = std::shared_ptr<net::ssl::context>;

Expected<TlsContext> loadTls(const config::HttpSettings& settings) {
  if (!settings.tls) return TlsContext();
  namespace ssl = net::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  error_code ec;
  if (context->use_certificate_chain_file(settings.tls->cert_file.string(), ec); ec) {
    return Failure{"http.tls.cert_file " + settings.tls->cert_file.string() +
                   ": not a usable PEM certificate chain: " + ec.message()};
  }
  if (context->use_private_key_file(settings.tls->key_file.string(), ssl::context::pem, ec); ec) {
    return Failure{"http.tls.key_file " + settings.tls->key_file.string() +
                   ": not a usable PEM private key (or not the certificate's): " + ec.message()};
  }
  return context;
}

void logUnauthenticated(const std::shared_ptr<const http::TokenSet>& tokens) {
  if (tokens == nullptr) {
    spdlog::warn(
        "http: serving WITHOUT authentication (allow_unauthenticated); anyone who "
        "can reach the listen address can create and cancel replay jobs");
  }
}

}  // namespace

struct HttpApi::State {
  State(net::any_io_executor ex, ControlApi& api, StatsSource& stats)
      : handler(api, stats, counters), acceptor(ex), accept_backoff(ex) {}

  http::RequestCounters counters;
  http::RequestHandler handler;
  http::SessionRegistry registry;               // loop only
  std::unique_ptr<http::ClientLimits> clients;  // loop only
  tcp::acceptor acceptor;
  net::steady_timer accept_backoff;
  bool started = false;  // loop only
  std::atomic<bool> stopping{false};
  std::mutex tls_mutex;
  std::shared_ptr<net::ssl::context> tls;  // HTTPS when set; replaced by reload()
};

HttpApi::HttpApi(Private, net::any_io_executor ex, const config::HttpSettings& settings,
                 ControlApi& api, StatsSource& stats, HttpLimits limits)
    : ex_(ex),
      settings_(settings),
      limits_(limits),
      state_(std::make_unique<State>(ex, api, stats)) {
  limits_.ingest_body_limit = settings.max_ingest_bytes;
  limits_.unproven_idle_timeout = settings.unauthenticated_idle_timeout;
  limits_.max_unproven_per_client = settings.max_unauthenticated_per_client;
  state_->handler.setMetricsPublic(settings.metrics_public);
}

HttpApi::~HttpApi() = default;

Expected<HttpApiPtr> HttpApi::create(net::any_io_executor ex, const config::HttpSettings& settings,
                                     ControlApi& api, StatsSource& stats, HttpLimits limits) {
  Expected<Tokens> tokens = loadTokens(settings);
  if (!tokens) return tokens.error();
  Expected<TlsContext> tls = loadTls(settings);
  if (!tls) return tls.error();
  auto self = std::make_shared<HttpApi>(Private{}, ex, settings, api, stats, limits);
  self->state_->tls = std::move(*tls);
  if (Expected<> bound = self->bind(); !bound) return bound.error();
  logUnauthenticated(*tokens);
  self->state_->handler.setTokens(std::move(*tokens));
  return self;
}

Expected<> HttpApi::bind() {
  const std::string where = "http.listen " + settings_.listen + ": ";
  error_code ec;
  auto address = net::ip::make_address(settings_.host, ec);
  if (ec) {
    // A host name (e.g. "localhost"): resolved once, here at start-up, before the loop runs.
    tcp::resolver resolver(ex_);
    const auto results = resolver.resolve(settings_.host, std::to_string(settings_.port), ec);
    if (ec || results.empty()) {
      return Failure{where + "cannot resolve host \"" + settings_.host + "\"" +
                     (ec ? ": " + ec.message() : std::string())};
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, settings_.port);
  auto& acceptor = state_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return Failure{where + "cannot open a socket: " + ec.message()};
  }
  // Restarts must not wait out TIME_WAIT of the previous process's connections.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
    return Failure{where + "cannot set SO_REUSEADDR: " + ec.message()};
  }
  if (acceptor.bind(endpoint, ec); ec) {
    return Failure{
        where + "cannot bind: " + ec.message() +
        (ec == net::error::address_in_use ? " (is another audit-replayd running?)" : "")};
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Failure{where + "cannot listen: " + ec.message()};
  }
  port_ = acceptor.local_endpoint(ec).port();
  return {};
}

void HttpApi::start() {
  net::dispatch(ex_, [self = shared_from_this()] {
    auto& state = *self->state_;
    if (state.started || state.stopping) return;
    state.started = true;
    spdlog::info("http: listening on {}:{}{}", self->settings_.host, self->port_,
                 self->settings_.tls ? " (HTTPS)" : "");
    net::co_spawn(self->ex_, self->acceptLoop(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("http: the accept loop ended with an exception: {}", ex.what());
      }
    });
  });
}

void HttpApi::stop() {
  net::dispatch(ex_, [self = shared_from_this()] { self->doStop(); });
}

void HttpApi::doStop() {
  auto& state = *state_;
  if (state.stopping.exchange(true)) return;
  error_code ignored;  // closing an acceptor that failed or was never opened is harmless
  state.acceptor.close(ignored);
  state.accept_backoff.cancel();
  state.registry.closeAll();
  spdlog::debug("http: stopped");
}

Expected<> HttpApi::reload(const config::HttpSettings& settings) {
  Expected<Tokens> tokens = loadTokens(settings);
  if (!tokens) {
    spdlog::error("http: reload refused, keeping the running tokens: {}", tokens.message());
    return tokens.error();
  }
  // The certificate is read again (renewed files take effect for new connections); a
  // broken one keeps the running certificate. Switching HTTP <-> HTTPS needs a restart.
  Expected<TlsContext> loaded_tls = loadTls(settings);
  if (!loaded_tls) {
    spdlog::error("http: reload refused, keeping the running certificate and tokens: {}",
                  loaded_tls.message());
    return loaded_tls.error();
  }
  TlsContext tls = std::move(*loaded_tls);
  if (settings.tls.has_value() != settings_.tls.has_value()) {
    spdlog::warn("http: tls was {}; restart audit-replayd to switch between HTTP and HTTPS",
                 settings.tls ? "added" : "removed");
  } else if (tls) {
    std::lock_guard lock(state_->tls_mutex);
    state_->tls = std::move(tls);
    spdlog::info("http: reloaded the TLS certificate");
  }
  if (settings.host != settings_.host || settings.port != settings_.port) {
    spdlog::warn("http: listen changed to {}; restart audit-replayd to move the listener",
                 settings.listen);
  }
  logUnauthenticated(*tokens);
  state_->handler.setTokens(std::move(*tokens));
  state_->handler.setMetricsPublic(settings.metrics_public);
  spdlog::info("http: reloaded tokens");
  return {};
}

void HttpApi::setRegions(std::vector<std::string> regions) {
  state_->handler.setRegions(std::move(regions));
}

HttpStats HttpApi::stats() const {
  return state_->counters.snapshot();
}

net::awaitable<void> HttpApi::acceptLoop() {
  const auto self = shared_from_this();
  auto& state = *state_;
  state.clients = std::make_unique<http::ClientLimits>(limits_.max_unproven_per_client);
  const http::SessionShared shared{state.handler, state.counters, state.registry,
                                   limits_,       state.stopping, state.clients.get()};
  // Closes a connection that never showed a token, to make room (client_limits.hpp).
  auto evict = [&state](const std::shared_ptr<http::SessionBase>& victim) {
    if (!victim) return false;
    victim->close();
    state.registry.remove(victim.get());
    return true;
  };
  const auto tuple = net::as_tuple(net::use_awaitable);
  for (;;) {
    auto [ec, socket] = co_await state.acceptor.async_accept(tuple);
    if (state.stopping) co_return;
    if (ec) {
      if (ec == net::error::operation_aborted) co_return;
      // Out of descriptors (EMFILE) and the like: accepting again at once would spin the
      // loop. Wait a little; closing connections free descriptors.
      spdlog::warn("http: accept failed: {}; retrying in 100ms (raise LimitNOFILE?)", ec.message());
      state.accept_backoff.expires_after(std::chrono::milliseconds(100));
      co_await state.accept_backoff.async_wait(tuple);
      continue;
    }
    error_code ignored;  // Nagle only delays small answers; failing to turn it off is harmless
    socket.set_option(tcp::no_delay(true), ignored);

    error_code peer_ec;  // a peer already gone has no address; it counts under 0.0.0.0
    const auto address = socket.remote_endpoint(peer_ec).address();
    const bool refusing = state.registry.serving() >= limits_.max_connections;
    if (refusing && state.registry.refusing() >= limits_.max_refusing) {
      state.counters.connectionRejected();
      continue;  // overwhelmed even at refusing: closing unanswered is the cheapest answer
    }
    std::shared_ptr<net::ssl::context> tls;
    {
      std::lock_guard lock(state.tls_mutex);
      tls = state.tls;
    }
    std::shared_ptr<http::SessionBase> session;
    net::awaitable<void> run = [&] {
      if (tls) {
        auto s = std::make_shared<http::TlsSession>(std::move(socket), shared, self, tls);
        session = s;
        return refusing ? s->refuse() : s->serve();
      }
      auto s = std::make_shared<http::Session>(std::move(socket), shared, self);
      session = s;
      return refusing ? s->refuse() : s->serve();
    }();
    // Registered now, not when the coroutine first runs, so a burst can't exceed the limit.
    state.registry.add(session, refusing);
    if (!refusing) evict(state.clients->opened(session, address));
    net::co_spawn(ex_, std::move(run), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("http: a connection ended with an exception: {}", ex.what());
      }
    });
  }
}

}  // namespace audit::api
