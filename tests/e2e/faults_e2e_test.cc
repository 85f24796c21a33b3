// End-to-end fault injection at the webhook: the real audit-replayd replays 2,000 events in
// batches of 100 to a real receiver on 127.0.0.1 that fails in planned ways (5xx, 429 and 503
// with Retry-After, slow answers, a connection cut mid-answer or never answered, a hang, 2xx
// with a garbage body). Each case checks the promise of docs/http-api.md, docs/formats.md: every
// event of the range acknowledged at least once, each request in time order, the job `completed`
// with its retries counted, the webhook `active` again; or, when retries run out, the job `failed`
// with the reason and the last code, the webhook `inactive`.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <ctime>
#include <random>

#include "tests/e2e/fault_webhook.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
using Kind = sink::Reply::Kind;
using std::chrono::milliseconds;

constexpr int kEvents = 2000;
constexpr int kBatch = 100;
constexpr std::size_t kBatches = kEvents / kBatch;

std::int64_t millisBetween(const Arrival& a, const Arrival& b) {
  return std::chrono::duration_cast<milliseconds>(b.at - a.at).count();
}

/** IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
std::string httpDate(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

class WebhookFaultsE2E : public ::testing::Test {
 protected:
  /** Starts the daemon, ingests the range, replays it and waits until the job ends. */
  void replay(const RegionSettings& settings = {}) {
    daemon_.writeConfig(usRegionYaml(hook_.url(), settings));
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    start_ = nowMs() - 3'600'000;
    events_ = rangeEvents(start_, kEvents, "fault-");
    ASSERT_TRUE(ingestAll(daemon_, events_));
    auto put = putJob(daemon_, start_, start_ + kEvents - 1);
    ASSERT_EQ(put.at("code").as_int64(), 202) << json::serialize(put);
    auto job = daemon_.waitJobEnded("us", 60s);
    ASSERT_TRUE(job) << daemon_.log();
    job_ = *job;
  }

  /**
   * The promise of a job that ends well, whatever the webhook did on the way.
   * `silent_resends`: requests closed without an answer, at most. The client sends such a
   * request again at once, on a new connection, when it went out on a reused one (it cannot
   * tell that from a server closing an idle keep-alive connection); that resend is part of
   * the same attempt, so it is not counted as a retry.
   */
  void expectCompletedWithNothingLost(std::size_t silent_resends = 0) {
    EXPECT_EQ(job_.at("status").as_string(), "completed") << json::serialize(job_);
    EXPECT_TRUE(job_.at("error").is_null()) << json::serialize(job_);
    const auto& progress = job_.at("progress");
    EXPECT_EQ(progress.at("events_total").as_int64(), kEvents);
    EXPECT_EQ(progress.at("events_sent").as_int64(), kEvents);
    EXPECT_EQ(progress.at("batches_sent").as_int64(), static_cast<std::int64_t>(kBatches));
    EXPECT_TRUE(nothingMissing(hook_.receiver().acceptedEvents(), events_));  // 0 lost
    EXPECT_TRUE(requestsWellFormed(hook_.receiver().requests()));
    EXPECT_EQ(hook_.batchesSeen(), kBatches);
    // Each attempt reached the receiver once (but for silent resends), so the retries the
    // daemon counted are the requests beyond one per batch.
    const auto beyond_one = static_cast<std::int64_t>(hook_.arrivals().size() - kBatches);
    const auto retries = statOf(daemon_, "retries");
    EXPECT_LE(retries, beyond_one);
    EXPECT_GE(retries, beyond_one - static_cast<std::int64_t>(silent_resends));
    auto hook = webhookOf(daemon_);
    EXPECT_EQ(hook.at("webhook_status").as_string(), "active") << json::serialize(hook);
    const auto code = hook.at("last_response_code").as_int64();
    EXPECT_TRUE(code >= 200 && code < 300) << json::serialize(hook);
  }

  void stopCleanly() { EXPECT_EQ(daemon_.stop().exit_code, 0) << daemon_.log(); }

  FaultyWebhook hook_;
  DaemonFixture daemon_;  // after hook_: the daemon is gone before the receiver stops
  std::int64_t start_ = 0;
  std::vector<std::string> events_;
  json::object job_;
};

TEST_F(WebhookFaultsE2E, ServerErrorsAreRetriedUntilAccepted) {
  // Every fourth batch is answered 500 twice, then accepted: 5 batches x 2 = 10 retries.
  hook_.setPlan([](const Arrival& a) {
    if (a.batch % 4 == 1 && a.attempt < 2) return answer(500, "boom");
    return answer(200);
  });
  ASSERT_NO_FATAL_FAILURE(replay());
  expectCompletedWithNothingLost();
  EXPECT_EQ(statOf(daemon_, "retries"), 10);
  EXPECT_EQ(hook_.arrivals().size(), kBatches + 10);
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, TooManyRequestsWaitsTheRetryAfterSeconds) {
  // With initial_backoff 10ms and max_backoff 50ms, a wait of a second can only come from
  // the Retry-After header.
  hook_.setPlan([](const Arrival& a) {
    if (a.batch == 3 && a.attempt == 0) return answer(429, "slow down", {{"Retry-After", "1"}});
    return answer(200);
  });
  ASSERT_NO_FATAL_FAILURE(replay());
  expectCompletedWithNothingLost();
  EXPECT_EQ(statOf(daemon_, "retries"), 1);
  auto attempts = hook_.attemptsOf(3);
  ASSERT_EQ(attempts.size(), 2u);
  const auto gap = millisBetween(attempts[0], attempts[1]);
  EXPECT_GE(gap, 1000 - 10) << "Retry-After: 1 not honoured";
  EXPECT_LT(gap, 1000 + 3000);
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, ServiceUnavailableWaitsUntilTheRetryAfterDate) {
  // 503 with Retry-After as an HTTP-date two whole seconds ahead: the retry may not arrive
  // before that instant (the date has a resolution of one second, so 1 to 2 s from now).
  std::atomic<std::int64_t> retry_at_ms{0};
  hook_.setPlan([&retry_at_ms](const Arrival& a) {
    if (a.batch == 2 && a.attempt == 0) {
      const std::int64_t at_s = a.wall_ms / 1000 + 2;
      retry_at_ms = at_s * 1000;
      return answer(503, "maintenance", {{"Retry-After", httpDate(at_s)}});
    }
    return answer(200);
  });
  ASSERT_NO_FATAL_FAILURE(replay());
  expectCompletedWithNothingLost();
  EXPECT_EQ(statOf(daemon_, "retries"), 1);
  auto attempts = hook_.attemptsOf(2);
  ASSERT_EQ(attempts.size(), 2u);
  // Wall clock: the daemon and this test read the same clock; 20 ms for its granularity.
  EXPECT_GE(attempts[1].wall_ms, retry_at_ms.load() - 20)
      << "retried " << retry_at_ms.load() - attempts[1].wall_ms << " ms before the date";
  EXPECT_GE(millisBetween(attempts[0], attempts[1]), 1000 - 20);
  EXPECT_LT(millisBetween(attempts[0], attempts[1]), 2000 + 3000);
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, AnswersSlowerThanTheTimeoutAreRetried) {
  // webhook.timeout 400ms; two batches are answered 200 only after 2 s. The daemon gives
  // up on them at its timeout and sends them again; the late 200s reach a closed
  // connection, so the receiver does not count them.
  hook_.setPlan([](const Arrival& a) {
    if ((a.batch == 2 || a.batch == 13) && a.attempt == 0) return answer(200, {}, {}, 2000ms);
    return answer(200);
  });
  RegionSettings settings;
  settings.timeout = "400ms";
  ASSERT_NO_FATAL_FAILURE(replay(settings));
  expectCompletedWithNothingLost();
  EXPECT_GE(statOf(daemon_, "retries"), 2);
  for (std::size_t batch : {2u, 13u}) {
    auto attempts = hook_.attemptsOf(batch);
    ASSERT_GE(attempts.size(), 2u) << "batch " << batch;
    const auto gap = millisBetween(attempts[0], attempts[1]);
    EXPECT_GE(gap, 400 - 50) << "batch " << batch << " retried before webhook.timeout";
    EXPECT_LT(gap, 2000) << "batch " << batch << " waited for the slow answer";
  }
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, ConnectionCutMidAnswerOrUnansweredIsRetried) {
  // A 200 whose body is cut short must not count as delivered; nor a 500 cut short; nor a
  // request read in full whose connection is then closed without a word.
  hook_.setPlan([](const Arrival& a) {
    if (a.batch == 1 && a.attempt == 0) return fault(Kind::CloseMidResponse, 200);
    if (a.batch == 6 && a.attempt == 0) return fault(Kind::CloseMidResponse, 500);
    if (a.batch == 11 && a.attempt < 2) return fault(Kind::CloseWithoutAnswer);
    if (a.batch == 16 && a.attempt == 0) return fault(Kind::CloseWithoutAnswer);
    return answer(200);
  });
  ASSERT_NO_FATAL_FAILURE(replay());
  expectCompletedWithNothingLost(/*silent_resends=*/3);
  // Batches 11 and 16 go out on a connection kept alive since the batch before, so their
  // first close-without-answer is resent at once (see above) and not counted: retries are
  // batch 1's, batch 6's and batch 11's second close, on the new connection.
  EXPECT_EQ(statOf(daemon_, "retries"), 3);
  EXPECT_EQ(hook_.attemptsOf(1).size(), 2u);
  EXPECT_EQ(hook_.attemptsOf(6).size(), 2u);
  EXPECT_EQ(hook_.attemptsOf(11).size(), 3u);
  EXPECT_EQ(hook_.attemptsOf(16).size(), 2u);
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, AcceptedThenHangingIsTimedOutAndRetried) {
  // The receiver reads the request and never answers, holding the connection open.
  hook_.setPlan([](const Arrival& a) {
    if ((a.batch == 0 || a.batch == 9) && a.attempt == 0) return fault(Kind::Hang);
    return answer(200);
  });
  RegionSettings settings;
  settings.timeout = "400ms";
  ASSERT_NO_FATAL_FAILURE(replay(settings));
  expectCompletedWithNothingLost();
  EXPECT_GE(statOf(daemon_, "retries"), 2);
  for (std::size_t batch : {0u, 9u}) {
    auto attempts = hook_.attemptsOf(batch);
    ASSERT_GE(attempts.size(), 2u) << "batch " << batch;
    EXPECT_GE(millisBetween(attempts[0], attempts[1]), 400 - 50) << "batch " << batch;
  }
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, GarbageBodiesWithA2xxCountAsDelivered) {
  // Receivers answer all sorts of things with a 2xx; the status alone decides. One body is
  // larger than the 64 KiB the client reads of an answer.
  hook_.setPlan([](const Arrival& a) {
    switch (a.batch % 5) {
      case 0: {
        std::mt19937 rng(static_cast<unsigned>(a.batch));
        std::string junk(300, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        return answer(200, junk, {{"Content-Type", "application/octet-stream"}});
      }
      case 1:
        return answer(201, "<html><body>Created?</body></html>", {{"Content-Type", "text/html"}});
      case 2:
        return answer(202, std::string(100 * 1024, 'x'));
      case 3:
        return answer(200, "{\"error\": ", {{"Content-Type", "application/json"}});
      default:
        return answer(204);
    }
  });
  ASSERT_NO_FATAL_FAILURE(replay());
  expectCompletedWithNothingLost();
  EXPECT_EQ(statOf(daemon_, "retries"), 0);
  EXPECT_EQ(hook_.arrivals().size(), kBatches);
  stopCleanly();
}

TEST_F(WebhookFaultsE2E, RetriesExhaustedFailTheJobAndMarkTheWebhookInactive) {
  // Five batches are accepted; the sixth is answered 502 on every attempt.
  hook_.setPlan([](const Arrival& a) {
    if (a.batch >= 5) return answer(502, "upstream down");
    return answer(200);
  });
  RegionSettings settings;
  settings.retry = "{initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 4, max_elapsed: 30s}";
  ASSERT_NO_FATAL_FAILURE(replay(settings));
  EXPECT_EQ(job_.at("status").as_string(), "failed") << json::serialize(job_);
  ASSERT_TRUE(job_.at("error").is_object()) << json::serialize(job_);
  const std::string reason(job_.at("error").at("reason").as_string());
  EXPECT_NE(reason.find("max_attempts"), std::string::npos) << reason;
  EXPECT_NE(reason.find("502"), std::string::npos) << reason;
  EXPECT_EQ(job_.at("error").at("last_response_code").as_int64(), 502);
  EXPECT_EQ(job_.at("progress").at("events_sent").as_int64(), 5 * kBatch);
  EXPECT_EQ(hook_.attemptsOf(5).size(), 4u);  // max_attempts, no more
  EXPECT_EQ(hook_.batchesSeen(), 6u);         // nothing after the failed batch
  // What was acknowledged is exactly the first five batches.
  std::vector<std::string> first_five(events_.begin(), events_.begin() + 5 * kBatch);
  EXPECT_TRUE(nothingMissing(hook_.receiver().acceptedEvents(), first_five));
  EXPECT_TRUE(requestsWellFormed(hook_.receiver().requests()));
  auto hook = webhookOf(daemon_);
  EXPECT_EQ(hook.at("webhook_status").as_string(), "inactive") << json::serialize(hook);
  EXPECT_EQ(hook.at("last_response_code").as_int64(), 502);
  EXPECT_NE(std::string(hook.at("last_response_message").as_string()).find("upstream down"),
            std::string::npos)
      << json::serialize(hook);
  // The webhook recovers: the next replay of the range completes and it is active again.
  hook_.setPlan({});
  auto put = putJob(daemon_, start_, start_ + kEvents - 1);
  ASSERT_EQ(put.at("code").as_int64(), 202) << json::serialize(put);
  auto again = daemon_.waitJobEnded("us", 60s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at("status").as_string(), "completed") << json::serialize(*again);
  EXPECT_TRUE(nothingMissing(hook_.receiver().acceptedEvents(), events_));
  EXPECT_EQ(webhookOf(daemon_).at("webhook_status").as_string(), "active");
  stopCleanly();
}

// Every kind of fault at once, drawn per batch and attempt from a fixed seed: the first two
// attempts of a batch each fail with probability 0.35, so every batch is delivered by its
// third attempt at the latest (max_attempts 6).
class MixedWebhookFaultsE2E : public WebhookFaultsE2E,
                              public ::testing::WithParamInterface<unsigned> {};

TEST_P(MixedWebhookFaultsE2E, EverySeedCompletesWithNothingLost) {
  const unsigned seed = GetParam();
  std::atomic<int> injected{0};
  std::atomic<int> unanswered{0};
  hook_.setPlan([seed, &injected, &unanswered](const Arrival& a) {
    std::mt19937 rng(seed * 1'000'003u + static_cast<unsigned>(a.batch) * 17u +
                     static_cast<unsigned>(a.attempt));
    if (a.attempt >= 2 || std::uniform_real_distribution<>(0, 1)(rng) >= 0.35) return answer(200);
    ++injected;
    switch (rng() % 8) {
      case 0:
        return answer(500, "boom");
      case 1:
        return answer(503, "busy", {{"Retry-After", "0"}});
      case 2:
        return answer(429, "slow down", {{"Retry-After", "0"}});
      case 3:
        return fault(Kind::CloseMidResponse, 200);
      case 4:
        ++unanswered;
        return fault(Kind::CloseWithoutAnswer);
      case 5:
        return fault(Kind::Hang);
      case 6:
        return answer(200, {}, {}, 1000ms);  // slower than the 300ms timeout
      default:
        return answer(408, "request timeout");
    }
  });
  RegionSettings settings;
  settings.timeout = "300ms";
  ASSERT_NO_FATAL_FAILURE(replay(settings));
  expectCompletedWithNothingLost(static_cast<std::size_t>(unanswered.load()));
  EXPECT_GT(injected.load(), 0);
  RecordProperty("faults_injected", injected.load());
  stopCleanly();
}

INSTANTIATE_TEST_SUITE_P(Seeds, MixedWebhookFaultsE2E, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace audit::e2e
