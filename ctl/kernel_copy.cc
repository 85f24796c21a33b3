#include "ctl/kernel_copy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace audit::ctl {
namespace {

// A pipe of 1 MiB (the unprivileged maximum by default) moves a large stream in a sixteenth
// of the calls a default pipe needs. Best effort: a pipe that stays smaller works too.
constexpr int kPipeBytes = 1 << 20;

std::size_t growPipe(int fd, std::size_t fallback) {
  (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
  const int size = ::fcntl(fd, F_GETPIPE_SZ);
  return size > 0 ? static_cast<std::size_t>(size) : fallback;
}

void waitWritable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

bool writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLOUT) != 0;
}

}  // namespace

KernelCopy::KernelCopy(int out_fd) : out_fd_(out_fd) {
  struct stat st {};
  direct_ = ::fstat(out_fd, &st) == 0 && S_ISFIFO(st.st_mode);
  if (direct_) {
    step_ = growPipe(out_fd, step_);
  } else if (::pipe2(relay_, O_CLOEXEC) == 0) {
    step_ = growPipe(relay_[1], step_);
  } else {
    supported_ = false;
  }
}

KernelCopy::~KernelCopy() {
  if (relay_[0] >= 0) ::close(relay_[0]);
  if (relay_[1] >= 0) ::close(relay_[1]);
}

KernelCopy::Result KernelCopy::move(int socket_fd, std::size_t max) {
  if (!supported_) return {Step::unsupported};
  const int first_hop = direct_ ? out_fd_ : relay_[1];
  for (;;) {
    // Non-blocking on both ends: a silent daemon must not hang the command (the caller
    // waits for the socket with its timeout), and a full pipe is told apart by poll.
    const ssize_t got = ::splice(socket_fd, nullptr, first_hop, nullptr, std::min(max, step_),
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (got > 0) {
      if (direct_) return {Step::moved, static_cast<std::size_t>(got)};
      return drainRelay(static_cast<std::size_t>(got));
    }
    if (got == 0) return {Step::socket_eof};
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (direct_ && !writable(out_fd_)) {
        waitWritable(out_fd_);  // the reader of the pipe sets the pace, as for write(2)
        continue;
      }
      return {Step::socket_empty};
    }
    if (errno == EINVAL) {
      supported_ = false;  // nothing was moved: the caller copies everything itself
      return {Step::unsupported};
    }
    return {Step::failed, 0, errno, direct_ && errno == EPIPE};
  }
}

// Empties the relay pipe into the output; `bytes` are in it.
KernelCopy::Result KernelCopy::drainRelay(std::size_t bytes) {
  std::size_t left = bytes;
  while (left > 0) {
    const ssize_t n = ::splice(relay_[0], nullptr, out_fd_, nullptr, left, SPLICE_F_MOVE);
    if (n > 0) {
      left -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {  // an output someone made non-blocking
      waitWritable(out_fd_);
      continue;
    }
    if (n < 0 && errno == EINVAL && left == bytes) {
      supported_ = false;
      return copyRelayByHand(bytes);
    }
    return {Step::failed, 0, n < 0 ? errno : EIO, true};
  }
  return {Step::moved, bytes};
}

// The output refused spliced bytes: the ones already in the relay are read back and written.
KernelCopy::Result KernelCopy::copyRelayByHand(std::size_t bytes) {
  char buffer[64 * 1024];
  std::size_t left = bytes;
  while (left > 0) {
    const ssize_t got = ::read(relay_[0], buffer, std::min(left, sizeof buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return {Step::failed, 0, got < 0 ? errno : EIO, true};
    for (ssize_t done = 0; done < got;) {
      const ssize_t n = ::write(out_fd_, buffer + done, static_cast<std::size_t>(got - done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        waitWritable(out_fd_);
        continue;
      }
      if (n < 0) return {Step::failed, 0, errno, true};
      done += n;
    }
    left -= static_cast<std::size_t>(got);
  }
  return {Step::moved, bytes};
}

}  // namespace audit::ctl
