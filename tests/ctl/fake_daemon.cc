#include "fake_daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace audit::ctl::test {

namespace json = boost::json;

FakeDaemon::FakeDaemon(Handler handler) : handler_(std::move(handler)) {
  char tmpl[] = "/tmp/ctl-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_path_ = dir_ + "/control.sock";

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("fake daemon setup: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
  char byte = 0;
  [[maybe_unused]] auto n = ::write(stop_pipe_[1], &byte, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);  // best effort: a leftover temp dir harms nothing
}

std::vector<json::object> FakeDaemon::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<json::object> FakeDaemon::requests(std::string_view op) const {
  std::vector<json::object> out;
  for (auto& r : requests()) {
    if (const json::value* v = r.if_contains("op");
        v != nullptr && v->is_string() && v->get_string() == op) {
      out.push_back(r);
    }
  }
  return out;
}

void FakeDaemon::serve() {
  std::map<int, std::string> clients;  // fd → bytes of an unfinished line
  for (;;) {
    std::vector<pollfd> fds{{stop_pipe_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (auto& [fd, _] : clients) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) clients[fd];
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      int fd = fds[i].fd;
      char chunk[65536];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        ::close(fd);
        clients.erase(fd);
        continue;
      }
      std::string& buffer = clients[fd];
      buffer.append(chunk, static_cast<std::size_t>(n));
      for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
        std::string line = buffer.substr(0, nl);
        json::object answer;
        boost::system::error_code ec;
        json::value request = json::parse(line, ec);
        // ingest_raw: `bytes` of raw event lines follow the request line. Recorded and handled
        // in the shape of an ingest op ({"lines": [...]}), so the tests see one kind.
        if (!ec && request.is_object() && request.get_object().contains("bytes") &&
            request.at("op") == "ingest_raw") {
          const auto n = static_cast<std::size_t>(request.at("bytes").to_number<std::int64_t>());
          if (buffer.size() < nl + 1 + n) break;  // the rest has not arrived yet
          const std::string body = buffer.substr(nl + 1, n);
          buffer.erase(0, nl + 1 + n);
          // As the daemon reads a body: a '\r' before '\n' is dropped, blank lines are
          // skipped, and "raw_lines" keeps each event's 1-based line in the body, which is
          // what the daemon's rejections name.
          json::array lines;
          json::array raw_lines;
          std::size_t number = 0;
          for (std::size_t at = 0; at < body.size();) {
            const std::size_t end = std::min(body.find('\n', at), body.size());
            std::string line = body.substr(at, end - at);
            at = end + 1;
            ++number;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.find_first_not_of(" \t") == std::string::npos) continue;
            lines.emplace_back(line);
            raw_lines.emplace_back(number);
          }
          json::object& object = request.get_object();
          object["op"] = "ingest";
          object.erase("bytes");
          object["lines"] = std::move(lines);
          object["raw_lines"] = std::move(raw_lines);
        } else {
          buffer.erase(0, nl + 1);
        }
        if (ec || !request.is_object()) {
          answer = errorAnswer(400, "malformed request");
        } else {
          {
            std::lock_guard lock(mutex_);
            requests_.push_back(request.get_object());
          }
          answer = handler_(request.get_object());
        }
        if (answer.contains("__hang_up")) {
          ::close(fd);
          clients.erase(fd);
          break;
        }
        std::string out = json::serialize(answer) + "\n";
        for (std::size_t done = 0; done < out.size();) {
          ssize_t w = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
          if (w <= 0) break;
          done += static_cast<std::size_t>(w);
        }
      }
    }
  }
  for (auto& [fd, _] : clients) ::close(fd);
}

json::object okAnswer(json::object fields) {
  json::object out{{"ok", true}, {"code", 200}};
  for (auto& [k, v] : fields) out[k] = v;
  return out;
}

json::object hangUp() {
  return {{"__hang_up", true}};
}

json::object errorAnswer(int code, std::string_view message) {
  return {{"ok", false}, {"code", code}, {"error", message}};
}

json::object jobObject(std::string_view region, std::string_view status, std::uint64_t sent,
                       std::uint64_t total, std::string_view id) {
  json::object job{{"id", id},
                   {"region", region},
                   {"start_at", "2026-11-20T20:00:00Z"},
                   {"end_at", "2026-11-21T20:00:00Z"},
                   {"created_at", "2026-11-24T11:34:18Z"},
                   {"updated_at", "2026-11-24T11:34:19Z"},
                   {"status", status},
                   {"progress",
                    {{"events_total", total},
                     {"events_sent", sent},
                     {"batches_sent", sent / 1000},
                     {"bytes_sent", sent * 640},
                     {"last_event_at", nullptr}}},
                   {"error", nullptr}};
  return job;
}

}  // namespace audit::ctl::test
