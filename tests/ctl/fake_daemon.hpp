#pragma once
// A stand-in for audit-replayd's control socket: a unix socket in a fresh temp folder,
// served by one thread that answers each JSON Lines request with what the test's handler
// returns, and records every request for the test to inspect.

#include <boost/json/object.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace audit::ctl::test {

class FakeDaemon {
 public:
  /** Called on the server thread, one request at a time. */
  using Handler = std::function<boost::json::object(const boost::json::object& request)>;

  explicit FakeDaemon(Handler handler);
  ~FakeDaemon();
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  const std::string& socketPath() const { return socket_path_; }
  const std::string& dir() const { return dir_; }

  /** Every request so far, in arrival order. Thread-safe. */
  std::vector<boost::json::object> requests() const;
  /** The requests whose "op" is `op`. */
  std::vector<boost::json::object> requests(std::string_view op) const;

 private:
  void serve();

  Handler handler_;
  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<boost::json::object> requests_;
  std::thread thread_;
};

/** {"ok":true,"code":200} plus `fields`. */
boost::json::object okAnswer(boost::json::object fields = {});
/** {"ok":false,"code":code,"error":message}. */
boost::json::object errorAnswer(int code, std::string_view message);

/** An answer that makes the fake close the connection instead of answering. */
boost::json::object hangUp();

/** A job object as docs/http-api.md shows it. */
boost::json::object jobObject(std::string_view region, std::string_view status,
                              std::uint64_t sent = 0, std::uint64_t total = 0,
                              std::string_view id = "job-1");

}  // namespace audit::ctl::test
