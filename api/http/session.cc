#include "api/http/session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <string>
#include <type_traits>

#include "api/http/ingest_route.hpp"
#include "api/http/routes.hpp"

namespace audit::api::http {
namespace {

namespace net = boost::asio;
using boost::system::error_code;
using net::awaitable;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

constexpr std::size_t kReadChunk = 4096;
/** The most Beast reads of a body at once. */
constexpr std::size_t kBodyReadChunk = 64 * 1024;
/** Bounds on draining a closing connection: enough for a rejected 64 KiB body and a bit. */
constexpr std::size_t kDrainLimit = 1 << 20;
constexpr std::chrono::milliseconds kDrainTimeout{1000};

namespace ssl = net::ssl;

template <class Stream>
Stream makeStream(net::ip::tcp::socket socket, ssl::context* tls) {
  if constexpr (std::is_same_v<Stream, boost::beast::tcp_stream>) {
    (void)tls;
    return Stream(std::move(socket));
  } else {
    return Stream(boost::beast::tcp_stream(std::move(socket)), *tls);
  }
}

std::string_view pathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

/** Ends of a connection that are routine, not worth more than a trace line. */
bool isRoutineEnd(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
         ec == net::error::eof || ec == boost::beast::error::timeout ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == net::error::bad_descriptor || ec == net::error::broken_pipe;
}

/** True when answering `status` on `route` means the request passed the token check. */
bool provesToken(std::string_view route, unsigned status) {
  // Open routes (and unknown paths, answered before any check) prove nothing.
  if (route == "/healthz" || route == "/v2/audit-log-webhook/jwks.json" || route == "/metrics" ||
      route == "other") {
    return false;
  }
  return status != 401 && status != 403;
}

}  // namespace

void SessionRegistry::add(const std::shared_ptr<SessionBase>& session, bool refusing) {
  sessions_[session.get()] = Entry{session, refusing};
  ++(refusing ? refusing_ : serving_);
}

void SessionRegistry::remove(const SessionBase* session) {
  const auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  --(it->second.refusing ? refusing_ : serving_);
  sessions_.erase(it);
}

void SessionRegistry::closeAll() {
  // close() doesn't re-enter remove(): the coroutines resume later, from the loop.
  for (auto& [key, entry] : sessions_) {
    if (auto session = entry.session.lock()) session->close();
  }
}

template <class Stream>
BasicSession<Stream>::BasicSession(net::ip::tcp::socket socket, Shared shared,
                                   std::shared_ptr<void> owner, std::shared_ptr<ssl::context> tls)
    : tls_(std::move(tls)),
      stream_(makeStream<Stream>(std::move(socket), tls_.get())),
      shared_(shared),
      owner_(std::move(owner)) {}

template <class Stream>
void BasicSession<Stream>::close() {
  error_code ignored;  // the socket may already be closed by the peer; closing is the goal
  tcp().socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  tcp().close();
}

template <class Stream>
awaitable<void> BasicSession<Stream>::serve() {
  const auto self = this->shared_from_this();
  struct Unregister {
    BasicSession* session;
    ~Unregister() {
      session->shared_.registry.remove(session);
      if (session->shared_.clients != nullptr) session->shared_.clients->closed(session);
      session->shared_.counters.connectionClosed();
    }
  } unregister{this};
  shared_.counters.connectionOpened();
  ClientLimits* const clients = shared_.clients;
  if (!co_await handshake(Clock::now() + shared_.limits.request_timeout)) co_return;

  // A new connection must deliver its whole first request within request_timeout of
  // opening; a kept-alive one may idle for idle_timeout, then has request_timeout from the
  // next request's first byte.
  auto deadline = Clock::now() + shared_.limits.request_timeout;
  for (bool fresh = true;; fresh = false) {
    // Until it shows a valid token, a kept-alive connection may idle only briefly.
    const bool proven = clients == nullptr || clients->proven(this);
    const auto idle_for =
        proven ? shared_.limits.idle_timeout
               : std::min(shared_.limits.idle_timeout, shared_.limits.unproven_idle_timeout);
    if (clients != nullptr && !fresh) clients->setIdle(this, true);
    if (!co_await awaitRequestStart(fresh ? deadline : Clock::now() + idle_for)) {
      co_return;
    }
    if (clients != nullptr) clients->setIdle(this, false);
    const auto started = Clock::now();
    if (!fresh) deadline = started + shared_.limits.request_timeout;
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(shared_.limits.header_limit));
    // Beast checks Content-Length against the limit while reading the header, before the
    // route is known: start from the larger limit, readRequest() narrows it per route.
    parser.body_limit(std::max(shared_.limits.body_limit, shared_.limits.ingest_body_limit));
    if (const auto ec = co_await readRequest(parser, deadline)) {
      co_await answerUnreadable(ec, parser);
      co_return;
    }
    Request request = parser.release();
    RequestHandler::Result result = co_await shared_.handler.handle(request);
    Response& response = result.response;
    if (clients != nullptr && provesToken(result.route, response.result_int())) {
      clients->setProven(this);
    }
    const bool keep_alive = request.keep_alive() && !shared_.stopping;
    response.keep_alive(keep_alive);
    const auto write_ec = co_await write(response);
    shared_.counters.countRequest(result.route, response.result_int());
    finish(request.method_string(), request.target(), response.result_int(), started,
           result.request_id);
    if (write_ec) {
      if (!isRoutineEnd(write_ec)) spdlog::debug("http: write failed: {}", write_ec.message());
      co_return;
    }
    if (!keep_alive) {
      error_code ignored;  // the client may be gone already; the socket closes either way
      tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
      co_return;
    }
    // An idle kept-alive connection holds no body-sized buffer.
    if (buffer_.size() == 0 && buffer_.capacity() > kReadChunk) buffer_.shrink_to_fit();
  }
}

template <class Stream>
awaitable<void> BasicSession<Stream>::refuse() {
  const auto self = this->shared_from_this();
  struct Unregister {
    BasicSession* session;
    ~Unregister() { session->shared_.registry.remove(session); }
  } unregister{this};
  shared_.counters.connectionRejected();

  // Read the request first (briefly) so the 503 names it and closing doesn't reset a
  // connection with unread data, which could make the client miss the answer.
  const auto started = Clock::now();
  const auto budget = std::min<std::chrono::milliseconds>(shared_.limits.request_timeout,
                                                          std::chrono::milliseconds(2000));
  if (!co_await handshake(started + budget)) co_return;
  Parser parser;
  parser.header_limit(static_cast<std::uint32_t>(shared_.limits.header_limit));
  tcp().expires_after(budget);
  const auto [read_ec, read_n] =
      co_await bhttp::async_read_header(stream_, buffer_, parser, kTuple);
  if (read_ec && isRoutineEnd(read_ec)) co_return;
  const std::string_view target = parser.get().target();
  const std::string request_id = newRequestId();
  Response response = problemResponse(503, "too many connections; try again shortly", request_id);
  response.set(bhttp::field::retry_after, "1");
  response.keep_alive(false);
  if (const auto ec = co_await write(response); !ec) co_await lingeringClose();
  shared_.counters.countRequest(matchRoute(pathOf(target)).name, 503);
  finish(parser.get().method_string(), target, 503, started, request_id);
}

template <class Stream>
awaitable<bool> BasicSession<Stream>::awaitRequestStart(Clock::time_point deadline) {
  if (buffer_.size() > 0) co_return true;  // a pipelined request is already here
  tcp().expires_at(deadline);
  const auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), kTuple);
  if (ec) {
    if (!isRoutineEnd(ec)) spdlog::debug("http: read failed: {}", ec.message());
    co_return false;
  }
  buffer_.commit(n);
  co_return true;
}

template <class Stream>
awaitable<error_code> BasicSession<Stream>::readRequest(Parser& parser,
                                                        Clock::time_point deadline) {
  tcp().expires_at(deadline);
  if (const auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, kTuple);
      ec) {
    co_return ec;
  }
  if (!isIngestRequest(parser.get())) {
    parser.body_limit(shared_.limits.body_limit);  // counts down a chunked body from here
    if (parser.content_length().value_or(0) > shared_.limits.body_limit) {
      co_return bhttp::error::body_limit;
    }
  }
  if (parser.is_done()) co_return error_code{};
  // curl sends `Expect: 100-continue` with larger bodies and waits a second for it.
  if (boost::beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    tcp().expires_at(deadline);
    if (const auto [ec, n] = co_await net::async_write(stream_, net::buffer(kContinue), kTuple);
        ec) {
      co_return ec;
    }
  }
  // Beast reads a body as far as the buffer's free capacity at a time (at least 512 bytes,
  // at most 64 KiB): left at the header's 4 KiB, a 500 KB ingest body takes 130 reads.
  const auto length = parser.content_length();
  buffer_.reserve(buffer_.size() +
                  std::min<std::uint64_t>(length.value_or(kBodyReadChunk), kBodyReadChunk));
  tcp().expires_at(deadline);
  const auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, kTuple);
  co_return ec;
}

template <class Stream>
awaitable<void> BasicSession<Stream>::answerUnreadable(error_code ec, const Parser& parser) {
  unsigned status = 0;
  std::string detail;
  if (ec == bhttp::error::body_limit) {
    status = 413;
    const std::size_t limit = isIngestRequest(parser.get()) ? shared_.limits.ingest_body_limit
                                                            : shared_.limits.body_limit;
    detail = "the request body is over " + std::to_string(limit) + " bytes";
  } else if (ec == bhttp::error::header_limit) {
    status = 431;
    detail = "the request header is over " + std::to_string(shared_.limits.header_limit) + " bytes";
  } else if (isRoutineEnd(ec)) {
    co_return;  // the client left or stalled: nobody to answer
  } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
    status = 400;
    detail = "malformed HTTP request: " + ec.message();
  } else {
    spdlog::debug("http: read failed: {}", ec.message());
    co_return;
  }
  const auto started = Clock::now();
  const std::string_view target = parser.get().target();
  const std::string request_id = newRequestId();
  Response response =
      problemResponse(status, detail, request_id, {{status == 400 ? "request" : "body", detail}});
  response.keep_alive(false);  // the rest of the stream can't be framed any more
  if (const auto write_ec = co_await write(response); !write_ec) co_await lingeringClose();
  shared_.counters.countRequest(matchRoute(pathOf(target)).name, status);
  finish(parser.get().method_string(), target, status, started, request_id);
}

template <class Stream>
awaitable<error_code> BasicSession<Stream>::write(Response& response) {
  tcp().expires_after(shared_.limits.write_timeout);
  const auto [ec, n] = co_await bhttp::async_write(stream_, response, kTuple);
  co_return ec;
}

template <class Stream>
awaitable<void> BasicSession<Stream>::lingeringClose() {
  error_code ignored;  // a peer that already closed is what we want anyway
  tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  std::array<char, kReadChunk> scratch{};
  std::size_t drained = 0;
  tcp().expires_after(std::min(kDrainTimeout, shared_.limits.request_timeout));
  while (drained < kDrainLimit) {
    const auto [ec, n] = co_await stream_.async_read_some(net::buffer(scratch), kTuple);
    if (ec) break;  // EOF (the client read our answer and closed), timeout or reset: done
    drained += n;
  }
  tcp().close();
}

template <class Stream>
void BasicSession<Stream>::finish(std::string_view method, std::string_view target, unsigned status,
                                  Clock::time_point started, std::string_view request_id) {
  // Method, path and status only: headers (Authorization) and the query never reach logs.
  // The id is the one in a problem's `instance` (audit-replay:trace:<id>); an answer that is
  // a problem is logged at info so the operator can find it from what the client saw.
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  spdlog::log(status >= 400 ? spdlog::level::info : spdlog::level::debug,
              "http: {} {} {} {:.3f}ms request_id={}", method, pathOf(target), status,
              static_cast<double>(micros) / 1000.0, request_id);
}

template <class Stream>
awaitable<bool> BasicSession<Stream>::handshake(Clock::time_point deadline) {
  if constexpr (std::is_same_v<Stream, boost::beast::tcp_stream>) {
    (void)deadline;
    co_return true;
  } else {
    tcp().expires_at(deadline);
    const auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, kTuple);
    if (ec) {
      // Scanners and plain-HTTP clients end here; not worth more than a debug line.
      spdlog::debug("http: TLS handshake failed: {}", ec.message());
      co_return false;
    }
    co_return true;
  }
}

template class BasicSession<boost::beast::tcp_stream>;
template class BasicSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace audit::api::http
