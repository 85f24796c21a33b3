#pragma once
// Delivers one encoded batch to the region's webhook: attempts, classifies each outcome
// with RetryPolicy, waits the backoff on a timer, and reports attempts and retries to a
// DeliveryObserver (the webhook status of docs/formats.md, retry counters). Used from one
// strand; not thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/expected.hpp"
#include "common/scheduler.hpp"
#include "webhook/encoder.hpp"
#include "webhook/http_client.hpp"
#include "webhook/options.hpp"
#include "webhook/retry_policy.hpp"

namespace audit::webhook {

struct DeliveryResult {
  bool delivered = false;
  bool canceled = false;
  int last_status = 0;  // last HTTP status seen (0: none)
  std::string reason;   // why it gave up
  unsigned attempts = 0;
};

/** What a sender reports while it delivers, on its executor. Each report is optional. */
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  /** An attempt's outcome; never one cut short by cancel(), which says nothing of the webhook. */
  virtual void attempted(const AttemptResult& /*attempt*/) {}
  /** Before a backoff wait: attempts so far, the last attempt, the wait, why. */
  virtual void retryScheduled(unsigned /*attempts*/, const AttemptResult& /*last*/, Millis /*wait*/,
                              const std::string& /*reason*/) {}
  /** A retry is being sent: counted as it happens, whether or not the batch gets delivered. */
  virtual void retrySent() {}
};

class BatchSender;
using BatchSenderPtr = std::unique_ptr<BatchSender>;

class BatchSender {
 public:
  /** Fails when the endpoint is unusable (WebhookClient::create). */
  static Expected<BatchSenderPtr> create(boost::asio::any_io_executor executor,
                                         const ClientOptions& client, const RetryOptions& retry,
                                         Scheduler& scheduler, signing::SignerPtr signer = nullptr);

  /**
   * Attempts until delivered, a non-retryable answer, the retry bounds, or cancel().
   * `body` must stay alive until the returned awaitable completes. Each retry is logged at
   * warn with its reason and wait, and reported to the observer.
   */
  boost::asio::awaitable<DeliveryResult> deliver(const EncodedBody& body, std::string key);

  /**
   * Ends a backoff wait or an attempt in flight; deliver() then returns canceled. Sticky:
   * every later deliver() returns canceled at once, so a cancel that lands between two
   * batches is not lost. Call it on the sender's strand (post() it from other threads).
   */
  void cancel();

  /** Where attempts and retries are reported; it must outlive the sender. Null: nowhere. */
  void setObserver(DeliveryObserver* observer) { observer_ = observer; }

  /** `key=value` tokens (region=, job=, endpoint=) added to every line this sender logs. */
  void setLogContext(std::string context) { log_context_ = std::move(context); }

 private:
  BatchSender(boost::asio::any_io_executor executor, WebhookClientPtr client,
              const RetryOptions& retry, Scheduler& scheduler);

  boost::asio::any_io_executor executor_;
  WebhookClientPtr client_;
  RetryPolicy policy_;
  WaitTimerPtr backoff_timer_;
  DeliveryObserver* observer_ = nullptr;
  bool canceled_ = false;
  std::string log_context_;
};

}  // namespace audit::webhook
