#include "webhook/retry_policy.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

namespace audit::webhook {
namespace {

using namespace std::chrono_literals;
using Kind = Decision::Kind;

AttemptResult answered(int status, std::string body = {}) {
  AttemptResult a;
  a.status = status;
  a.body_excerpt = std::move(body);
  return a;
}

AttemptResult transportError(boost::system::error_code ec, std::string step) {
  AttemptResult a;
  a.error = ec;
  a.step = std::move(step);
  return a;
}

RetryOptions settings(unsigned max_attempts = 12, Millis max_elapsed = 15min) {
  RetryOptions s;
  s.initial_backoff = 1000ms;
  s.max_backoff = 30'000ms;
  s.max_attempts = max_attempts;
  s.max_elapsed = max_elapsed;
  return s;
}

TEST(RetryPolicy, DeliveredOn2xx) {
  FakeClock clock;
  RetryPolicy policy(settings(), clock, 1);
  for (int status : {200, 201, 202, 204, 299}) {
    policy.begin();
    EXPECT_EQ(policy.decide(answered(status)).kind, Kind::Delivered) << status;
  }
}

TEST(RetryPolicy, RetriesTransportErrorsAndRetryableStatuses) {
  FakeClock clock;
  RetryPolicy policy(settings(), clock, 1);
  Decision d = policy.decide(transportError(boost::asio::error::connection_refused, "connect"));
  EXPECT_EQ(d.kind, Kind::Retry);
  EXPECT_EQ(d.reason.rfind("connect failed: ", 0), 0u) << d.reason;
  EXPECT_LE(d.wait, 1000ms);
  for (int status : {408, 429, 500, 502, 503, 504, 599}) {
    policy.begin();
    d = policy.decide(answered(status, "busy"));
    EXPECT_EQ(d.kind, Kind::Retry) << status;
    EXPECT_EQ(d.reason, "webhook answered " + std::to_string(status) + ": busy");
  }
}

TEST(RetryPolicy, GivesUpOnOtherStatusesWithCodeAndBody) {
  FakeClock clock;
  RetryPolicy policy(settings(), clock, 1);
  Decision d = policy.decide(answered(400, "bad\nrequest"));
  EXPECT_EQ(d.kind, Kind::GiveUp);
  EXPECT_EQ(d.reason, "webhook answered 400: bad request");
  EXPECT_EQ(policy.attempts(), 1u);

  d = policy.decide(answered(413));
  EXPECT_EQ(d.kind, Kind::GiveUp);
  EXPECT_EQ(d.reason, "webhook answered 413; lower batch.max_bytes");
  d = policy.decide(answered(401, "no"));
  EXPECT_EQ(d.reason, "webhook answered 401: no; check webhook.authorization");
  d = policy.decide(answered(403));
  EXPECT_NE(d.reason.find("check webhook.authorization"), std::string::npos);
  for (int status : {100, 301, 302, 404, 409, 422}) {
    EXPECT_EQ(policy.decide(answered(status)).kind, Kind::GiveUp) << status;
  }
}

TEST(RetryPolicy, BodyExcerptIsCappedAt512Bytes) {
  FakeClock clock;
  RetryPolicy policy(settings(), clock, 1);
  Decision d = policy.decide(answered(400, std::string(2000, 'x')));
  EXPECT_EQ(d.reason, "webhook answered 400: " + std::string(512, 'x'));
}

TEST(RetryPolicy, GivesUpAfterMaxAttempts) {
  FakeClock clock;
  RetryPolicy policy(settings(3), clock, 1);
  EXPECT_EQ(policy.decide(answered(503)).kind, Kind::Retry);
  EXPECT_EQ(policy.decide(answered(503)).kind, Kind::Retry);
  Decision d = policy.decide(answered(503));
  EXPECT_EQ(d.kind, Kind::GiveUp);
  EXPECT_EQ(d.reason, "gave up after 3 attempts (retry.max_attempts); last: webhook answered 503");
  EXPECT_EQ(policy.attempts(), 3u);
}

TEST(RetryPolicy, GivesUpAfterMaxElapsed) {
  FakeClock clock;
  RetryPolicy policy(settings(100, 10s), clock, 1);
  EXPECT_EQ(policy.decide(answered(500)).kind, Kind::Retry);
  clock.advance(10s);
  Decision d = policy.decide(transportError(boost::asio::error::timed_out, "read"));
  EXPECT_EQ(d.kind, Kind::GiveUp);
  EXPECT_NE(d.reason.find("retry.max_elapsed 10s"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("read failed"), std::string::npos) << d.reason;
}

TEST(RetryPolicy, CutsABackoffThatWouldPassMaxElapsed) {
  FakeClock clock;
  RetryOptions s = settings(100, 10s);
  s.initial_backoff = 60s;
  s.max_backoff = 60s;
  RetryPolicy policy(s, clock, 1);
  clock.advance(9500ms);
  Decision d = policy.decide(answered(503));
  EXPECT_EQ(d.kind, Kind::Retry);
  EXPECT_LE(d.wait, 500ms);
}

TEST(RetryPolicy, HonoursRetryAfterAboveMaxBackoff) {
  FakeClock clock;
  RetryPolicy policy(settings(), clock, 1);
  AttemptResult a = answered(429);
  a.retry_after = 120s;  // above max_backoff (30s)
  Decision d = policy.decide(a);
  EXPECT_EQ(d.kind, Kind::Retry);
  EXPECT_EQ(d.wait, 120s);
}

TEST(RetryPolicy, RetryAfterPastMaxElapsedIsCutToTheRemainingBudget) {
  FakeClock clock;
  RetryPolicy policy(settings(12, 60s), clock, 1);
  clock.advance(30s);
  AttemptResult a = answered(503);
  a.retry_after = 45s;
  Decision d = policy.decide(a);
  EXPECT_EQ(d.kind, Kind::Retry);
  EXPECT_EQ(d.wait, 30s);  // what is left of max_elapsed: one last attempt at its edge
  clock.advance(d.wait);
  d = policy.decide(a);
  EXPECT_EQ(d.kind, Kind::GiveUp);
  EXPECT_EQ(d.reason,
            "gave up after 1m and 2 attempts (retry.max_elapsed 1m); last: webhook answered 503");
}

TEST(RetryPolicy, AnHourAndYear9999AreTreatedTheSame) {
  const SystemTime now = std::chrono::sys_days(std::chrono::year{2026} / 12 / 6) + 4h;
  auto far = parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now);
  ASSERT_TRUE(far);
  EXPECT_EQ(*far, Millis(1'000'000'000'000));  // clamped like delta-seconds, not wrapped to 0
  EXPECT_EQ(parseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", now), 0ms);  // past: at once
  for (Millis asked : {Millis(3600s), *far}) {
    FakeClock clock;
    RetryPolicy policy(settings(12, 15min), clock, 1);
    AttemptResult a = answered(429);
    a.retry_after = asked;
    clock.advance(1min);
    Decision d = policy.decide(a);
    EXPECT_EQ(d.kind, Kind::Retry);
    EXPECT_EQ(d.wait, 14min);
    clock.advance(d.wait);
    EXPECT_EQ(policy.decide(a).kind, Kind::GiveUp);
  }
}

TEST(RetryPolicy, BeginStartsAFreshBatch) {
  FakeClock clock;
  RetryPolicy policy(settings(2, 10s), clock, 1);
  EXPECT_EQ(policy.decide(answered(503)).kind, Kind::Retry);
  clock.advance(20s);
  policy.begin();
  EXPECT_EQ(policy.attempts(), 0u);
  EXPECT_EQ(policy.decide(answered(503)).kind, Kind::Retry);
  EXPECT_EQ(policy.decide(answered(503)).kind, Kind::GiveUp);
}

TEST(RetryPolicy, SchedulesGrowingJitteredWaits) {
  // The 1 s / 2 s / 4 s … schedule in microseconds: every wait under its doubling ceiling.
  FakeClock clock;
  RetryPolicy policy(settings(10, 1h), clock, 5);
  Millis ceiling = 1000ms;
  for (int i = 0; i < 9; ++i) {
    Decision d = policy.decide(answered(502));
    ASSERT_EQ(d.kind, Kind::Retry);
    EXPECT_LE(d.wait, ceiling);
    clock.advance(d.wait);
    ceiling = std::min(ceiling * 2, Millis(30'000));
  }
  EXPECT_EQ(policy.decide(answered(502)).kind, Kind::GiveUp);
}

TEST(ParseRetryAfter, Seconds) {
  SystemTime now{};
  EXPECT_EQ(parseRetryAfter("1", now), 1000ms);
  EXPECT_EQ(parseRetryAfter(" 120 ", now), 120s);
  EXPECT_EQ(parseRetryAfter("0", now), 0ms);
  EXPECT_EQ(parseRetryAfter("99999999999999999999999", now), Millis(1'000'000'000'000));
  EXPECT_FALSE(parseRetryAfter("", now));
  EXPECT_FALSE(parseRetryAfter("-5", now));
  EXPECT_FALSE(parseRetryAfter("1.5", now));
  EXPECT_FALSE(parseRetryAfter("soon", now));
}

TEST(ParseRetryAfter, HttpDatesInAllThreeForms) {
  // 1994-11-06T08:49:37Z, RFC 9110's example.
  SystemTime at(std::chrono::seconds(784111777));
  SystemTime now = at - 90s;
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), 90s);
  EXPECT_EQ(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 90s);
  EXPECT_EQ(parseRetryAfter("Sun Nov  6 08:49:37 1994", now), 90s);
  // A date already past means "now".
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", at + 1h), 0ms);
  EXPECT_FALSE(parseRetryAfter("Sun, 31 Feb 1994 08:49:37 GMT", now));
  EXPECT_FALSE(parseRetryAfter("Sun, 06 Foo 1994 08:49:37 GMT", now));
  EXPECT_FALSE(parseRetryAfter("Sun, 06 Nov 1994 25:49:37 GMT", now));
}

TEST(IsRetryableStatus, Classifies) {
  EXPECT_TRUE(isRetryableStatus(408));
  EXPECT_TRUE(isRetryableStatus(429));
  EXPECT_TRUE(isRetryableStatus(500));
  EXPECT_TRUE(isRetryableStatus(503));
  EXPECT_FALSE(isRetryableStatus(400));
  EXPECT_FALSE(isRetryableStatus(404));
  EXPECT_FALSE(isRetryableStatus(200));
}

}  // namespace
}  // namespace audit::webhook
