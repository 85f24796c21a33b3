#pragma once
// A minimal keep-alive HTTP/1.1 client (plain or TLS) for the receiver's tests, written with
// the same coroutines as the product but driven synchronously: each call runs a private
// io_context until the exchange ends. Every step has a deadline, so every call returns.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace audit::testing {

struct ClientOptions {
  std::uint16_t port = 0;
  bool tls = false;
  std::optional<std::filesystem::path> ca_file;  // TLS: trust this CA (else the system store)
  std::string host_name = "localhost";           // TLS: SNI and the name verified
  std::chrono::milliseconds timeout{5000};       // each connect/handshake/write/read step
};

struct ClientResponse {
  boost::system::error_code error;  // the failed step's error; then `step` names it
  std::string step;
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  bool keep_alive = false;

  bool ok() const { return !error; }
};

class TestClient {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  explicit TestClient(ClientOptions options);
  ~TestClient();

  /** Sends `request` on the kept connection (connecting first when there is none) and reads
   *  one response. On an error the connection is dropped; the next call reconnects. */
  ClientResponse send(const Request& request);
  ClientResponse post(const std::string& target, std::string body, bool gzip = false);
  ClientResponse get(const std::string& target);

  /** Connects (and handshakes) now. */
  boost::system::error_code connect();
  /** Whether the server closes the kept connection within `within` (reads expecting EOF). */
  bool serverClosesWithin(std::chrono::milliseconds within);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/** Builds a POST with Content-Type text/plain (and Content-Encoding: gzip when `gzip`). */
TestClient::Request makePost(const std::string& target, std::string body, bool gzip);

/** gzip of `plain` at libdeflate level 1, as the daemon sends it. */
std::string gzipCompress(const std::string& plain);

/** Runs `op` on `io` until it finishes; rethrows what it threw. Steps inside need deadlines. */
template <class T>
T runToCompletion(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    failure = e;
    result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

}  // namespace audit::testing
