// End-to-end: the real audit-replayd against a real HTTP receiver on 127.0.0.1.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "common/rfc3339.hpp"
#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

std::string regionYaml(const std::string& endpoint, const std::string& extra_webhook = "",
                       const std::string& batch = "{max_events: 100, max_bytes: 1MiB}",
                       const std::string& retry =
                           "{initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 5, "
                           "max_elapsed: 30s}") {
  return "regions:\n"
         "  us:\n"
         "    webhook:\n"
         "      endpoint: " +
         endpoint +
         "\n"
         "      timeout: 2s\n" +
         extra_webhook + "    batch: " + batch +
         "\n"
         "    retry: " +
         retry + "\n";
}

class ReplayE2E : public ::testing::Test {
 protected:
  void SetUp() override { receiver_.start(); }
  sink::Receiver receiver_{sink::ReceiverOptions{}};
  DaemonFixture daemon_;
};

TEST_F(ReplayE2E, DeliversExactlyTheInclusiveRangeInOrderByteIdentical) {
  daemon_.writeConfig(regionYaml(receiver_.url()));
  ASSERT_TRUE(daemon_.start()) << daemon_.log();

  // A range whose end_at is a whole second: it covers up to .999 of that second.
  const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;  // an hour ago, whole second
  const std::int64_t end = start + 60'000;
  std::vector<std::string> inside, outside;
  outside.push_back(makeEvent(start - 1, "before"));
  inside.push_back(makeEvent(start, "first"));
  for (int i = 0; i < 950; ++i)
    inside.push_back(makeEvent(start + 1 + i * 50, "e" + std::to_string(i)));
  inside.push_back(makeEvent(end, "end-second"));
  inside.push_back(makeEvent(end + 999, "end-of-second"));
  outside.push_back(makeEvent(end + 1000, "after"));
  // Ties: same millisecond, different bytes, both delivered.
  inside.push_back(makeEvent(start + 7, "tie-a"));
  inside.push_back(makeEvent(start + 7, "tie-b"));

  std::vector<std::string> all = outside;
  all.insert(all.end(), inside.begin(), inside.end());
  auto ingested = daemon_.ingest("us", all);
  ASSERT_TRUE(ingested.at("ok").as_bool()) << json::serialize(ingested);
  EXPECT_EQ(ingested.at("ingested").as_int64(), static_cast<std::int64_t>(all.size()));

  auto put = daemon_.call({{"op", "put_job"},
                           {"region", "us"},
                           {"start_at", isoMillis(start)},
                           {"end_at", formatRfc3339(end)}});
  ASSERT_TRUE(put);
  EXPECT_EQ(put->at("code").as_int64(), 202) << json::serialize(*put);
  EXPECT_EQ(put->at("job").at("status").as_string(), "accepted");

  auto job = daemon_.waitJobEnded("us");
  ASSERT_TRUE(job) << daemon_.log();
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
  EXPECT_EQ(job->at("progress").at("events_total").as_int64(),
            static_cast<std::int64_t>(inside.size()));
  EXPECT_EQ(job->at("progress").at("events_sent").as_int64(),
            static_cast<std::int64_t>(inside.size()));

  auto received = receiver_.acceptedEvents();
  std::multiset<std::string> got(received.begin(), received.end());
  std::multiset<std::string> want(inside.begin(), inside.end());
  EXPECT_EQ(got, want);
  // Time order across the whole delivery.
  std::int64_t last = 0;
  for (const auto& e : received) {
    auto rt = json::parse(e).at("rt").as_int64();
    EXPECT_GE(rt, last);
    last = rt;
  }
  // gzip by default, with the headers of docs/formats.md.
  auto requests = receiver_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().headers.at("content-encoding"), "gzip");
  EXPECT_EQ(requests.front().headers.at("content-type"), "text/plain");
  EXPECT_TRUE(requests.front().headers.contains("idempotency-key"));
  EXPECT_EQ(requests.front().headers.at("user-agent").rfind("audit-replay/", 0), 0u);

  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// rate_limit: 2000 events/s in batches of 50. Whatever 5 s window of the receiver's clock is
// taken, it holds at most 10 % more than the rate allows, and the replay as a whole takes as
// long as the rate says.
TEST_F(ReplayE2E, TheRateLimitHoldsOverEveryFiveSecondWindow) {
  using Clock = std::chrono::steady_clock;
  std::mutex mutex;
  std::vector<std::pair<Clock::time_point, std::size_t>> arrivals;  // time, events
  receiver_.setScript([&](const sink::ReceivedRequest& request, std::size_t) {
    std::lock_guard lock(mutex);
    arrivals.emplace_back(Clock::now(), request.line_count);
    return sink::Reply{};
  });
  daemon_.writeConfig(regionYaml(receiver_.url(), "", "{max_events: 50, max_bytes: 1MiB}") +
                      "    rate_limit: {events_per_second: 2000}\n");
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;
  std::vector<std::string> events;
  for (int i = 0; i < 13'000; ++i) events.push_back(makeEvent(start + i, "e" + std::to_string(i)));
  auto ingested = daemon_.ingest("us", events);
  ASSERT_TRUE(ingested.at("ok").as_bool()) << json::serialize(ingested);

  auto put = daemon_.call({{"op", "put_job"},
                           {"region", "us"},
                           {"start_at", formatRfc3339(start)},
                           {"end_at", formatRfc3339(start + 13'000)}});
  ASSERT_TRUE(put);
  ASSERT_EQ(put->at("code").as_int64(), 202) << json::serialize(*put);
  auto job = daemon_.waitJobEnded("us", 60s);
  ASSERT_TRUE(job) << daemon_.log();
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);

  std::lock_guard lock(mutex);
  std::size_t total = 0;
  for (const auto& [at, n] : arrivals) total += n;
  ASSERT_EQ(total, 13'000u);
  const auto window = std::chrono::seconds(5);
  std::size_t most = 0;
  for (std::size_t first = 0; first < arrivals.size(); ++first) {
    std::size_t in_window = 0;
    for (std::size_t i = first;
         i < arrivals.size() && arrivals[i].first - arrivals[first].first < window; ++i) {
      in_window += arrivals[i].second;
    }
    EXPECT_LE(in_window, 11'000u) << "the 5 s from request " << first;
    most = std::max(most, in_window);
  }
  std::printf(
      "rate_limit 2000/s: at most %zu events in a 5 s window (10000 allowed), %.2f s in all\n",
      most, std::chrono::duration<double>(arrivals.back().first - arrivals.front().first).count());
  // 13,000 events at 2,000/s, less the first tenth of a second's burst.
  EXPECT_GE(arrivals.back().first - arrivals.front().first, std::chrono::milliseconds(6'000));
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

TEST_F(ReplayE2E, RejectsInvalidRequestsWithTheirCodes) {
  daemon_.writeConfig(regionYaml(receiver_.url()) + "  eu:\n    webhook: {endpoint: \"" +
                      receiver_.url() + "\", enabled: false}\n");
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t now = nowMs();
  auto put = [&](json::object extra) {
    json::object req{{"op", "put_job"}, {"region", "us"}};
    for (auto& [k, v] : extra) req[k] = v;
    return daemon_.call(req).value_or(json::object{});
  };
  auto expectRefused = [&](json::object req, int code, const std::string& mentions) {
    auto answer = put(req);
    EXPECT_FALSE(answer.at("ok").as_bool()) << json::serialize(answer);
    EXPECT_EQ(answer.at("code").as_int64(), code) << json::serialize(answer);
    EXPECT_NE(std::string(answer.at("error").as_string()).find(mentions), std::string::npos)
        << json::serialize(answer);
  };
  std::string hour_ago = isoMillis(now - 3'600'000), now_s = isoMillis(now);
  expectRefused({{"end_at", now_s}}, 400, "start_at");
  expectRefused({{"start_at", hour_ago}}, 400, "end_at");
  expectRefused({{"start_at", "yesterday"}, {"end_at", now_s}}, 400, "start_at");
  expectRefused({{"start_at", "2026-11-20T20:00:00"}, {"end_at", now_s}}, 400, "start_at");
  expectRefused({{"start_at", now_s}, {"end_at", hour_ago}}, 400, "end_at");
  expectRefused({{"start_at", isoMillis(now - 8 * 86'400'000LL)}, {"end_at", now_s}}, 400,
                "start_at");
  expectRefused({{"start_at", hour_ago}, {"end_at", isoMillis(now + 120'000)}}, 400, "end_at");
  expectRefused({{"region", "mars"}, {"start_at", hour_ago}, {"end_at", now_s}}, 404, "mars");
  expectRefused({{"region", "eu"}, {"start_at", hour_ago}, {"end_at", now_s}}, 400,
                "webhook for region eu is not enabled");

  // A region that never had a job: 200 "unconfigured" with Konnect's zero times.
  auto get = daemon_.call({{"op", "get_job"}, {"region", "us"}});
  EXPECT_EQ(get->at("code").as_int64(), 200);
  EXPECT_EQ(get->at("job").at("status").as_string(), "unconfigured");
  for (const char* field : {"start_at", "end_at", "created_at", "updated_at"}) {
    EXPECT_EQ(get->at("job").at(field).as_string(), "0001-01-01T00:00:00Z") << field;
  }
  auto bad_op = daemon_.call({{"op", "dance"}});
  EXPECT_EQ(bad_op->at("code").as_int64(), 400);
}

TEST_F(ReplayE2E, RunningJobAnswers409AndCancelFailsIt) {
  // The receiver holds every request for a while so the job stays running.
  receiver_.setScript([](const sink::ReceivedRequest&, std::size_t) {
    sink::Reply r;
    r.delay = std::chrono::milliseconds(300);
    return r;
  });
  daemon_.writeConfig(regionYaml(receiver_.url(), "", "{max_events: 10, max_bytes: 1MiB}"));
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t start = nowMs() - 600'000;
  std::vector<std::string> events;
  for (int i = 0; i < 500; ++i) events.push_back(makeEvent(start + i, "x" + std::to_string(i)));
  ASSERT_TRUE(daemon_.ingest("us", events).at("ok").as_bool());
  json::object req{{"op", "put_job"},
                   {"region", "us"},
                   {"start_at", isoMillis(start)},
                   {"end_at", isoMillis(start + 1000)}};
  ASSERT_EQ(daemon_.call(req)->at("code").as_int64(), 202);
  ASSERT_TRUE(waitUntil(
      [&] {
        return daemon_.call({{"op", "get_job"}, {"region", "us"}})
                   ->at("job")
                   .at("status")
                   .as_string() == "running";
      },
      10s));
  auto again = daemon_.call(req);
  EXPECT_EQ(again->at("code").as_int64(), 409) << json::serialize(*again);

  auto canceled = daemon_.call({{"op", "cancel_job"}, {"region", "us"}});
  ASSERT_EQ(canceled->at("code").as_int64(), 200) << json::serialize(*canceled);
  EXPECT_EQ(canceled->at("job").at("status").as_string(), "failed");
  EXPECT_EQ(canceled->at("job").at("error").at("reason").as_string(), "canceled");
  auto twice = daemon_.call({{"op", "cancel_job"}, {"region", "us"}});
  EXPECT_EQ(twice->at("code").as_int64(), 409);
  // Once ended, a new request replaces the job.
  EXPECT_EQ(daemon_.call(req)->at("code").as_int64(), 202);
}

TEST_F(ReplayE2E, NonRetryableAnswerFailsTheJobWithTheCode) {
  receiver_.setScript([](const sink::ReceivedRequest&, std::size_t) {
    sink::Reply r;
    r.status = 400;
    r.body = "bad token format";
    return r;
  });
  daemon_.writeConfig(regionYaml(receiver_.url()));
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t start = nowMs() - 600'000;
  ASSERT_TRUE(daemon_.ingest("us", {makeEvent(start, "a")}).at("ok").as_bool());
  daemon_.call({{"op", "put_job"},
                {"region", "us"},
                {"start_at", isoMillis(start)},
                {"end_at", isoMillis(start + 10)}});
  auto job = daemon_.waitJobEnded("us");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->at("status").as_string(), "failed");
  EXPECT_EQ(job->at("error").at("last_response_code").as_int64(), 400);
  auto hook = daemon_.call({{"op", "webhook_status"}, {"region", "us"}});
  EXPECT_EQ(hook->at("webhook").at("webhook_status").as_string(), "inactive");
  EXPECT_EQ(hook->at("webhook").at("last_response_code").as_int64(), 400);
}

TEST_F(ReplayE2E, RetriesServerErrorsThenCompletes) {
  receiver_.setScript([](const sink::ReceivedRequest&, std::size_t n) {
    sink::Reply r;
    if (n < 3) r.status = 503;
    return r;
  });
  daemon_.writeConfig(regionYaml(receiver_.url()));
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t start = nowMs() - 600'000;
  ASSERT_TRUE(
      daemon_.ingest("us", {makeEvent(start, "a"), makeEvent(start + 1, "b")}).at("ok").as_bool());
  daemon_.call({{"op", "put_job"},
                {"region", "us"},
                {"start_at", isoMillis(start)},
                {"end_at", isoMillis(start + 10)}});
  auto job = daemon_.waitJobEnded("us");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
  EXPECT_EQ(receiver_.acceptedEvents().size(), 2u);
  auto stats = daemon_.call({{"op", "stats"}});
  EXPECT_EQ(stats->at("stats").at("retries").as_int64(), 3);
  auto hook = daemon_.call({{"op", "webhook_status"}, {"region", "us"}});
  EXPECT_EQ(hook->at("webhook").at("webhook_status").as_string(), "active");
}

}  // namespace
}  // namespace audit::e2e
