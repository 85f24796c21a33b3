#include "source/event_time.hpp"

#include <gtest/gtest.h>

namespace audit::source {
namespace {

EpochMillis timeOf(std::string_view json) {
  EventTime t = extractEventTime(json);
  EXPECT_TRUE(t.ok) << json << ": " << t.reason;
  return t.ms;
}

std::string reasonOf(std::string_view json) {
  EventTime t = extractEventTime(json);
  EXPECT_FALSE(t.ok) << json;
  return t.reason;
}

TEST(EventTime, RtIntegerMillis) {
  EXPECT_EQ(timeOf(R"({"rt":1700000000123})"), 1700000000123);
  EXPECT_EQ(timeOf(R"({"rt":-5})"), -5);
  EXPECT_EQ(timeOf(R"(  {"a":1,"rt":0}  )"), 0);
}

TEST(EventTime, RtNumericString) {
  EXPECT_EQ(timeOf(R"({"rt":"1700000000123"})"), 1700000000123);
  EXPECT_EQ(timeOf(R"({"rt":"1700000000123.000"})"), 1700000000123);
}

TEST(EventTime, RtFloatWithIntegralValue) {
  EXPECT_EQ(timeOf(R"({"rt":1.7e12})"), 1700000000000);
  EXPECT_EQ(timeOf(R"({"rt":1700000000123.0})"), 1700000000123);
}

TEST(EventTime, RtThatIsNotMillisIsRejected) {
  for (auto json :
       {R"({"rt":1.5})", R"({"rt":"abc"})", R"({"rt":"12 "})", R"({"rt":""})", R"({"rt":true})",
        R"({"rt":[1]})", R"({"rt":18446744073709551615})", R"({"rt":1e300})", R"({"rt":"inf"})"}) {
    EXPECT_EQ(reasonOf(json), "rt is not a number of milliseconds") << json;
  }
}

TEST(EventTime, RtWinsOverEventTs) {
  EXPECT_EQ(timeOf(R"({"event_ts":"2026-11-20T20:00:00Z","rt":7})"), 7);
}

TEST(EventTime, NullRtFallsBackToEventTs) {
  EXPECT_EQ(timeOf(R"({"rt":null,"event_ts":"1970-01-01T00:00:01Z"})"), 1000);
}

TEST(EventTime, EventTsWithZonesAndFractions) {
  EXPECT_EQ(timeOf(R"({"event_ts":"2026-11-20T20:00:00Z"})"), 1795204800000);
  EXPECT_EQ(timeOf(R"({"event_ts":"2026-11-20T20:00:00.123Z"})"), 1795204800123);
  EXPECT_EQ(timeOf(R"({"event_ts":"2026-11-20T21:00:00.5+01:00"})"), 1795204800500);
  EXPECT_EQ(timeOf(R"({"event_ts":"2026-11-20T17:30:00-02:30"})"), 1795204800000);
  EXPECT_EQ(timeOf(R"({"event_ts":"2026-11-20t20:00:00z"})"), 1795204800000);
}

TEST(EventTime, EventTsWithoutZoneIsRejectedWithItsValue) {
  EXPECT_EQ(reasonOf(R"({"event_ts":"2026-11-20T20:00:00"})"),
            R"(event_ts is not an RFC 3339 time with zone: "2026-11-20T20:00:00")");
  EXPECT_EQ(reasonOf(R"({"event_ts":12})"), R"(event_ts is not an RFC 3339 time with zone: "12")");
}

TEST(EventTime, LongBadValueIsShortenedInTheReason) {
  std::string json = R"({"event_ts":")" + std::string(1000, 'x') + R"("})";
  EXPECT_LT(reasonOf(json).size(), 140u);
}

TEST(EventTime, MissingTimeIsRejected) {
  EXPECT_EQ(reasonOf(R"({"name":"kong.login"})"), "no rt or event_ts field");
  EXPECT_EQ(reasonOf(R"({"nested":{"rt":5}})"), "no rt or event_ts field");
}

TEST(EventTime, NonObjectsAndGarbageAreRejected) {
  EXPECT_EQ(reasonOf("[1,2]"), "not a JSON object");
  EXPECT_EQ(reasonOf("42"), "not a JSON object");
  EXPECT_EQ(reasonOf(R"("rt")"), "not a JSON object");
  for (auto json : {"{", "", "not json", R"({"rt":1} extra)", R"({"rt":1,})", "{'rt':1}"}) {
    EXPECT_TRUE(reasonOf(json).starts_with("invalid JSON: ")) << json;
  }
}

}  // namespace
}  // namespace audit::source
