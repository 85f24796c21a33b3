#pragma once
// A blocking JSON Lines client of the daemon's control socket (docs/cli.md): one request line
// out, one response line back, any number per connection. A CLI does one thing at a time,
// so plain POSIX sockets with a poll() deadline per call are all it needs.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "ctl/kernel_copy.hpp"

namespace audit::ctl {

class ControlClient {
 public:
  explicit ControlClient(std::string socket_path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  /** Connects (again, after a failure); fails with the reason ("No such file or directory"). */
  Expected<> connect();
  bool connected() const { return fd_ >= 0; }
  void close();

  /**
   * Sends `request_line` (one JSON object, no newline) and reads the answer, which must be
   * a JSON object. Waits at most the timeout for each. On any failure the connection is
   * closed and the failure says why ("the daemon closed the connection").
   */
  Expected<boost::json::object> call(std::string_view request_line);
  Expected<boost::json::object> call(const boost::json::object& request);

  const std::string& socketPath() const { return path_; }

  // A streamed answer (export): the request is sent with sendLine(), then the answer is
  // read as lines and counted bytes. Each waits at most the timeout; a failure closes.
  Expected<> sendLine(std::string_view request_line);
  Expected<std::string> receiveLine();
  /** Reads one answer line, which must be a JSON object (as call() does). Lets a caller keep
   *  a request in flight: send the next with sendLine() before reading this one's answer. */
  Expected<boost::json::object> receiveObject();
  /** Reads exactly `n` bytes, handing them to `sink` piece by piece. A false from the sink
   *  stops the read and closes the connection; the failure then is the sink's. */
  Expected<> receiveBytes(std::size_t n, const std::function<bool(std::string_view)>& sink);
  /** Reads exactly `n` bytes into `copy`'s output inside the kernel; the bytes already read
   *  past the last line, and all of them if the output takes no spliced bytes, go through
   *  `sink` as with receiveBytes(). */
  Expected<> receiveInto(std::size_t n, KernelCopy& copy,
                         const std::function<bool(std::string_view)>& sink);
  /** Sends `bytes` as they are (part of a request; no newline added). */
  Expected<> sendBytes(std::string_view bytes);
  /** Sends `length` bytes of the file `fd` from `offset`, copied by the kernel (sendfile). */
  Expected<> sendFile(int fd, std::uint64_t offset, std::uint64_t length);
  /** Sends the descriptor `fd` (SCM_RIGHTS) with one byte. */
  Expected<> sendFd(int fd);
  /** errno of the last failed connect() (EACCES: no permission on the socket or its folder). */
  int connectErrno() const { return connect_errno_; }
  void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Expected<> sendAll(std::string_view bytes);
  Expected<std::string> readLine();
  Expected<> waitFor(short events);

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffer_;       // bytes read past the last line
  std::vector<char> chunk_;  // receiveBytes()' read buffer
};

}  // namespace audit::ctl
