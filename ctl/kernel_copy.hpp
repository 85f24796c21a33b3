#pragma once
// An export's stream moved from the daemon's socket to stdout inside the kernel (splice), so
// that its bytes are never copied through the command.

#include <cstddef>

namespace audit::ctl {

/**
 * splice(2) from a socket to one output: straight into it when it is a pipe, otherwise
 * through a pipe of its own (a device such as /dev/null, a socket). An output the kernel
 * cannot splice into (a terminal on older kernels) is found at the first bytes: they are
 * written the ordinary way and every later move() answers `unsupported`.
 */
class KernelCopy {
 public:
  explicit KernelCopy(int out_fd);
  ~KernelCopy();
  KernelCopy(const KernelCopy&) = delete;
  KernelCopy& operator=(const KernelCopy&) = delete;

  enum class Step {
    moved,         // `bytes` bytes reached the output
    socket_empty,  // nothing to read yet: wait for the socket
    socket_eof,    // the peer closed the connection
    unsupported,   // the output takes no spliced bytes: copy the rest another way
    failed,        // `error` (errno), on the socket or, if `on_output`, on the output
  };
  struct Result {
    Step step = Step::moved;
    std::size_t bytes = 0;
    int error = 0;
    bool on_output = false;
  };

  /** Moves at most `max` bytes that are ready on `socket_fd` to the output; waits while the
   *  output is full (a slow reader of a pipe), never for the socket. */
  Result move(int socket_fd, std::size_t max);

 private:
  Result drainRelay(std::size_t bytes);
  Result copyRelayByHand(std::size_t bytes);

  int out_fd_;
  bool direct_ = false;    // the output is a pipe
  bool supported_ = true;  // false once the output refused spliced bytes
  int relay_[2] = {-1, -1};
  std::size_t step_ = 64 * 1024;  // bytes per splice: what the first pipe holds
};

}  // namespace audit::ctl
