#pragma once
// The receiver's shared record: counters, kept requests, the script. Sessions on any I/O
// thread write to it; tests and the sink program read it. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sink/receiver.hpp"

namespace audit::sink::detail {

class Ledger {
 public:
  explicit Ledger(bool keep_requests) : keep_requests_(keep_requests) {}

  void setScript(Script script);
  /** The current script, or nullptr when none (then every request gets a plain 200). */
  std::shared_ptr<const Script> script() const;

  void countConnection();
  /** Records a request whose body was read (copied only when keeping requests).
   *  @return its 0-based index, the `n` given to the script. */
  std::size_t recordRequest(const ReceivedRequest& request);
  /** Records the status answered to request `n`; a 2xx adds its lines to the events. */
  void recordAnswer(std::size_t n, int status, std::size_t line_count);

  ReceiverStats stats() const;
  std::vector<ReceivedRequest> requests() const;
  std::vector<std::string> acceptedEvents() const;
  bool waitFor(const std::function<bool(const ReceiverStats&)>& pred,
               std::chrono::milliseconds deadline) const;

 private:
  void changedLocked();

  const bool keep_requests_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::uint64_t version_ = 0;  // bumped on every change, so waiters re-check only then
  std::shared_ptr<const Script> script_;
  ReceiverStats stats_;
  std::vector<ReceivedRequest> requests_;  // index == n when keep_requests_
};

}  // namespace audit::sink::detail
