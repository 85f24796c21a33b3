#include "webhook/batch_sender.hpp"

#include <spdlog/spdlog.h>

#include "common/units.hpp"

namespace audit::webhook {

Expected<BatchSenderPtr> BatchSender::create(boost::asio::any_io_executor executor,
                                             const ClientOptions& client, const RetryOptions& retry,
                                             Scheduler& scheduler, signing::SignerPtr signer) {
  auto made = WebhookClient::create(executor, client, std::move(signer));
  if (!made) return made.error();
  return BatchSenderPtr(new BatchSender(std::move(executor), std::move(*made), retry, scheduler));
}

BatchSender::BatchSender(boost::asio::any_io_executor executor, WebhookClientPtr client,
                         const RetryOptions& retry, Scheduler& scheduler)
    : executor_(std::move(executor)),
      client_(std::move(client)),
      policy_(retry, scheduler.clock()),
      backoff_timer_(scheduler.makeTimer(executor_)) {}

boost::asio::awaitable<DeliveryResult> BatchSender::deliver(const EncodedBody& body,
                                                            std::string key) {
  DeliveryResult out;
  auto canceled = [&out] {
    out.canceled = true;
    out.reason = "canceled";
    return out;
  };
  policy_.begin();
  for (;;) {
    // cancel() is sticky: one that lands between batches still stops the next one.
    if (canceled_) co_return canceled();

    // Counted as it happens: a batch that finally fails retried just as much.
    if (policy_.attempts() > 0 && observer_ != nullptr) observer_->retrySent();
    // One POST; the same key on every retry lets the receiver drop duplicates.
    AttemptResult attempt = co_await client_->post(body, key);
    // An attempt cut short by cancel() says nothing about the webhook; don't report it.
    if (canceled_) co_return canceled();
    if (attempt.status != 0) out.last_status = attempt.status;
    if (observer_ != nullptr) observer_->attempted(attempt);
    spdlog::trace("webhook delivery attempt {} attempt={} status_code={} bytes={}{}{}",
                  log_context_, policy_.attempts() + 1, attempt.status, body.bytes.size(),
                  attempt.error ? " error=" : "", attempt.error ? attempt.error.message() : "");

    Decision decision = policy_.decide(attempt);
    out.attempts = policy_.attempts();
    switch (decision.kind) {
      case Decision::Kind::Delivered:
        out.delivered = true;
        co_return out;
      case Decision::Kind::GiveUp:
        out.reason = std::move(decision.reason);
        co_return out;
      case Decision::Kind::Retry:
        break;
    }
    // cancel() may have come from the observer, before there was a wait to end.
    if (canceled_) co_return canceled();
    spdlog::warn(
        "webhook delivery attempt {} failed {} attempt={} status_code={}: {}; retrying in {}",
        out.attempts, log_context_, out.attempts, attempt.status, decision.reason,
        formatDuration(decision.wait));

    if (observer_ != nullptr) {
      observer_->retryScheduled(out.attempts, attempt, decision.wait, decision.reason);
    }

    // Waits the backoff; cancel() ends the wait early (and is checked at the top of the loop).
    co_await backoff_timer_->wait(decision.wait);
  }
}

void BatchSender::cancel() {
  canceled_ = true;
  backoff_timer_->cancel();
  client_->close();
}

}  // namespace audit::webhook
