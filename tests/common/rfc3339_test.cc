#include "common/rfc3339.hpp"

#include <gtest/gtest.h>

namespace audit {
namespace {

TEST(Rfc3339, ParsesUtcWholeSecond) {
  auto t = parseRfc3339("2023-03-27T20:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ms, 1679947200000);
  EXPECT_FALSE(t->has_fraction);
}

TEST(Rfc3339, ParsesFractionAndOffset) {
  auto t = parseRfc3339("2023-03-27T21:30:00.5+01:30");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ms, 1679947200500);
  EXPECT_TRUE(t->has_fraction);
  auto neg = parseRfc3339("2023-03-27T15:00:00.123456-05:00");
  ASSERT_TRUE(neg);
  EXPECT_EQ(neg->ms, 1679947200123);
}

TEST(Rfc3339, AcceptsLowercaseSeparators) {
  EXPECT_TRUE(parseRfc3339("2023-03-27t20:00:00z"));
}

TEST(Rfc3339, LeapYears) {
  EXPECT_TRUE(parseRfc3339("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parseRfc3339("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("1900-02-29T00:00:00Z"));
  EXPECT_FALSE(parseRfc3339("2023-04-31T00:00:00Z"));
}

TEST(Rfc3339, RejectsGarbage) {
  for (const char* bad :
       {"", "2023", "2023-03-27", "2023-03-27T20:00:00", "2023-03-27 20:00:00Z",
        "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z", "2023-03-27T24:00:00Z",
        "2023-03-27T20:60:00Z", "2023-03-27T20:00:60Z", "2023-03-27T20:00:00.Z",
        "2023-03-27T20:00:00+0100", "2023-03-27T20:00:00+24:00", "2023-03-27T20:00:00Zjunk",
        "+2023-03-27T20:00:00Z", "2023-3-27T20:00:00Z", "２０２３-03-27T20:00:00Z",
        "2023-03-27T20:00:00.1234567890Z", "now"}) {
    const auto parsed = parseRfc3339(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.message(), "not an RFC 3339 date-time with zone (e.g. 2026-11-20T20:00:00Z)")
        << bad;
  }
}

TEST(Rfc3339, FormatsRoundTrip) {
  EXPECT_EQ(formatRfc3339(1679947200000), "2023-03-27T20:00:00Z");
  EXPECT_EQ(formatRfc3339(1679947200123), "2023-03-27T20:00:00.123Z");
  EXPECT_EQ(formatRfc3339Millis(1679947200000), "2023-03-27T20:00:00.000Z");
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  for (EpochMillis ms :
       {EpochMillis{951782400000}, EpochMillis{1709164800999}, EpochMillis{4102444799000}}) {
    auto parsed = parseRfc3339(formatRfc3339(ms));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->ms, ms);
  }
}

}  // namespace
}  // namespace audit
