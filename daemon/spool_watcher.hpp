#pragma once
// The spool directory (SPEC §6): every poll_interval, each NAME.json holding a put_job
// request is executed; the answer goes to NAME.result.json (written atomically) and the
// request moves to done/ (accepted) or rejected/. Writers create NAME.json.tmp and rename,
// so *.tmp and every other name is ignored. A bad file never stops the daemon.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <memory>

#include "common/clock.hpp"
#include "daemon/control_api.hpp"

namespace audit::daemon {

class SpoolWatcher : public std::enable_shared_from_this<SpoolWatcher> {
 public:
  static constexpr std::size_t kMaxRequestBytes = 1u << 20;

  SpoolWatcher(boost::asio::any_io_executor executor, boost::asio::thread_pool& workers,
               std::filesystem::path dir, Millis interval, ControlApi& api);

  /** Creates the folders; false with `error` when it cannot. */
  bool prepare(std::string* error);
  void start();
  void stop();
  void setInterval(Millis interval) { interval_ = interval; }

  /** One pass over the folder (also used by --once). @return requests handled. */
  boost::asio::awaitable<std::size_t> scanOnce();

 private:
  boost::asio::awaitable<void> pollLoop();

  boost::asio::any_io_executor executor_;
  boost::asio::thread_pool& workers_;
  std::filesystem::path dir_;
  Millis interval_;
  ControlApi& api_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace audit::daemon
