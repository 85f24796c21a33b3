#include "sink/receiver.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>
#include <thread>

#include "sink/detail/ledger.hpp"
#include "sink/detail/session.hpp"

namespace audit::sink {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// After a failed accept (EMFILE and the like) wait this long instead of spinning on it.
constexpr std::chrono::milliseconds kAcceptBackoff{50};
constexpr int kReceiveBuffer = 4 << 20;

std::unique_ptr<ssl::context> makeTlsContext(const TlsFiles& files) {
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls->use_certificate_chain_file(files.cert_chain_file);
  tls->use_private_key_file(files.private_key_file, ssl::context::pem);
  return tls;
}

/** Accepts until the io_context stops; each connection gets a strand and its own coroutine. */
asio::awaitable<void> acceptLoop(tcp::acceptor acceptor, ssl::context* tls,
                                 detail::SessionContext ctx) {
  auto& io = static_cast<asio::io_context&>(acceptor.get_executor().context());
  for (;;) {
    tcp::socket socket(asio::make_strand(io));
    auto [ec] = co_await acceptor.async_accept(socket, kTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (ctx.options.log) ctx.options.log("accept: " + ec.message());
      asio::steady_timer backoff(io, kAcceptBackoff);
      co_await backoff.async_wait(kTuple);
      continue;
    }
    ctx.ledger.countConnection();
    boost::system::error_code ignored;  // Nagle only delays our small answers; optional
    socket.set_option(tcp::no_delay(true), ignored);
    auto executor = socket.get_executor();
    auto session = tls != nullptr ? detail::serveTls(std::move(socket), *tls, ctx)
                                  : detail::servePlain(std::move(socket), ctx);
    asio::co_spawn(executor, std::move(session), [log = ctx.options.log](std::exception_ptr e) {
      if (!e || !log) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& error) {
        log(std::string("connection: ") + error.what());
      }
    });
  }
}

}  // namespace

std::string toJson(const ReceiverStats& stats) {
  return "{\"requests\":" + std::to_string(stats.requests) +
         ",\"events\":" + std::to_string(stats.events) +
         ",\"wire_bytes\":" + std::to_string(stats.wire_bytes) +
         ",\"plain_bytes\":" + std::to_string(stats.plain_bytes) +
         ",\"connections\":" + std::to_string(stats.connections) +
         ",\"accepted\":" + std::to_string(stats.accepted) + "}";
}

struct Receiver::Impl {
  Impl(ReceiverOptions opts, Script script)
      : options(std::move(opts)), ledger(options.keep_requests) {
    ledger.setScript(std::move(script));
  }

  const ReceiverOptions options;
  detail::Ledger ledger;

  std::mutex lifecycle;  // serialises start() and stop()
  std::unique_ptr<ssl::context> tls;
  // Owns every socket and coroutine: destroying it closes them all, hanging ones included.
  std::unique_ptr<asio::io_context> io;
  std::vector<std::thread> threads;
  std::atomic<std::uint16_t> port{0};
};

Receiver::Receiver(ReceiverOptions options, Script script)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(script))) {}

Receiver::~Receiver() {
  stop();
}

std::uint16_t Receiver::start() {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->io) return impl_->port;
  const auto& options = impl_->options;
  auto tls = options.tls ? makeTlsContext(*options.tls) : nullptr;
  const unsigned threads = std::max(1u, options.threads);
  auto io = std::make_unique<asio::io_context>(static_cast<int>(threads));

  // Resolving lets "localhost" work as well as literal addresses.
  tcp::resolver resolver(*io);
  const auto results =
      resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::numeric_service);
  const tcp::endpoint endpoint = results.begin()->endpoint();
  tcp::acceptor acceptor(*io);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.set_option(asio::socket_base::receive_buffer_size(kReceiveBuffer));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->port = acceptor.local_endpoint().port();

  detail::SessionContext ctx{impl_->ledger, impl_->options};
  asio::co_spawn(*io, acceptLoop(std::move(acceptor), tls.get(), ctx), asio::detached);
  impl_->tls = std::move(tls);
  impl_->io = std::move(io);
  for (unsigned i = 0; i < threads; ++i)
    impl_->threads.emplace_back([io = impl_->io.get()] { io->run(); });
  return impl_->port;
}

void Receiver::stop() {
  std::lock_guard lock(impl_->lifecycle);
  if (!impl_->io) return;
  // run() returns after the handlers now running; nothing else of ours runs after that.
  impl_->io->stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  // Destroying the io_context destroys every suspended coroutine frame, and with them the
  // acceptor and every socket: delayed and hanging connections close now, not at a timeout.
  impl_->io.reset();
  impl_->tls.reset();
}

std::uint16_t Receiver::port() const {
  return impl_->port;
}

std::string Receiver::url(const std::string& path) const {
  const auto& host = impl_->options.host;
  const bool ipv6 = host.find(':') != std::string::npos;
  return std::string(impl_->options.tls ? "https://" : "http://") + (ipv6 ? "[" : "") + host +
         (ipv6 ? "]" : "") + ":" + std::to_string(port()) + path;
}

void Receiver::setScript(Script script) {
  impl_->ledger.setScript(std::move(script));
}

ReceiverStats Receiver::stats() const {
  return impl_->ledger.stats();
}

std::vector<ReceivedRequest> Receiver::requests() const {
  return impl_->ledger.requests();
}

std::vector<std::string> Receiver::acceptedEvents() const {
  return impl_->ledger.acceptedEvents();
}

bool Receiver::waitFor(const std::function<bool(const ReceiverStats&)>& pred,
                       std::chrono::milliseconds deadline) const {
  return impl_->ledger.waitFor(pred, deadline);
}

}  // namespace audit::sink
