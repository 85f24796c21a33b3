#include "daemon/control_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <filesystem>

#include "daemon/raw_ingest.hpp"

namespace audit::daemon {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;
using asio::local::stream_protocol;

namespace {
json::object errorAnswer(int code, std::string message) {
  json::object o;
  o["ok"] = false;
  o["code"] = code;
  o["error"] = std::move(message);
  return o;
}

// True when `v` holds a double that is not finite. Depth is bounded by max_depth (64).
bool hasNonFinite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return !std::isfinite(v.get_double());
    case json::kind::array:
      return std::any_of(v.get_array().begin(), v.get_array().end(),
                         [](const json::value& item) { return hasNonFinite(item); });
    case json::kind::object:
      return std::any_of(v.get_object().begin(), v.get_object().end(),
                         [](const json::key_value_pair& kv) { return hasNonFinite(kv.value()); });
    default:
      return false;
  }
}

// True when a live process accepts connections on `path` (so we must not replace it).
bool someoneListens(const std::string& path) {
  asio::io_context probe;
  stream_protocol::socket s(probe);
  boost::system::error_code ec;
  s.connect(stream_protocol::endpoint(path), ec);
  return !ec;
}
}  // namespace

bool parseRequestLine(std::string_view line, json::object& request, json::object& error_answer) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;  // deep nesting is refused, not recursed into
  json::value v = json::parse(line, ec, {}, options);
  if (ec) {
    error_answer = errorAnswer(400, "invalid JSON: " + ec.message());
    return false;
  }
  if (!v.is_object()) {
    error_answer = errorAnswer(400, "a request is a JSON object with an \"op\"");
    return false;
  }
  // Boost.JSON 1.81 reads a number beyond the double range (1e400) as infinity and writes it
  // back as `Infinity`, which is not JSON: an `ingest` of such an `events` object would be
  // stored re-serialised and then refused as "invalid JSON" for text the client never sent.
  if (hasNonFinite(v)) {
    error_answer = errorAnswer(400, "a number in the request is out of range (beyond 1.8e308)");
    return false;
  }
  request = std::move(v.as_object());
  return true;
}

ControlServer::ControlServer(asio::any_io_executor executor, ControlApi& api)
    : executor_(std::move(executor)), api_(api), acceptor_(executor_) {}

std::shared_ptr<ControlServer> ControlServer::create(asio::any_io_executor executor,
                                                     const config::ControlSettings& settings,
                                                     ControlApi& api, int activated_fd,
                                                     std::string* error) {
  std::shared_ptr<ControlServer> server(new ControlServer(executor, api));
  boost::system::error_code ec;
  if (activated_fd >= 0) {
    server->acceptor_.assign(stream_protocol(), activated_fd, ec);
    if (ec) {
      *error = "cannot use the socket passed by systemd: " + ec.message();
      return nullptr;
    }
    return server;
  }
  const std::string path = settings.socket.string();
  std::filesystem::create_directories(settings.socket.parent_path(), ec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = "control.socket " + path + " exists and is not a socket";
      return nullptr;
    }
    if (someoneListens(path)) {
      *error = "control.socket " + path + " is in use by a running audit-replayd";
      return nullptr;
    }
    ::unlink(path.c_str());  // stale: left by a daemon that did not stop cleanly
  }
  server->acceptor_.open(stream_protocol(), ec);
  if (!ec) server->acceptor_.bind(stream_protocol::endpoint(path), ec);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on control.socket " + path + ": " + ec.message();
    return nullptr;
  }
  if (::chmod(path.c_str(), settings.socket_mode) != 0) {
    *error = "cannot set the mode of control.socket " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  server->path_ = path;
  return server;
}

void ControlServer::start() {
  asio::co_spawn(executor_, acceptLoop(), asio::detached);
}

void ControlServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;  // closing is best effort at shutdown
  acceptor_.close(ignored);
  for (auto& socket : connections_) socket->close(ignored);
  connections_.clear();
  if (!path_.empty()) ::unlink(path_.c_str());
}

asio::awaitable<void> ControlServer::acceptLoop() {
  auto self = shared_from_this();
  while (!stopped_) {
    auto socket = std::make_shared<Socket>(executor_);
    auto [ec] = co_await acceptor_.async_accept(*socket, as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || stopped_) break;
    if (ec) {
      // EMFILE and friends: keep serving the connections we have.
      spdlog::warn("control socket accept failed: {}", ec.message());
      continue;
    }
    connections_.insert(socket);
    asio::co_spawn(executor_, serve(socket), asio::detached);
  }
}

asio::awaitable<void> ControlServer::serve(std::shared_ptr<Socket> socket) {
  auto self = shared_from_this();
  std::string buffer;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(
        *socket, asio::dynamic_buffer(buffer, kMaxLine + 1), '\n', as_tuple(use_awaitable));
    json::object answer;
    bool close_after = false;
    if (ec == asio::error::not_found) {
      answer = errorAnswer(413, "request line over 16 MiB");
      close_after = true;
    } else if (ec) {
      break;  // the client went away (eof) or we are stopping
    } else {
      std::string_view line(buffer.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      json::object request;
      bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
      if (blank) {
        buffer.erase(0, n);
        continue;
      }
      const bool parsed = parseRequestLine(line, request, answer);
      if (parsed && isRawIngest(request)) {
        buffer.erase(0, n);  // raw events follow the line (daemon/raw_ingest.hpp)
        answer = co_await serveRawIngest(*socket, buffer, std::move(request), api_, &close_after);
      } else if (parsed) {
        buffer.erase(0, n);
        answer = co_await api_.execute(std::move(request));
      } else {
        buffer.erase(0, n);
      }
    }
    std::string out = json::serialize(answer);
    out.push_back('\n');
    auto [wec, written] =
        co_await asio::async_write(*socket, asio::buffer(out), as_tuple(use_awaitable));
    if (wec || close_after || stopped_) break;
  }
  boost::system::error_code ignored;  // the peer may already be gone
  socket->close(ignored);
  connections_.erase(socket);
}

}  // namespace audit::daemon
