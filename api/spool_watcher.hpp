#pragma once
// The spool directory (docs/cli.md): every poll_interval, each NAME.json holding a put_job
// request is executed; the answer goes to NAME.result.json (written atomically) and the
// request moves to done/ (accepted) or rejected/. Writers create NAME.json.tmp and rename,
// so *.tmp and every other name is ignored. A bad file never stops the daemon.
//
// The folder is writable by others, so it is treated as hostile:
// - a request is executed at most once: it is first moved ("claimed") into `.claimed/`,
//   then read and executed there, then filed into done/ or rejected/. A request that
//   cannot be filed away stays in `.claimed/` and is never run again (nor after a restart);
// - every access is relative to the folder's descriptor (openat/renameat), never follows a
//   symbolic link (O_NOFOLLOW) and reads only regular files: a symlink, FIFO, socket or
//   device named NAME.json is moved to rejected/ unread;
// - the result is written through a fresh, randomly named temp file created with O_EXCL,
//   then renamed over NAME.result.json (a link planted there is replaced, not followed);
// - a name whose NAME.result.json would exceed the file-name limit is rejected unrun
//   (its answer could not be written);
// - names are logged with control characters escaped.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "api/control_api.hpp"
#include "common/clock.hpp"
#include "common/expected.hpp"

namespace audit::api {

class SpoolWatcher : public std::enable_shared_from_this<SpoolWatcher> {
 public:
  static constexpr std::size_t kMaxRequestBytes = 1u << 20;
  /** Where requests are held while they run; ignored by the scan. */
  static constexpr const char* kClaimedDir = ".claimed";

  SpoolWatcher(boost::asio::any_io_executor executor, boost::asio::thread_pool& workers,
               std::filesystem::path dir, Millis interval, ControlApi& api);
  ~SpoolWatcher();
  SpoolWatcher(const SpoolWatcher&) = delete;
  SpoolWatcher& operator=(const SpoolWatcher&) = delete;

  /** Creates the folders and opens the spool folder; fails when it cannot. */
  Expected<> prepare();
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
  int dir_fd_ = -1;
  // Names whose claim failed and was logged: logged once, not on every poll.
  std::set<std::string> claim_failures_logged_;
  bool stopped_ = false;
};

/** `name` with control characters, DEL and backslash escaped (\n, \x1b, \\) for a log line. */
std::string escapeForLog(std::string_view name);

}  // namespace audit::api
