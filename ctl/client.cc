#include "ctl/client.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

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

Expected<> ControlClient::connect() {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) {
    return Failure{"socket path longer than " + std::to_string(sizeof(addr.sun_path) - 1) +
                   " bytes"};
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Failure{std::strerror(errno)};
  // A unix socket connect completes or fails at once (or EAGAIN when the backlog is
  // full, which we report rather than wait out).
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    connect_errno_ = errno;
    Failure failure{std::strerror(errno)};
    ::close(fd);
    return failure;
  }
  fd_ = fd;
  return {};
}

Expected<> ControlClient::waitFor(short events) {
  pollfd p{fd_, events, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Failure{"no answer within " + std::to_string(timeout_.count() / 1000) + " s"};
    }
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return {};
    if (rc < 0 && errno != EINTR) return Failure{std::strerror(errno)};
  }
}

Expected<> ControlClient::sendAll(std::string_view bytes) {
  while (!bytes.empty()) {
    if (auto ready = waitFor(POLLOUT); !ready) return ready;
    // MSG_NOSIGNAL: a daemon that went away is an error to report, not SIGPIPE.
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Failure{std::strerror(errno)};
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Expected<std::string> ControlClient::readLine() {
  std::size_t scanned = 0;
  for (;;) {
    if (auto nl = buffer_.find('\n', scanned); nl != std::string::npos) {
      std::string line(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    scanned = buffer_.size();
    if (buffer_.size() > kMaxResponse) return Failure{"answer longer than 64 MiB"};
    if (auto ready = waitFor(POLLIN); !ready) return ready.error();
    char chunk[64 * 1024];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Failure{std::strerror(errno)};
    }
    if (n == 0) return Failure{"the daemon closed the connection"};
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Expected<boost::json::object> ControlClient::call(std::string_view request_line) {
  if (fd_ < 0) {
    if (auto connected = connect(); !connected) return connected.error();
  }
  std::string out;
  out.reserve(request_line.size() + 1);
  out.append(request_line);
  out += '\n';
  if (auto sent = sendAll(out); !sent) {
    close();
    return sent.error();
  }
  return receiveObject();
}

Expected<boost::json::object> ControlClient::receiveObject() {
  if (fd_ < 0) return Failure{"not connected"};
  auto line = readLine();
  if (!line) {
    close();
    return line.error();
  }
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(*line, ec);
  if (ec || !value.is_object()) {
    close();
    return Failure{"the daemon's answer is not a JSON object"};
  }
  return std::move(value.get_object());
}

Expected<> ControlClient::sendLine(std::string_view request_line) {
  if (fd_ < 0) {
    if (auto connected = connect(); !connected) return connected;
  }
  std::string out(request_line);
  out += '\n';
  auto sent = sendAll(out);
  if (!sent) close();
  return sent;
}

Expected<> ControlClient::sendBytes(std::string_view bytes) {
  if (fd_ < 0) {
    if (auto connected = connect(); !connected) return connected;
  }
  auto sent = sendAll(bytes);
  if (!sent) close();
  return sent;
}

namespace {

// sendfile() has no MSG_NOSIGNAL: SIGPIPE is held back while it runs, and one it raised is
// taken off the pending set, so a daemon that went away is an error to report, not a kill.
class SigpipeHeld {
 public:
  SigpipeHeld() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeHeld() {
    if (!was_pending_) {
      const timespec now{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &now) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeHeld(const SigpipeHeld&) = delete;
  SigpipeHeld& operator=(const SigpipeHeld&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

}  // namespace

Expected<> ControlClient::sendFile(int fd, std::uint64_t offset, std::uint64_t length) {
  // Pieces: the socket blocks, and a piece bounds how long one call can wait past the
  // deadline poll() enforces.
  constexpr std::uint64_t kPiece = 1u << 20;
  if (fd_ < 0) return Failure{"not connected"};
  const SigpipeHeld held;
  auto at = static_cast<off_t>(offset);
  while (length > 0) {
    if (auto ready = waitFor(POLLOUT); !ready) {
      close();
      return ready;
    }
    const ssize_t n = ::sendfile(fd_, fd, &at, static_cast<std::size_t>(std::min(length, kPiece)));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      Failure failure{std::strerror(errno)};
      close();
      return failure;
    }
    if (n == 0) {
      close();
      return Failure{"the file ended early (was it truncated while being sent?)"};
    }
    length -= static_cast<std::uint64_t>(n);
  }
  return {};
}

Expected<std::string> ControlClient::receiveLine() {
  if (fd_ < 0) return Failure{"not connected"};
  auto line = readLine();
  if (!line) close();
  return line;
}

Expected<> ControlClient::receiveInto(std::size_t n, KernelCopy& copy,
                                      const std::function<bool(std::string_view)>& sink) {
  if (!buffer_.empty()) {
    const std::size_t buffered = std::min(n, buffer_.size());
    if (auto got = receiveBytes(buffered, sink); !got) return got;
    n -= buffered;
  }
  while (n > 0) {
    if (fd_ < 0) return Failure{"not connected"};
    const KernelCopy::Result moved = copy.move(fd_, n);
    switch (moved.step) {
      case KernelCopy::Step::moved:
        n -= moved.bytes;
        break;
      case KernelCopy::Step::socket_empty:
        if (auto ready = waitFor(POLLIN); !ready) {
          close();
          return ready;
        }
        break;
      case KernelCopy::Step::socket_eof:
        close();
        return Failure{"the daemon closed the connection"};
      case KernelCopy::Step::unsupported:
        return receiveBytes(n, sink);
      case KernelCopy::Step::failed: {
        Failure failure{(moved.on_output ? "cannot write to stdout: " : "") +
                        std::string(std::strerror(moved.error))};
        close();
        return failure;
      }
    }
  }
  return {};
}

Expected<> ControlClient::receiveBytes(std::size_t n,
                                       const std::function<bool(std::string_view)>& sink) {
  const Failure stopped{"stopped by the receiver"};
  while (n > 0) {
    if (!buffer_.empty()) {
      const std::size_t take = std::min(n, buffer_.size());
      if (!sink(std::string_view(buffer_.data(), take))) {
        close();
        return stopped;
      }
      buffer_.erase(0, take);
      n -= take;
      continue;
    }
    if (fd_ < 0) return Failure{"not connected"};
    // Reads first and polls only when nothing is there: a stream is mostly ready bytes.
    if (chunk_.empty()) chunk_.resize(1 << 20);
    ssize_t got = ::recv(fd_, chunk_.data(), std::min(n, chunk_.size()), MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (auto ready = waitFor(POLLIN); !ready) {
          close();
          return ready;
        }
        continue;
      }
      if (errno == EINTR) continue;
      Failure failure{std::strerror(errno)};
      close();
      return failure;
    }
    if (got == 0) {
      close();
      return Failure{"the daemon closed the connection"};
    }
    if (!sink(std::string_view(chunk_.data(), static_cast<std::size_t>(got)))) {
      close();
      return stopped;
    }
    n -= static_cast<std::size_t>(got);
  }
  return {};
}

Expected<> ControlClient::sendFd(int fd) {
  if (fd_ < 0) return Failure{"not connected"};
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
    if (::sendmsg(fd_, &msg, MSG_NOSIGNAL) == 1) return {};
    if (errno == EINTR) continue;
    Failure failure{std::strerror(errno)};
    close();
    return failure;
  }
}

Expected<boost::json::object> ControlClient::call(const boost::json::object& request) {
  return call(boost::json::serialize(request));
}

}  // namespace audit::ctl
