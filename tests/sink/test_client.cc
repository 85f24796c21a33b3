#include "tests/sink/test_client.hpp"

#include <libdeflate.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <stdexcept>

namespace audit::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

ClientResponse failed(boost::system::error_code ec, std::string step) {
  ClientResponse response;
  response.error = ec;
  response.step = std::move(step);
  return response;
}

}  // namespace

struct TestClient::Impl {
  explicit Impl(ClientOptions opts) : options(std::move(opts)) {
    tls.set_verify_mode(ssl::verify_peer);
    if (options.ca_file)
      tls.load_verify_file(options.ca_file->string());
    else
      tls.set_default_verify_paths();
  }

  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  bool connected() const { return plain || secure; }
  void drop() {
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  asio::awaitable<ClientResponse> connectOp() {
    drop();
    beast::tcp_stream stream(io);
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), options.port);
    stream.expires_after(options.timeout);
    auto [ec] = co_await stream.async_connect(endpoint, kTuple);
    if (ec) co_return failed(ec, "connect");
    if (!options.tls) {
      plain = std::make_unique<beast::tcp_stream>(std::move(stream));
      co_return ClientResponse{};
    }
    auto tls_stream =
        std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(stream), tls);
    SSL_set_tlsext_host_name(tls_stream->native_handle(), options.host_name.c_str());
    tls_stream->set_verify_callback(ssl::host_name_verification(options.host_name));
    beast::get_lowest_layer(*tls_stream).expires_after(options.timeout);
    std::tie(ec) = co_await tls_stream->async_handshake(ssl::stream_base::client, kTuple);
    if (ec) co_return failed(ec, "handshake");
    secure = std::move(tls_stream);
    co_return ClientResponse{};
  }

  template <class Stream>
  asio::awaitable<ClientResponse> exchange(Stream& stream, const Request& request) {
    tcp().expires_after(options.timeout);
    auto [ec, unused] = co_await http::async_write(stream, request, kTuple);
    if (ec) co_return failed(ec, "write");
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    tcp().expires_after(options.timeout);
    std::tie(ec, unused) = co_await http::async_read(stream, buffer, parser, kTuple);
    if (ec) co_return failed(ec, "read");
    const auto& message = parser.get();
    ClientResponse response;
    response.status = static_cast<int>(message.result_int());
    response.body = message.body();
    for (const auto& field : message)
      response.headers[std::string(field.name_string())] = field.value();
    response.keep_alive = message.keep_alive();
    co_return response;
  }

  asio::awaitable<ClientResponse> sendOp(const Request& request) {
    if (!connected() || !reusable) {
      auto connected_now = co_await connectOp();
      if (!connected_now.ok()) co_return connected_now;
    }
    // Not a ?: of two co_awaits: GCC 12 destroys the result of such an expression twice.
    ClientResponse response;
    if (secure)
      response = co_await exchange(*secure, request);
    else
      response = co_await exchange(*plain, request);
    if (!response.ok()) drop();
    reusable = response.ok() && response.keep_alive;
    co_return response;
  }

  template <class Stream>
  asio::awaitable<bool> closesWithin(Stream& stream, std::chrono::milliseconds within) {
    tcp().expires_after(within);
    char scratch[512];
    auto [ec, got] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
    co_return ec&& ec != beast::error::timeout;
  }

  ClientOptions options;
  asio::io_context io;  // declared before the streams: they must go first
  ssl::context tls{ssl::context::tls_client};
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool reusable = true;
};

TestClient::TestClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

TestClient::~TestClient() = default;

ClientResponse TestClient::send(const Request& request) {
  return runToCompletion(impl_->io, impl_->sendOp(request));
}

ClientResponse TestClient::post(const std::string& target, std::string body, bool gzip) {
  return send(makePost(target, std::move(body), gzip));  // the temporary outlives the call
}

ClientResponse TestClient::get(const std::string& target) {
  Request request{http::verb::get, target, 11};
  request.set(http::field::host, "localhost");
  return send(request);
}

boost::system::error_code TestClient::connect() {
  return runToCompletion(impl_->io, impl_->connectOp()).error;
}

bool TestClient::serverClosesWithin(std::chrono::milliseconds within) {
  if (!impl_->connected()) return true;
  const bool closed = impl_->secure
                          ? runToCompletion(impl_->io, impl_->closesWithin(*impl_->secure, within))
                          : runToCompletion(impl_->io, impl_->closesWithin(*impl_->plain, within));
  if (closed) impl_->drop();
  return closed;
}

void TestClient::close() {
  impl_->drop();
}

TestClient::Request makePost(const std::string& target, std::string body, bool gzip) {
  TestClient::Request request{http::verb::post, target, 11};
  request.set(http::field::host, "localhost");
  request.set(http::field::content_type, "text/plain");
  if (gzip) {
    request.set(http::field::content_encoding, "gzip");
    body = gzipCompress(body);
  }
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

std::string gzipCompress(const std::string& plain) {
  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> compressor(
      libdeflate_alloc_compressor(1), libdeflate_free_compressor);
  if (!compressor) throw std::bad_alloc();
  std::string out(libdeflate_gzip_compress_bound(compressor.get(), plain.size()), '\0');
  const std::size_t size = libdeflate_gzip_compress(compressor.get(), plain.data(), plain.size(),
                                                    out.data(), out.size());
  if (size == 0) throw std::runtime_error("gzip: output bound too small");
  out.resize(size);
  return out;
}

}  // namespace audit::testing
