#include "api/control_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <filesystem>
#include <vector>

#include "api/raw_ingest.hpp"

namespace audit::api {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;
using asio::local::stream_protocol;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;

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

// The configured cap, lowered so that the descriptor limit keeps kReservedDescriptors for
// the store and the rest of the daemon (never below a handful: the CLI must get in).
std::size_t connectionCap(std::size_t configured) {
  constexpr std::size_t kFloor = 4;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return configured;
  const auto soft = static_cast<std::size_t>(rl.rlim_cur);
  const std::size_t room =
      soft > ControlServer::kReservedDescriptors ? soft - ControlServer::kReservedDescriptors : 0;
  const std::size_t cap = std::max(kFloor, std::min(configured, room));
  if (cap < configured) {
    spdlog::warn(
        "control.max_connections lowered from {} to {}: the descriptor limit is {} and {} are "
        "kept for the store (raise LimitNOFILE to serve more)",
        configured, cap, soft, ControlServer::kReservedDescriptors);
  }
  return cap;
}

// Accept errors that mean "no descriptor or memory right now": wait for some to be freed.
bool isResourceShortage(const boost::system::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == boost::system::errc::no_buffer_space || ec == boost::system::errc::not_enough_memory;
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

ControlServer::ControlServer(asio::any_io_executor executor,
                             const config::ControlSettings& settings, ControlApi& api)
    : executor_(std::move(executor)),
      api_(api),
      acceptor_(executor_),
      accept_backoff_(executor_),
      max_connections_(connectionCap(settings.max_connections)),
      idle_timeout_(settings.idle_timeout),
      max_buffered_(settings.max_buffered) {}

Expected<std::shared_ptr<ControlServer>> ControlServer::create(
    asio::any_io_executor executor, const config::ControlSettings& settings, ControlApi& api,
    int activated_fd) {
  std::shared_ptr<ControlServer> server(new ControlServer(executor, settings, api));
  boost::system::error_code ec;
  if (activated_fd >= 0) {
    server->acceptor_.assign(stream_protocol(), activated_fd, ec);
    if (ec) {
      return Failure{"cannot use the socket passed by systemd: " + ec.message()};
    }
    return server;
  }
  const std::string path = settings.socket.string();
  std::filesystem::create_directories(settings.socket.parent_path(), ec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Failure{"control.socket " + path + " exists and is not a socket"};
    }
    if (someoneListens(path)) {
      return Failure{"control.socket " + path + " is in use by a running audit-replayd"};
    }
    ::unlink(path.c_str());  // stale: left by a daemon that did not stop cleanly
  }
  server->acceptor_.open(stream_protocol(), ec);
  if (!ec) server->acceptor_.bind(stream_protocol::endpoint(path), ec);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Failure{"cannot listen on control.socket " + path + ": " + ec.message()};
  }
  if (::chmod(path.c_str(), settings.socket_mode) != 0) {
    return Failure{"cannot set the mode of control.socket " + path + ": " + std::strerror(errno)};
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
  accept_backoff_.cancel();
  for (auto& socket : connections_) socket->close(ignored);
  connections_.clear();
  if (!path_.empty()) ::unlink(path_.c_str());
}

asio::awaitable<void> ControlServer::acceptLoop() {
  using namespace std::chrono_literals;
  auto self = shared_from_this();
  std::size_t failures = 0;  // failed accepts in the current episode
  auto delay = 50ms;
  while (!stopped_) {
    auto [ec, accepted] = co_await acceptor_.async_accept(as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || stopped_) break;
    if (ec) {
      // Out of descriptors (EMFILE, ENFILE) or memory: accepting again at once would spin
      // the loop and flood the log. Pause with a growing delay and say so once per episode;
      // the connections we have keep being served and closing them frees descriptors.
      if (failures++ == 0) {
        spdlog::warn("control socket: accept failed: {}; pausing accepts until it succeeds{}",
                     ec.message(), isResourceShortage(ec) ? " (raise LimitNOFILE?)" : "");
        delay = 50ms;
      } else {
        delay = std::min<std::chrono::milliseconds>(delay * 2, 1s);
      }
      accept_backoff_.expires_after(delay);
      co_await accept_backoff_.async_wait(as_tuple(use_awaitable));
      continue;
    }
    if (failures > 0) {
      spdlog::info("control socket: accepting again after {} failed attempts", failures);
      failures = 0;
    }
    auto socket = std::make_shared<Socket>(std::move(accepted));
    if (connections_.size() >= max_connections_) {
      if (!refusing_logged_) {
        spdlog::warn(
            "control socket: {} connections open (control.max_connections); refusing "
            "more with 503 until some close",
            connections_.size());
        refusing_logged_ = true;
      }
      // A short line into an empty socket buffer: written at once or not at all.
      static const std::string kBusy =
          json::serialize(errorAnswer(503, "too many control connections; try again")) + "\n";
      boost::system::error_code ignored;  // the refused client may already be gone
      socket->non_blocking(true, ignored);
      socket->write_some(asio::buffer(kBusy), ignored);
      socket->close(ignored);
      continue;
    }
    if (refusing_logged_ && connections_.size() < max_connections_ / 2) refusing_logged_ = false;
    connections_.insert(socket);
    asio::co_spawn(executor_, serve(socket), asio::detached);
  }
}

asio::awaitable<void> ControlServer::serve(std::shared_ptr<Socket> socket) {
  auto self = shared_from_this();
  std::string buffer;
  std::size_t scanned = 0;  // bytes of `buffer` known to hold no '\n'
  std::size_t held = 0;     // this connection's share of buffered_
  // The line being executed still counts: executing a request takes a multiple of its size
  // (an ingest of many small events about ten times), so max_buffered bounds that too.
  std::size_t executing = 0;
  auto account = [&] {
    buffered_ = buffered_ - held + buffer.size() + executing;
    held = buffer.size() + executing;
  };
  // Closes the connection when it sits idle (no byte in, or a reply not taken) too long.
  asio::steady_timer idle(executor_);
  auto arm = [&] {
    idle.expires_after(idle_timeout_);
    idle.async_wait([socket](const boost::system::error_code& ec) {
      if (ec) return;                     // canceled: the connection moved on
      boost::system::error_code ignored;  // closing an idle connection is best effort
      socket->close(ignored);
    });
  };
  std::vector<char> chunk(kReadChunk);
  for (;;) {
    json::object answer;
    bool close_after = false;
    const std::size_t nl = buffer.find('\n', scanned);
    if (nl == std::string::npos) {
      scanned = buffer.size();
      if (buffer.size() > kMaxLine) {
        answer = errorAnswer(413, "request line over 16 MiB");
        close_after = true;
      } else {
        arm();
        auto [ec, n] =
            co_await socket->async_read_some(asio::buffer(chunk), as_tuple(use_awaitable));
        idle.cancel();
        if (ec) break;  // the client went away (eof), sat idle, or we are stopping
        if (buffered_ + n > max_buffered_) {
          if (!budget_logged_) {
            spdlog::warn(
                "control socket: unfinished request lines hold {} bytes "
                "(control.max_buffered); closing connections that would add more",
                buffered_);
            budget_logged_ = true;
          }
          answer = errorAnswer(503, "the daemon holds too much unfinished input; try again");
          close_after = true;
        } else {
          buffer.append(chunk.data(), n);
          account();
          continue;
        }
      }
    } else {
      std::string_view line(buffer.data(), nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      json::object request;
      const bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
      const bool parsed = !blank && parseRequestLine(line, request, answer);
      executing = parsed ? line.size() : 0;
      buffer.erase(0, nl + 1);
      // A connection that sent one large line does not keep its capacity while idle.
      if (buffer.empty() && buffer.capacity() > kReadChunk * 16) std::string().swap(buffer);
      scanned = 0;
      account();
      if (budget_logged_ && buffered_ < max_buffered_ / 2) budget_logged_ = false;
      if (blank) continue;
      if (parsed && stream_handler_ && !stopped_) {
        const json::value* op = request.if_contains("op");
        if (op != nullptr && op->is_string() && op->as_string() == stream_op_) {
          bool usable = co_await stream_handler_(std::move(request), *socket);
          executing = 0;
          account();
          if (!usable || stopped_) break;
          continue;
        }
      }
      if (parsed && isRawIngest(request)) {
        // Raw events follow the line (api/raw_ingest.hpp), bounded by their own limit.
        answer = co_await serveRawIngest(*socket, buffer, std::move(request), api_, &close_after);
        account();
      } else if (parsed) {
        answer = co_await api_.execute(std::move(request));
      }
      executing = 0;
      account();
    }
    std::string out = json::serialize(answer);
    out.push_back('\n');
    arm();
    auto [wec, written] =
        co_await asio::async_write(*socket, asio::buffer(out), as_tuple(use_awaitable));
    idle.cancel();
    if (wec || close_after || stopped_) break;
  }
  buffer.clear();
  executing = 0;
  account();
  boost::system::error_code ignored;  // the peer may already be gone
  socket->close(ignored);
  connections_.erase(socket);
}

}  // namespace audit::api
