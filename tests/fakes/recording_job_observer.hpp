#pragma once
// A JobObserver that keeps what a job reported, for tests that drive a ReplayJob alone.
// The job calls it on the event loop; tests read it from their own thread, hence the lock.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "jobs/job_observer.hpp"

namespace audit::fakes {

class RecordingJobObserver final : public jobs::JobObserver {
 public:
  struct Heard {
    std::vector<int> attempt_statuses;  // each attempt's HTTP status (0: no response)
    std::vector<jobs::DeliveredBatch> batches;
    std::uint64_t retries = 0;
    std::uint64_t signatures_reused = 0;
  };

  void webhookAttempt(const std::string&, const webhook::AttemptResult& attempt) override {
    std::lock_guard lock(mutex_);
    heard_.attempt_statuses.push_back(attempt.status);
  }
  void retrySent(const std::string&) override {
    std::lock_guard lock(mutex_);
    ++heard_.retries;
  }
  void batchDelivered(const std::string&, const jobs::DeliveredBatch& batch) override {
    std::lock_guard lock(mutex_);
    heard_.batches.push_back(batch);
  }
  void signaturesReused(std::uint64_t count) override {
    std::lock_guard lock(mutex_);
    heard_.signatures_reused += count;
  }

  Heard heard() const {
    std::lock_guard lock(mutex_);
    return heard_;
  }

 private:
  mutable std::mutex mutex_;
  Heard heard_;
};

}  // namespace audit::fakes
