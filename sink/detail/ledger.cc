#include "sink/detail/ledger.hpp"

#include "sink/detail/lines.hpp"

namespace audit::sink::detail {

void Ledger::setScript(Script script) {
  auto shared = script ? std::make_shared<const Script>(std::move(script)) : nullptr;
  std::lock_guard lock(mutex_);
  script_ = std::move(shared);
}

std::shared_ptr<const Script> Ledger::script() const {
  std::lock_guard lock(mutex_);
  return script_;
}

void Ledger::countConnection() {
  std::lock_guard lock(mutex_);
  ++stats_.connections;
  changedLocked();
}

std::size_t Ledger::recordRequest(const ReceivedRequest& request) {
  std::lock_guard lock(mutex_);
  const std::size_t n = stats_.requests++;
  stats_.wire_bytes += request.wire_bytes;
  stats_.plain_bytes += request.body.size();
  if (keep_requests_) requests_.push_back(request);
  changedLocked();
  return n;
}

void Ledger::recordAnswer(std::size_t n, int status, std::size_t line_count) {
  std::lock_guard lock(mutex_);
  if (status >= 200 && status < 300) {
    ++stats_.accepted;
    stats_.events += line_count;
  }
  if (keep_requests_ && n < requests_.size()) requests_[n].status = status;
  changedLocked();
}

ReceiverStats Ledger::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<ReceivedRequest> Ledger::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> Ledger::acceptedEvents() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> events;
  for (const auto& request : requests_) {
    if (request.status < 200 || request.status >= 300) continue;
    forEachLine(request.body, [&events](std::string_view line) { events.emplace_back(line); });
  }
  return events;
}

bool Ledger::waitFor(const std::function<bool(const ReceiverStats&)>& pred,
                     std::chrono::milliseconds deadline) const {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::unique_lock lock(mutex_);
  for (;;) {
    const ReceiverStats snapshot = stats_;
    const std::uint64_t seen = version_;
    lock.unlock();
    const bool held = pred(snapshot);
    lock.lock();
    if (held) return true;
    if (!changed_.wait_until(lock, until, [&] { return version_ != seen; })) return false;
  }
}

void Ledger::changedLocked() {
  ++version_;
  changed_.notify_all();
}

}  // namespace audit::sink::detail
