#pragma once
// Delivers one encoded batch to the region's webhook: attempts, classifies each outcome
// with RetryPolicy, waits the backoff on a timer, and reports every attempt to an
// observer (for the webhook status of docs/formats.md). Used from one strand; not thread-safe.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "webhook/encoder.hpp"
#include "webhook/http_client.hpp"
#include "webhook/retry_policy.hpp"

namespace audit::webhook {

struct DeliveryResult {
  bool delivered = false;
  bool canceled = false;
  int last_status = 0;  // last HTTP status seen (0: none)
  std::string reason;   // why it gave up
  unsigned attempts = 0;
};

using AttemptObserver = std::function<void(const AttemptResult&)>;

class BatchSender {
 public:
  /** Fails (nullptr, `error` set) when the endpoint is unusable. */
  static std::unique_ptr<BatchSender> create(boost::asio::any_io_executor executor,
                                             const config::WebhookSettings& webhook,
                                             const config::RetrySettings& retry, const Clock& clock,
                                             std::string* error, SignerPtr signer = nullptr);

  /**
   * Attempts until delivered, a non-retryable answer, the retry bounds, or cancel().
   * `body` must stay alive until the returned awaitable completes. Each retry is logged at
   * warn with its reason and wait; `on_attempt` sees every attempt except one cut short by
   * cancel() (which says nothing about the webhook).
   */
  boost::asio::awaitable<DeliveryResult> deliver(const EncodedBody& body, std::string key,
                                                 const AttemptObserver& on_attempt);

  /**
   * Ends a backoff wait or an attempt in flight; deliver() then returns canceled. Sticky:
   * every later deliver() returns canceled at once, so a cancel that lands between two
   * batches is not lost. Call it on the sender's strand (post() it from other threads).
   */
  void cancel();

  /**
   * Adds one to `*counter` for every retry, when its attempt is sent (whether or not the
   * batch is finally delivered). nullptr: not counted. The counter must outlive the sender.
   */
  void countRetriesIn(std::atomic<std::uint64_t>* counter) { retries_ = counter; }
  /** Called before each backoff wait: attempts so far, the last attempt, the wait, why. */
  using RetryObserver =
      std::function<void(unsigned attempts, const AttemptResult&, Millis wait, const std::string&)>;
  void setRetryObserver(RetryObserver observer) { on_retry_ = std::move(observer); }

  /** `key=value` tokens (region=, job=, endpoint=) added to every line this sender logs. */
  void setLogContext(std::string context) { log_context_ = std::move(context); }

 private:
  BatchSender(boost::asio::any_io_executor executor, WebhookClientPtr client,
              const config::RetrySettings& retry, const Clock& clock);

  boost::asio::any_io_executor executor_;
  WebhookClientPtr client_;
  RetryPolicy policy_;
  boost::asio::steady_timer backoff_timer_;
  std::atomic<std::uint64_t>* retries_ = nullptr;
  bool canceled_ = false;
  std::string log_context_;
  RetryObserver on_retry_;
};
using BatchSenderPtr = std::unique_ptr<BatchSender>;

}  // namespace audit::webhook
