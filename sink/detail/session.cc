#include "sink/detail/session.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <exception>
#include <limits>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "sink/detail/decoding.hpp"
#include "sink/detail/ledger.hpp"
#include "sink/detail/lines.hpp"

namespace audit::sink::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;  // Beast's largest read_some on a dynamic buffer
// After refusing a body mid-way we drain what the client still sends for this long, so it
// can finish writing and read our 413 instead of meeting a reset (nginx's lingering close).
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::chrono::seconds kShutdownTime{2};
constexpr std::size_t kNotRecorded = std::numeric_limits<std::size_t>::max();

/** Asks each read for all that is still missing (asio's transfer_all caps reads at 64 KiB). */
struct ReadAll {
  std::size_t operator()(const boost::system::error_code& ec, std::size_t) const {
    return ec ? 0 : std::numeric_limits<std::size_t>::max();
  }
};

/** How a connection ends after a request. */
enum class Next {
  KeepAlive,  // read the next request
  Close,      // orderly: TLS close_notify or TCP FIN
  Linger,     // we answered before reading the whole body: FIN, then drain
  Abort,      // drop the connection (faults, peer gone, protocol errors)
};

template <class Stream>
class Session {
 public:
  template <class... Args>
  explicit Session(SessionContext ctx, Args&&... args)
      : ctx_(ctx), stream_(std::forward<Args>(args)...) {
    // Beast reads at most the buffer's free capacity per call (up to 64 KiB): without this,
    // headers and chunked bodies would arrive in reads of a few hundred bytes.
    buffer_.reserve(kReadChunk);
  }

  asio::awaitable<void> run() {
    if constexpr (kTls) {
      tcp().expires_after(ctx_.options.io_timeout);
      auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, kTuple);
      if (ec) {
        fail(ec, "handshake");
        co_return;
      }
    }
    for (;;) {
      const Next next = co_await serveOne();
      if (next == Next::KeepAlive) continue;
      co_await close(next);
      co_return;
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  using Parser = http::request_parser<http::string_body>;

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void fail(beast::error_code ec, const char* step) {
    if (ctx_.options.log) ctx_.options.log(std::string(step) + ": " + ec.message());
  }

  /** Reads one request, has it judged, answers it. */
  asio::awaitable<Next> serveOne() {
    Parser parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(ctx_.options.max_body);

    // Read the header: also the keep-alive idle wait, hence the same deadline.
    tcp().expires_after(ctx_.options.io_timeout);
    auto [ec, unused] = co_await http::async_read_header(stream_, buffer_, parser, kTuple);
    if (ec) co_return co_await onReadError(ec, parser, /*header_done=*/false);

    // curl and others wait for this before sending a large body.
    if (!parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, 11};
      tcp().expires_after(ctx_.options.io_timeout);
      auto [write_ec, written] = co_await http::async_write(stream_, go_on, kTuple);
      if (write_ec) {
        fail(write_ec, "write 100-continue");
        co_return Next::Abort;
      }
    }

    auto [body_ec, raw] = co_await readBody(parser);
    if (body_ec) co_return co_await onReadError(body_ec, parser, /*header_done=*/true);

    const auto& message = parser.get();
    const bool keep_alive = message.keep_alive();
    if (isStatsRequest(message))
      co_return co_await respond(statsReply(), kNotRecorded, 0, keep_alive);

    ReceivedRequest request = describe(message);
    request.wire_bytes = raw->size();
    const bool count_only =
        !ctx_.options.decompress && !message[http::field::content_encoding].empty();
    auto [plain, refused] = count_only ? BodyDecoder::Decoded{raw, std::nullopt}
                                       : decoder_.decode(message[http::field::content_encoding],
                                                         *raw, ctx_.options.max_body * 16);
    if (!refused) {
      request.body = std::move(*plain);
      request.line_count = count_only ? 0 : countLines(request.body);
    }
    const std::size_t n = ctx_.ledger.recordRequest(request);
    const Reply reply = refused ? std::move(*refused) : judge(request, n);
    // Hand the storage back for the next request; only line_count of `request` is used below.
    if (!refused) *plain = std::move(request.body);

    switch (reply.kind) {
      case Reply::Kind::Respond:
        co_return co_await respond(reply, n, request.line_count, keep_alive);
      case Reply::Kind::CloseMidResponse:
        co_await writePartial(reply.status);
        co_return Next::Abort;
      case Reply::Kind::Hang:
        co_await hang();
        co_return Next::Abort;
      case Reply::Kind::CloseWithoutAnswer:
        co_return Next::Abort;
    }
    co_return Next::Abort;
  }

  /** Reads every byte of the body; @return the error and where the body is.
   *  The usual Content-Length body goes from the socket straight into body_, in reads as
   *  large as the socket has data for; body_ keeps its size between requests, so a steady
   *  stream of similar batches neither reallocates nor zero-fills. Beast's parser would copy
   *  each byte once more, in reads of at most 64 KiB. Chunked bodies still go through it. */
  asio::awaitable<std::pair<beast::error_code, std::string*>> readBody(Parser& parser) {
    const auto length = parser.content_length();
    if (parser.is_done() || parser.chunked() || !length) {
      beast::error_code ec;
      if (!parser.is_done()) {
        tcp().expires_after(ctx_.options.io_timeout);
        std::size_t unused = 0;
        std::tie(ec, unused) = co_await http::async_read(stream_, buffer_, parser, kTuple);
      }
      co_return std::pair{ec, &parser.get().body()};
    }
    body_.resize(static_cast<std::size_t>(*length));  // within max_body: the parser checked
    const std::size_t buffered = std::min(buffer_.size(), body_.size());
    asio::buffer_copy(asio::buffer(body_.data(), buffered), buffer_.data());
    buffer_.consume(buffered);
    if (buffered < body_.size()) {
      tcp().expires_after(ctx_.options.io_timeout);
      auto rest = asio::buffer(body_.data() + buffered, body_.size() - buffered);
      auto [ec, got] = co_await asio::async_read(stream_, rest, ReadAll{}, kTuple);
      if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
        ec = http::error::partial_message;
      if (ec) co_return std::pair{ec, &body_};
    }
    co_return std::pair{beast::error_code{}, &body_};
  }

  asio::awaitable<Next> onReadError(beast::error_code ec, Parser& parser, bool header_done) {
    // Expected ends of a keep-alive connection: the client closed between requests (TLS
    // clients often skip close_notify), or it stayed idle past io_timeout.
    if (!header_done && ec == http::error::end_of_stream) co_return Next::Close;
    if (!header_done && ec == ssl::error::stream_truncated) co_return Next::Abort;
    if (!header_done && ec == beast::error::timeout) co_return Next::Close;
    if (ec == http::error::body_limit) {
      // Content-Length over max_body (or a chunked body growing past it): refuse, then close,
      // since the rest of the body is still in flight and cannot be skipped reliably.
      ReceivedRequest request = describe(parser.get());
      request.wire_bytes = parser.get().body().size();
      const std::size_t n = ctx_.ledger.recordRequest(request);
      const Next next = co_await respond(refusal(413, "body over max_body"), n, 0, false);
      co_return next == Next::Abort ? Next::Abort : Next::Linger;
    }
    const bool client_left = ec == http::error::partial_message || ec == http::error::end_of_stream;
    if (!client_left &&
        ec.category() == http::make_error_code(http::error::bad_method).category()) {
      // A malformed request: say so and close, the stream cannot be resynchronised.
      const auto status = ec == http::error::header_limit ? 431 : 400;
      const Next next = co_await respond(refusal(status, ec.message()), kNotRecorded, 0, false);
      co_return next == Next::Abort ? Next::Abort : Next::Linger;
    }
    fail(ec, header_done ? "read body" : "read header");
    co_return Next::Abort;
  }

  Reply judge(const ReceivedRequest& request, std::size_t n) {
    const auto script = ctx_.ledger.script();
    if (!script) return Reply{};
    try {
      return (*script)(request, n);
    } catch (const std::exception& e) {
      // A throwing script is a test bug: answer 500 so the client side shows it too.
      if (ctx_.options.log) ctx_.options.log(std::string("script: ") + e.what());
      return refusal(500, "script threw");
    }
  }

  bool isStatsRequest(const http::request_header<>& header) const {
    const auto& path = ctx_.options.stats_target;
    if (path.empty() || header.method() != http::verb::get) return false;
    const auto target = header.target();
    return target.substr(0, target.find('?')) == path;
  }

  Reply statsReply() const {
    Reply reply;
    reply.body = toJson(ctx_.ledger.stats());
    reply.headers.emplace("Content-Type", "application/json");
    return reply;
  }

  /** A peer that closed during a delayed answer never sees it, so it must not count. */
  bool peerClosed() {
    char probe = 0;
    const auto got = ::recv(tcp().socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  asio::awaitable<Next> respond(const Reply& reply, std::size_t n, std::size_t lines,
                                bool keep_alive) {
    if (reply.delay.count() > 0) {
      asio::steady_timer timer(stream_.get_executor(), reply.delay);
      co_await timer.async_wait(kTuple);
      if (peerClosed()) co_return Next::Abort;
    }
    const int status = reply.status >= 100 && reply.status <= 999 ? reply.status : 500;
    http::response<http::string_body> response;
    response.version(11);
    response.result(static_cast<unsigned>(status));
    response.set(http::field::server, "audit-replay-sink");
    for (const auto& [name, value] : reply.headers) response.set(name, value);
    if (!reply.body.empty() && response.find(http::field::content_type) == response.end())
      response.set(http::field::content_type, "text/plain");
    response.body() = reply.body;
    if (!keep_alive) response.keep_alive(false);
    response.prepare_payload();
    // Counted before the write completes so that a client holding its 2xx always finds the
    // events counted (the completion runs after the client may already have read it).
    if (n != kNotRecorded) ctx_.ledger.recordAnswer(n, status, lines);
    tcp().expires_after(ctx_.options.io_timeout);
    auto [ec, written] = co_await http::async_write(stream_, response, kTuple);
    if (ec) {
      fail(ec, "write response");
      co_return Next::Abort;
    }
    co_return response.keep_alive() ? Next::KeepAlive : Next::Close;
  }

  /** A status line and headers promising 100 bytes, then 10 of them. */
  asio::awaitable<void> writePartial(int status) {
    const auto reason = http::obsolete_reason(static_cast<http::status>(status));
    const std::string partial = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                                "\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" +
                                "0123456789";
    tcp().expires_after(ctx_.options.io_timeout);
    auto [ec, written] = co_await asio::async_write(stream_, asio::buffer(partial), kTuple);
    if (ec) fail(ec, "write partial response");
  }

  /** Never answers: waits, with no deadline, until the client closes or the receiver stops
   *  (stop() destroys this coroutine with its socket). Bytes that arrive are discarded. */
  asio::awaitable<void> hang() {
    tcp().expires_never();
    std::array<char, 4096> scratch;
    for (;;) {
      auto [ec, got] = co_await tcp().async_read_some(asio::buffer(scratch), kTuple);
      if (ec) co_return;
    }
  }

  asio::awaitable<void> close(Next how) {
    beast::error_code ignored;  // the peer may already be gone; nothing is left to do then
    if (how == Next::Close) {
      if constexpr (kTls) {
        tcp().expires_after(
            std::min<std::chrono::milliseconds>(ctx_.options.io_timeout, kShutdownTime));
        // Errors ignored: many clients close without answering close_notify.
        co_await stream_.async_shutdown(kTuple);
      } else {
        tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      }
    } else if (how == Next::Linger) {
      tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      tcp().expires_after(kLingerTime);
      std::array<char, 16384> scratch;
      for (;;) {
        auto [ec, got] = co_await tcp().async_read_some(asio::buffer(scratch), kTuple);
        if (ec) break;
      }
    } else {
      tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    tcp().close();
  }

  SessionContext ctx_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string body_;  // raw body storage of Content-Length bodies, reused across requests
  BodyDecoder decoder_;
};

}  // namespace

asio::awaitable<void> servePlain(tcp::socket socket, SessionContext ctx) {
  Session<beast::tcp_stream> session(ctx, std::move(socket));
  co_await session.run();
}

asio::awaitable<void> serveTls(tcp::socket socket, ssl::context& tls, SessionContext ctx) {
  Session<beast::ssl_stream<beast::tcp_stream>> session(ctx, std::move(socket), tls);
  co_await session.run();
}

}  // namespace audit::sink::detail
