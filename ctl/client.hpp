#pragma once
// A blocking JSON Lines client of the daemon's control socket (docs/cli.md): one request line
// out, one response line back, any number per connection. A CLI does one thing at a time,
// so plain POSIX sockets with a poll() deadline per call are all it needs.

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace audit::ctl {

class ControlClient {
 public:
  explicit ControlClient(std::string socket_path,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  /** Connects (again, after a failure). @return false with `error` ("No such file or directory").
   */
  bool connect(std::string* error);
  bool connected() const { return fd_ >= 0; }
  void close();

  /**
   * Sends `request_line` (one JSON object, no newline) and reads the answer, which must be
   * a JSON object. Waits at most the timeout for each. On any failure the connection is
   * closed and `error` says why ("the daemon closed the connection").
   */
  bool call(std::string_view request_line, boost::json::object* response, std::string* error);
  bool call(const boost::json::object& request, boost::json::object* response, std::string* error);

  const std::string& socketPath() const { return path_; }

  // A streamed answer (export): the request is sent with sendLine(), then the answer is
  // read as lines and counted bytes. Each waits at most the timeout; a failure closes.
  bool sendLine(std::string_view request_line, std::string* error);
  bool receiveLine(std::string* line, std::string* error);
  /** Reads exactly `n` bytes, handing them to `sink` piece by piece (false from it stops). */
  bool receiveBytes(std::size_t n, const std::function<bool(std::string_view)>& sink,
                    std::string* error);
  /** Sends the descriptor `fd` (SCM_RIGHTS) with one byte. */
  bool sendFd(int fd, std::string* error);
  /** errno of the last failed connect() (EACCES: no permission on the socket or its folder). */
  int connectErrno() const { return connect_errno_; }
  void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  bool sendAll(std::string_view bytes, std::string* error);
  bool readLine(std::string* line, std::string* error);
  bool waitFor(short events, std::string* error);

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffer_;       // bytes read past the last line
  std::vector<char> chunk_;  // receiveBytes()' read buffer
};

}  // namespace audit::ctl
