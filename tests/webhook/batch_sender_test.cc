#include "webhook/batch_sender.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "common/simulated_scheduler.hpp"
#include "sink/receiver.hpp"
#include "tests/webhook/run_awaitable.hpp"

namespace audit::webhook {
namespace {

using namespace std::chrono_literals;
using sink::Receiver;
using sink::ReceiverOptions;
using sink::Reply;
using testing::runAwaitable;

// Answers `status` to the first `failures` requests, then 200.
sink::Script failThenSucceed(std::size_t failures, int status, std::string body = {}) {
  return [=](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n < failures) {
      reply.status = status;
      reply.body = body;
    }
    return reply;
  };
}

/** Keeps what a sender reports. */
struct Recorder final : DeliveryObserver {
  void attempted(const AttemptResult& attempt) override { attempts.push_back(attempt); }
  void retryScheduled(unsigned, const AttemptResult&, Millis wait, const std::string&) override {
    waits.push_back(wait);
  }
  void retrySent() override { ++retries; }

  std::vector<AttemptResult> attempts;
  std::vector<Millis> waits;
  std::uint64_t retries = 0;
};

class BatchSenderTest : public ::testing::Test {
 protected:
  BatchSenderPtr makeSender(const std::string& url, Millis timeout = 5s) {
    ClientOptions webhook;
    webhook.endpoint = url;
    webhook.timeout = timeout;
    auto sender = BatchSender::create(io_.get_executor(), webhook, retry_, scheduler_);
    EXPECT_TRUE(sender) << (sender ? std::string() : sender.message());
    if (!sender) return nullptr;
    (*sender)->setObserver(&recorder_);
    return std::move(*sender);
  }

  DeliveryResult deliver(BatchSender& sender, std::string key = "batch-1") {
    return runAwaitable(io_, sender.deliver(body_, std::move(key)));
  }

  boost::asio::io_context io_;
  RealScheduler scheduler_;
  RetryOptions retry_{Millis(1), Millis(5), 5, Millis(60'000)};
  EncodedBody body_ = [] {
    EventBatch batch;
    batch.add(R"({"rt":1})", 1);
    batch.add(R"({"rt":2})", 2);
    return encodeBatch(batch, {});
  }();
  Recorder recorder_;
  std::vector<AttemptResult>& attempts_ = recorder_.attempts;
};

TEST_F(BatchSenderTest, DeliversAtTheFirstAttempt) {
  Receiver receiver(ReceiverOptions{});
  receiver.start();
  auto sender = makeSender(receiver.url());
  DeliveryResult r = deliver(*sender);
  EXPECT_TRUE(r.delivered);
  EXPECT_FALSE(r.canceled);
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_EQ(r.last_status, 200);
  EXPECT_EQ(receiver.stats().events, 2u);
}

TEST_F(BatchSenderTest, RetriesOn503ThenDeliversWithTheSameIdempotencyKey) {
  Receiver receiver(ReceiverOptions{}, failThenSucceed(2, 503));
  receiver.start();
  auto sender = makeSender(receiver.url());
  DeliveryResult r = deliver(*sender, "key-7");
  EXPECT_TRUE(r.delivered) << r.reason;
  EXPECT_EQ(r.attempts, 3u);
  ASSERT_EQ(attempts_.size(), 3u);
  EXPECT_EQ(attempts_[0].status, 503);
  EXPECT_EQ(attempts_[2].status, 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& req : requests) EXPECT_EQ(req.headers.at("idempotency-key"), "key-7");
  EXPECT_EQ(receiver.stats().connections, 1u);  // 503s keep the connection
}

TEST_F(BatchSenderTest, RetriesAfterTransportErrors) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 0) reply.kind = Reply::Kind::CloseMidResponse;
    return reply;
  });
  receiver.start();
  auto sender = makeSender(receiver.url());
  DeliveryResult r = deliver(*sender);
  EXPECT_TRUE(r.delivered) << r.reason;
  EXPECT_EQ(r.attempts, 2u);
  ASSERT_EQ(attempts_.size(), 2u);
  EXPECT_EQ(attempts_[0].step, "read");
}

TEST_F(BatchSenderTest, HonoursRetryAfter) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    Reply reply;
    if (n == 0) {
      reply.status = 429;
      reply.headers = {{"Retry-After", "1"}};
    }
    return reply;
  });
  receiver.start();
  auto sender = makeSender(receiver.url());
  DeliveryResult r = deliver(*sender);
  EXPECT_TRUE(r.delivered) << r.reason;
  EXPECT_EQ(r.attempts, 2u);
  ASSERT_EQ(attempts_.size(), 2u);
  EXPECT_EQ(attempts_[0].status, 429);
  EXPECT_EQ(attempts_[0].retry_after, 1000ms);  // the wait the policy then takes
}

TEST_F(BatchSenderTest, GivesUpOn400WithCodeAndBody) {
  Receiver receiver(ReceiverOptions{}, failThenSucceed(100, 400, "field rt is missing"));
  receiver.start();
  auto sender = makeSender(receiver.url());
  DeliveryResult r = deliver(*sender);
  EXPECT_FALSE(r.delivered);
  EXPECT_FALSE(r.canceled);
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_EQ(r.last_status, 400);
  EXPECT_EQ(r.reason, "webhook answered 400: field rt is missing");
}

TEST_F(BatchSenderTest, GivesUpAfterMaxAttempts) {
  Receiver receiver(ReceiverOptions{}, failThenSucceed(100, 502));
  receiver.start();
  retry_.max_attempts = 3;
  auto sender = makeSender(receiver.url());
  DeliveryResult r = deliver(*sender);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.attempts, 3u);
  EXPECT_EQ(r.last_status, 502);
  EXPECT_NE(r.reason.find("retry.max_attempts"), std::string::npos) << r.reason;
  EXPECT_EQ(receiver.stats().requests, 3u);
}

TEST_F(BatchSenderTest, GivesUpWhenTheServerNeverAnswers) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::Hang;
    return reply;
  });
  receiver.start();
  retry_.max_attempts = 2;
  auto sender = makeSender(receiver.url(), 200ms);
  DeliveryResult r = deliver(*sender);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.attempts, 2u);
  EXPECT_NE(r.reason.find("read failed"), std::string::npos) << r.reason;
}

TEST_F(BatchSenderTest, CancelEndsTheBackoffWait) {
  Receiver receiver(ReceiverOptions{}, failThenSucceed(100, 503));
  receiver.start();
  retry_.initial_backoff = retry_.max_backoff = Millis(60'000);
  auto sender = makeSender(receiver.url());
  // Posted from the observer, so it runs once deliver() waits on its backoff timer.
  struct CancelOnAttempt final : DeliveryObserver {
    void attempted(const AttemptResult&) override {
      boost::asio::post(*io, [s = sender] { s->cancel(); });
    }
    boost::asio::io_context* io = nullptr;
    BatchSender* sender = nullptr;
  } canceler;
  canceler.io = &io_;
  canceler.sender = sender.get();
  sender->setObserver(&canceler);
  auto started = std::chrono::steady_clock::now();
  DeliveryResult r = runAwaitable(io_, sender->deliver(body_, "k"));
  EXPECT_TRUE(r.canceled);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.reason, "canceled");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

TEST_F(BatchSenderTest, CancelEndsAnAttemptInFlight) {
  Receiver receiver(ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t) {
    Reply reply;
    reply.kind = Reply::Kind::Hang;
    return reply;
  });
  receiver.start();
  auto sender = makeSender(receiver.url(), 60s);
  // Cancels from another thread, through the loop, once the request has arrived.
  std::thread canceler([&] {
    receiver.waitFor([](const sink::ReceiverStats& s) { return s.requests >= 1; }, 10s);
    boost::asio::post(io_, [&] { sender->cancel(); });
  });
  auto started = std::chrono::steady_clock::now();
  DeliveryResult r = deliver(*sender);
  canceler.join();
  EXPECT_TRUE(r.canceled);
  EXPECT_TRUE(attempts_.empty());  // a canceled attempt is not the webhook's failure
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

TEST_F(BatchSenderTest, CreateRefusesABadEndpoint) {
  ClientOptions webhook;
  webhook.endpoint = "gopher://x";
  auto sender = BatchSender::create(io_.get_executor(), webhook, retry_, scheduler_);
  ASSERT_FALSE(sender);
  EXPECT_NE(sender.message().find("webhook.endpoint"), std::string::npos);
}

TEST_F(BatchSenderTest, ReportsEveryRetryWhenItHappensDeliveredOrNot) {
  Receiver failing(ReceiverOptions{}, failThenSucceed(100, 503));
  failing.start();
  auto sender = makeSender(failing.url());
  DeliveryResult r = deliver(*sender);
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.attempts, 5u);         // retry_.max_attempts
  EXPECT_EQ(recorder_.retries, 4u);  // a batch that gave up retried four times
  EXPECT_EQ(recorder_.waits.size(), 4u);
  EXPECT_EQ(failing.stats().requests, 5u);

  Receiver flaky(ReceiverOptions{}, failThenSucceed(2, 503));
  flaky.start();
  auto second = makeSender(flaky.url());
  EXPECT_TRUE(deliver(*second).delivered);
  EXPECT_EQ(recorder_.retries, 6u);
}

TEST(BatchSenderSimulatedTime, BackoffWaitsRunInTheSchedulersTime) {
  // A 1 s / 30 s backoff and a 15 minute budget, taken in simulated time: the test moves
  // the time to each wait's end as soon as the sender waits.
  Receiver receiver(ReceiverOptions{}, failThenSucceed(4, 503));
  receiver.start();
  boost::asio::io_context io;
  SimulatedScheduler scheduler;
  ClientOptions webhook;
  webhook.endpoint = receiver.url();
  const RetryOptions retry{Millis(1'000), Millis(30'000), 12, Millis(15 * 60'000)};
  auto created = BatchSender::create(io.get_executor(), webhook, retry, scheduler);
  ASSERT_TRUE(created) << created.message();
  BatchSenderPtr sender = std::move(*created);
  Recorder recorder;
  sender->setObserver(&recorder);
  EventBatch batch;
  batch.add(R"({"rt":1})", 1);
  const EncodedBody body = encodeBatch(batch, {});

  auto result =
      boost::asio::co_spawn(io, sender->deliver(body, "batch-1"), boost::asio::use_future);
  std::thread loop([&] { io.run(); });
  const MonoTime start = scheduler.clock().monotonicNow();
  Millis moved{0};
  while (result.wait_for(0s) != std::future_status::ready) {
    if (auto by = scheduler.advanceToNextWait()) moved += *by;
    std::this_thread::yield();  // the sender is on its loop thread, sending or waiting
  }
  loop.join();
  const DeliveryResult r = result.get();
  EXPECT_TRUE(r.delivered) << r.reason;
  EXPECT_EQ(r.attempts, 5u);
  ASSERT_EQ(recorder.waits.size(), 4u);
  Millis waited{0};
  for (Millis w : recorder.waits) waited += w;
  EXPECT_EQ(moved, waited) << "every backoff was waited in the scheduler's time";
  EXPECT_EQ(scheduler.clock().monotonicNow() - start, waited);
}

}  // namespace
}  // namespace audit::webhook
