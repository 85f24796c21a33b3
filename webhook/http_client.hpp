#pragma once
// One keep-alive HTTP/1.1 connection to a webhook, plain or TLS, on Boost.Beast with
// C++20 coroutines. Reconnects when the server closed the connection. Every network step
// has a deadline; a timeout is an ordinary, retryable error.
// Not thread-safe: used from the strand/loop that created it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "common/expected.hpp"
#include "signing/signer.hpp"
#include "webhook/encoder.hpp"
#include "webhook/options.hpp"
#include "webhook/retry_policy.hpp"

namespace audit::webhook {

class WebhookClient;
using WebhookClientPtr = std::unique_ptr<WebhookClient>;

class WebhookClient {
 public:
  /**
   * Fails when the endpoint URL, a header or the CA file is unusable. `signer` signs
   * Standard Webhooks `v1a` signatures when `options.standard_webhooks` asks for them
   * (asymmetric: true).
   */
  static Expected<WebhookClientPtr> create(boost::asio::any_io_executor executor,
                                           const ClientOptions& options,
                                           signing::SignerPtr signer = nullptr);
  virtual ~WebhookClient() = default;

  /**
   * One POST attempt of `body` (which must outlive the awaitable), within
   * `options.timeout` from resolve to the last byte of the answer. Never throws; every
   * failure is in the result with the step that failed ("resolve", "connect", "handshake",
   * "write", "read"). A reused connection the server had closed is reopened and the
   * request resent once inside the attempt, if no byte of an answer had arrived.
   */
  virtual boost::asio::awaitable<AttemptResult> post(const EncodedBody& body,
                                                     std::string idempotency_key) = 0;

  /**
   * Closes the connection (graceful TLS shutdown, bounded by the timeout, runs on the
   * executor without being awaited). During an attempt it closes the socket at once and
   * the attempt ends with operation_aborted.
   */
  virtual void close() = 0;
};

/** "audit-replay/0.1.0" */
std::string userAgent();

}  // namespace audit::webhook
