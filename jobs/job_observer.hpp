#pragma once
// What a replay job reports while it runs, to whoever keeps the service-wide view (the
// region's webhook status, /metrics). The job only reports; it owns none of that state.
// Every call comes on the event loop thread.

#include <cstdint>
#include <string>

#include "webhook/retry_policy.hpp"

namespace audit::jobs {

struct DeliveredBatch {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;  // on the wire
  double seconds = 0;       // from its first attempt to the 2xx, retries included
};

class JobObserver {
 public:
  virtual ~JobObserver() = default;
  /** An attempt at the region's webhook (a job's own endpoint is not the region's). */
  virtual void webhookAttempt(const std::string& region, const webhook::AttemptResult& attempt) = 0;
  /** A retry is being sent, whether or not its batch is finally delivered. */
  virtual void retrySent(const std::string& region) = 0;
  /** A batch the webhook took. */
  virtual void batchDelivered(const std::string& region, const DeliveredBatch& batch) = 0;
  /** Signatures of a batch taken from the store's signature cache instead of made. */
  virtual void signaturesReused(std::uint64_t count) = 0;
};

}  // namespace audit::jobs
