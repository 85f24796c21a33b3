#include "webhook/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "webhook/detail/endpoint.hpp"
#include "webhook/detail/redact.hpp"
#include "webhook/detail/tls_context.hpp"
#include "webhook/standard_webhooks.hpp"

namespace audit::webhook {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A receiver's answer is a status and a short reason; anything longer is not read into
// memory (the excerpt keeps 512 bytes of it).
constexpr std::uint64_t kMaxResponseBody = 64 * 1024;
constexpr std::uint32_t kMaxResponseHeader = 16 * 1024;
// Interim (1xx) answers read past before the final one; more is a broken receiver.
constexpr int kMaxInterimResponses = 16;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::span_body<const char>>;

// Errors with which a server that closed an idle keep-alive connection shows up on the
// next request, before any byte of an answer.
bool isStaleConnection(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

std::vector<std::string> headerValues(const ClientOptions& options) {
  std::vector<std::string> values;
  for (const auto& [name, value] : options.headers) values.push_back(value);
  return values;
}

struct Exchange {
  error_code error;
  std::string step;
  bool response_started = false;  // some byte of an answer arrived
  AttemptResult result;
  bool keep_alive = false;
};

class BeastWebhookClient final : public WebhookClient {
 public:
  BeastWebhookClient(asio::any_io_executor executor, const ClientOptions& options,
                     detail::Endpoint endpoint, std::optional<ssl::context> tls)
      : executor_(std::move(executor)),
        options_(options),
        endpoint_(std::move(endpoint)),
        tls_context_(std::move(tls)),
        timeout_(options.timeout > Millis(0) ? options.timeout : Millis(10'000)),
        secrets_(detail::secretsOf(options.authorization, headerValues(options))) {}

  ~BeastWebhookClient() override = default;  // the streams close their sockets

  void signWith(StandardWebhooksSigner signer) { standard_webhooks_.emplace(std::move(signer)); }

  asio::awaitable<AttemptResult> post(const EncodedBody& body,
                                      std::string idempotency_key) override {
    busy_ = true;
    closing_ = false;
    AttemptResult result;
    try {
      result = co_await attempt(body, idempotency_key);
    } catch (const std::exception&) {
      // Only allocation failures can get here; the attempt fails like any other.
      dropConnection();
      result = AttemptResult{};
      result.error = asio::error::no_memory;
      result.step = "request";
    }
    busy_ = false;
    co_return result;
  }

  void close() override {
    if (busy_) {
      // An attempt is in flight: closing the socket ends its pending operation at once
      // (operation_aborted); the attempt then drops the connection itself.
      closing_ = true;
      if (resolver_) resolver_->cancel();
      if (plain_) plain_->close();
      if (tls_) beast::get_lowest_layer(*tls_).close();
      return;
    }
    connected_ = false;
    buffer_.clear();
    if (plain_) {
      error_code ignored;  // the peer may have gone already; the socket closes regardless
      plain_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      plain_->close();
      plain_.reset();
    }
    if (tls_) {
      // close_notify runs on its own, bounded by the timeout, so close() does not wait.
      asio::co_spawn(executor_, shutdownTls(std::move(tls_), timeout_), asio::detached);
    }
  }

 private:
  using Deadline = std::chrono::steady_clock::time_point;

  static std::chrono::milliseconds remaining(Deadline deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  }

  static asio::awaitable<void> shutdownTls(std::shared_ptr<TlsStream> stream, Millis timeout) {
    beast::get_lowest_layer(*stream).expires_after(timeout);
    auto [ec] = co_await stream->async_shutdown(kNoThrow);
    // Ignored: many servers close without their close_notify (stream_truncated), and the
    // socket is closed either way.
    (void)ec;
    beast::get_lowest_layer(*stream).close();
  }

  Request makeRequest(const EncodedBody& body, const std::string& key) const {
    Request req{http::verb::post, endpoint_.target, 11};
    req.set(http::field::host, endpoint_.host_header);
    req.set(http::field::user_agent, userAgent());
    req.set(http::field::content_type, "text/plain");
    if (body.gzip) req.set(http::field::content_encoding, "gzip");
    if (!options_.authorization.empty())
      req.set(http::field::authorization, options_.authorization);
    if (!key.empty()) req.set("Idempotency-Key", key);
    for (const auto& [name, value] : options_.headers) req.set(name, value);
    if (standard_webhooks_) {
      // One signature per request, over the bytes sent; a retry renews the timestamp.
      const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
      auto signed_headers = standard_webhooks_->sign(
          key, now, std::string_view(body.bytes.data(), body.bytes.size()));
      req.set("webhook-id", signed_headers.id);
      req.set("webhook-timestamp", signed_headers.timestamp);
      req.set("webhook-signature", signed_headers.signature);
    }
    req.keep_alive(true);
    req.body() = Request::body_type::value_type(body.bytes.data(), body.bytes.size());
    req.prepare_payload();
    return req;
  }

  asio::awaitable<AttemptResult> attempt(const EncodedBody& body, const std::string& key) {
    const Deadline deadline = std::chrono::steady_clock::now() + timeout_;
    Request req = makeRequest(body, key);
    AttemptResult result;
    // At most two rounds: the second only when a reused connection turned out to be closed
    // by the server before it answered, which is not the receiver failing.
    for (int round = 0; round < 2; ++round) {
      bool reused = connected_;
      if (!connected_) {
        auto [ec, step] = co_await connect(deadline);
        if (ec) {
          dropConnection();
          result.error = closing_ ? error_code(asio::error::operation_aborted) : ec;
          result.step = step;
          co_return result;
        }
      }
      // Not a ?: of two co_awaits: GCC 12 miscompiles that (frees a temporary twice).
      Exchange ex;
      if (tls_) {
        ex = co_await exchange(*tls_, req, deadline);
      } else {
        ex = co_await exchange(*plain_, req, deadline);
      }
      if (!ex.error) {
        if (!ex.keep_alive) dropConnection();
        co_return std::move(ex.result);
      }
      dropConnection();
      if (reused && !ex.response_started && !closing_ && isStaleConnection(ex.error)) continue;
      result = std::move(ex.result);
      result.error = closing_ ? error_code(asio::error::operation_aborted) : ex.error;
      result.step = ex.step;
      co_return result;
    }
    co_return result;  // not reached: the second round always returns
  }

  /** Resolves, connects and (for https) handshakes. @return the error and the failed step. */
  asio::awaitable<std::pair<error_code, std::string>> connect(Deadline deadline) {
    buffer_.clear();
    // The resolver has no deadline of its own and no per-operation cancellation in Boost
    // 1.81, so a watchdog coroutine cancels it. Both are shared so that neither outlives
    // the other whichever finishes first.
    auto resolver = std::make_shared<tcp::resolver>(executor_);
    auto watchdog = std::make_shared<asio::steady_timer>(executor_);
    watchdog->expires_at(deadline);
    resolver_ = resolver;
    asio::co_spawn(
        executor_,
        [resolver, watchdog]() -> asio::awaitable<void> {
          auto [ec] = co_await watchdog->async_wait(kNoThrow);
          if (!ec) resolver->cancel();
        },
        asio::detached);
    auto [rec, endpoints] =
        co_await resolver->async_resolve(endpoint_.host, endpoint_.port, kNoThrow);
    watchdog->cancel();
    resolver_.reset();
    if (rec == asio::error::operation_aborted && !closing_) rec = beast::error::timeout;
    if (rec) co_return std::pair{rec, std::string("resolve")};

    // Connects to each address the resolver gave (IPv6 and IPv4) in turn.
    if (tls_context_) {
      tls_ = std::make_shared<TlsStream>(executor_, *tls_context_);
      if (auto ec = detail::prepareTlsStream(*tls_, endpoint_, options_.tls.skip_verification)) {
        co_return std::pair{ec, std::string("tls setup")};
      }
    } else {
      plain_ = std::make_shared<beast::tcp_stream>(executor_);
    }
    beast::tcp_stream& lowest = tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
    lowest.expires_after(remaining(deadline));
    auto [cec, ep] = co_await lowest.async_connect(endpoints, kNoThrow);
    if (cec) co_return std::pair{cec, std::string("connect")};
    error_code ignored;  // without TCP_NODELAY requests are only slower, so this is not fatal
    lowest.socket().set_option(tcp::no_delay(true), ignored);

    if (tls_) {
      // Verifies the chain and the host name (set by prepareTlsStream) during the handshake.
      lowest.expires_after(remaining(deadline));
      auto [hec] = co_await tls_->async_handshake(ssl::stream_base::client, kNoThrow);
      if (hec) co_return std::pair{hec, std::string("handshake")};
    }
    connected_ = true;
    co_return std::pair{error_code{}, std::string()};
  }

  template <class Stream>
  asio::awaitable<Exchange> exchange(Stream& stream, Request& req, Deadline deadline) {
    Exchange ex;
    auto& lowest = beast::get_lowest_layer(stream);

    lowest.expires_after(remaining(deadline));
    auto [wec, written] = co_await http::async_write(stream, req, kNoThrow);
    if (wec) {
      ex.error = wec;
      ex.step = "write";
      co_return ex;
    }

    // Reads the answer with bounded header and body; a larger body is cut off below.
    // Interim 1xx answers (100 Continue, 103 Early Hints) are not the answer (RFC 9110
    // §15.2): they are read past, a bounded number of them, to the final one.
    std::optional<http::response_parser<http::string_body>> parser;
    bool too_big = false;
    for (int interim = 0;; ++interim) {
      parser.emplace();
      parser->header_limit(kMaxResponseHeader);
      parser->body_limit(kMaxResponseBody);
      lowest.expires_after(remaining(deadline));
      auto [rec, read] = co_await http::async_read(stream, buffer_, *parser, kNoThrow);
      ex.response_started = ex.response_started || parser->got_some() || buffer_.size() > 0;
      too_big = rec == http::error::body_limit && parser->is_header_done();
      if (rec && !too_big) {
        ex.error = rec;
        ex.step = "read";
        co_return ex;
      }
      const unsigned status = parser->get().result_int();
      // 101 Switching Protocols was not asked for: it is taken as the (failed) answer.
      if (too_big || status < 100 || status >= 200 || status == 101) break;
      if (interim >= kMaxInterimResponses) {
        ex.error = http::error::bad_status;
        ex.step = "read";
        co_return ex;
      }
    }
    const auto& res = parser->get();
    ex.result.status = res.result_int();
    // Redacted before it is cut: a secret across the 512-byte edge would leak its head.
    ex.result.body_excerpt = detail::redact(res.body(), secrets_).substr(0, 512);
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
      ex.result.retry_after = parseRetryAfter(it->value(), std::chrono::system_clock::now());
    }
    // The rest of an oversized body is still on the wire, so the connection cannot carry
    // the next request.
    ex.keep_alive = !too_big && res.keep_alive();
    co_return ex;
  }

  void dropConnection() {
    connected_ = false;
    buffer_.clear();
    if (plain_) {
      plain_->close();
      plain_.reset();
    }
    if (tls_) {
      // After a failure the TLS session is unusable; no close_notify.
      beast::get_lowest_layer(*tls_).close();
      tls_.reset();
    }
  }

  asio::any_io_executor executor_;
  ClientOptions options_;
  std::optional<StandardWebhooksSigner> standard_webhooks_;
  detail::Endpoint endpoint_;
  std::optional<ssl::context> tls_context_;
  Millis timeout_;
  std::vector<std::string> secrets_;          // hidden in what the receiver says back
  std::shared_ptr<tcp::resolver> resolver_;   // while resolving, for close()
  std::shared_ptr<beast::tcp_stream> plain_;  // the connection, http
  std::shared_ptr<TlsStream> tls_;            // the connection, https
  beast::flat_buffer buffer_;
  bool connected_ = false;
  bool busy_ = false;     // an attempt is in flight
  bool closing_ = false;  // close() was called during the attempt in flight
};

// Header names the client sets itself: a configured value would break the message
// framing or the connection handling.
bool isReservedHeader(std::string_view name) {
  for (std::string_view reserved :
       {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}) {
    if (beast::iequals(name, reserved)) return true;
  }
  return false;
}

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

std::string userAgent() {
  return std::string("audit-replay/") + AUDIT_REPLAY_VERSION;
}

Expected<WebhookClientPtr> WebhookClient::create(boost::asio::any_io_executor executor,
                                                 const ClientOptions& options,
                                                 signing::SignerPtr signer) {
  auto endpoint = detail::parseEndpoint(options.endpoint);
  if (!endpoint) return endpoint.error();
  auto fail = [](std::string text) { return Failure{std::move(text)}; };
  // Never quote the value: it is a secret.
  if (hasLineBreak(options.authorization))
    return fail("webhook.authorization contains a line break");
  for (const auto& [name, value] : options.headers) {
    if (name.empty() || hasLineBreak(name) || name.find(':') != std::string::npos) {
      return fail("webhook.headers: invalid header name \"" + name + "\"");
    }
    if (hasLineBreak(value)) return fail("webhook.headers." + name + " contains a line break");
    if (isReservedHeader(name)) {
      return fail("webhook.headers." + name +
                  " is set by audit-replay itself and cannot be configured");
    }
  }
  std::optional<ssl::context> tls;
  if (endpoint->tls) {
    auto ctx = detail::makeTlsContext(options.tls);
    if (!ctx) return ctx.error();
    tls.emplace(std::move(*ctx));
  }
  std::optional<StandardWebhooksSigner> standard_webhooks;
  if (const auto& sw = options.standard_webhooks) {
    if (sw->asymmetric) {
      if (!signer) return fail("webhook.standard_webhooks.asymmetric needs signing.key_file");
      standard_webhooks.emplace(std::move(signer));
    } else {
      auto key = standardWebhooksKey(sw->secret);
      // Never quote the value: it is a secret.
      if (!key) return fail("webhook.standard_webhooks: the secret is not whsec_ and base64");
      standard_webhooks.emplace(std::move(*key));
    }
  }
  auto client = std::make_unique<BeastWebhookClient>(std::move(executor), options,
                                                     std::move(*endpoint), std::move(tls));
  if (standard_webhooks) client->signWith(std::move(*standard_webhooks));
  return WebhookClientPtr(std::move(client));
}

}  // namespace audit::webhook
