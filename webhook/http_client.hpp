#pragma once
// One keep-alive HTTP/1.1 connection to a webhook, plain or TLS, on Boost.Beast with
// C++20 coroutines. Reconnects when the server closed the connection. Every network step
// has a deadline; a timeout is an ordinary, retryable error.
// Not thread-safe: used from the strand/loop that created it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "webhook/encoder.hpp"
#include "webhook/retry_policy.hpp"

namespace audit::webhook {

class WebhookClient {
 public:
  /** Fails (nullptr, `error` set) when the endpoint URL or the CA file is unusable. */
  static std::unique_ptr<WebhookClient> create(boost::asio::any_io_executor executor,
                                               const config::WebhookSettings& settings,
                                               std::string* error);
  virtual ~WebhookClient() = default;

  /** One POST attempt of `body`. Never throws; every failure is in the result. */
  virtual boost::asio::awaitable<AttemptResult> post(const EncodedBody& body,
                                                     std::string idempotency_key) = 0;

  /** Closes the connection (graceful TLS shutdown is bounded by the timeout). */
  virtual void close() = 0;
};
using WebhookClientPtr = std::unique_ptr<WebhookClient>;

/** "audit-replay/0.1.0" */
std::string userAgent();

}  // namespace audit::webhook
