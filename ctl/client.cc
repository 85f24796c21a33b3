#include "ctl/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>

namespace audit::ctl {

namespace {

// A response never legitimately approaches this; past it the peer is not our daemon.
constexpr std::size_t kMaxResponse = 64u << 20;

}  // namespace

ControlClient::ControlClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), timeout_(timeout) {}

ControlClient::~ControlClient() {
  close();
}

void ControlClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool ControlClient::connect(std::string* error) {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) {
    *error = "socket path longer than " + std::to_string(sizeof(addr.sun_path) - 1) + " bytes";
    return false;
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  // A unix socket connect completes or fails at once (or EAGAIN when the backlog is
  // full, which we report rather than wait out).
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    connect_errno_ = errno;
    *error = std::strerror(errno);
    ::close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

bool ControlClient::waitFor(short events, std::string* error) {
  pollfd p{fd_, events, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *error = "no answer within " + std::to_string(timeout_.count() / 1000) + " s";
      return false;
    }
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) {
      *error = std::strerror(errno);
      return false;
    }
  }
}

bool ControlClient::sendAll(std::string_view bytes, std::string* error) {
  while (!bytes.empty()) {
    if (!waitFor(POLLOUT, error)) return false;
    // MSG_NOSIGNAL: a daemon that went away is an error to report, not SIGPIPE.
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      *error = std::strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ControlClient::readLine(std::string* line, std::string* error) {
  std::size_t scanned = 0;
  for (;;) {
    if (auto nl = buffer_.find('\n', scanned); nl != std::string::npos) {
      line->assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return true;
    }
    scanned = buffer_.size();
    if (buffer_.size() > kMaxResponse) {
      *error = "answer longer than 64 MiB";
      return false;
    }
    if (!waitFor(POLLIN, error)) return false;
    char chunk[64 * 1024];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      *error = std::strerror(errno);
      return false;
    }
    if (n == 0) {
      *error = "the daemon closed the connection";
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool ControlClient::call(std::string_view request_line, boost::json::object* response,
                         std::string* error) {
  if (fd_ < 0 && !connect(error)) return false;
  std::string out;
  out.reserve(request_line.size() + 1);
  out.append(request_line);
  out += '\n';
  std::string line;
  if (!sendAll(out, error) || !readLine(&line, error)) {
    close();
    return false;
  }
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(line, ec);
  if (ec || !value.is_object()) {
    *error = "the daemon's answer is not a JSON object";
    close();
    return false;
  }
  *response = std::move(value.get_object());
  return true;
}

bool ControlClient::sendLine(std::string_view request_line, std::string* error) {
  if (fd_ < 0 && !connect(error)) return false;
  std::string out(request_line);
  out += '\n';
  if (sendAll(out, error)) return true;
  close();
  return false;
}

bool ControlClient::receiveLine(std::string* line, std::string* error) {
  if (fd_ < 0) {
    *error = "not connected";
    return false;
  }
  if (readLine(line, error)) return true;
  close();
  return false;
}

bool ControlClient::receiveBytes(std::size_t n, const std::function<bool(std::string_view)>& sink,
                                 std::string* error) {
  while (n > 0) {
    if (!buffer_.empty()) {
      const std::size_t take = std::min(n, buffer_.size());
      if (!sink(std::string_view(buffer_.data(), take))) {
        close();
        return false;
      }
      buffer_.erase(0, take);
      n -= take;
      continue;
    }
    if (fd_ < 0) return false;
    // Reads first and polls only when nothing is there: a stream is mostly ready bytes.
    if (chunk_.empty()) chunk_.resize(1 << 20);
    ssize_t got = ::recv(fd_, chunk_.data(), std::min(n, chunk_.size()), MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!waitFor(POLLIN, error)) {
          close();
          return false;
        }
        continue;
      }
      if (errno == EINTR) continue;
      *error = std::strerror(errno);
      close();
      return false;
    }
    if (got == 0) {
      *error = "the daemon closed the connection";
      close();
      return false;
    }
    if (!sink(std::string_view(chunk_.data(), static_cast<std::size_t>(got)))) {
      close();
      return false;
    }
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

bool ControlClient::sendFd(int fd, std::string* error) {
  if (fd_ < 0) {
    *error = "not connected";
    return false;
  }
  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  for (;;) {
    if (::sendmsg(fd_, &msg, MSG_NOSIGNAL) == 1) return true;
    if (errno == EINTR) continue;
    *error = std::strerror(errno);
    close();
    return false;
  }
}

bool ControlClient::call(const boost::json::object& request, boost::json::object* response,
                         std::string* error) {
  return call(boost::json::serialize(request), response, error);
}

}  // namespace audit::ctl
