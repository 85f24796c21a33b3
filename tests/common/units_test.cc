#include "common/units.hpp"

#include <gtest/gtest.h>

namespace audit {
namespace {

TEST(Units, ParsesDurations) {
  EXPECT_EQ(parseDuration("250ms"), Millis(250));
  EXPECT_EQ(parseDuration("10s"), Millis(10'000));
  EXPECT_EQ(parseDuration("5m"), Millis(300'000));
  EXPECT_EQ(parseDuration("2h"), Millis(7'200'000));
  EXPECT_EQ(parseDuration("7d"), Millis(604'800'000));
  EXPECT_EQ(parseDuration("0s"), Millis(0));
}

TEST(Units, RejectsBadDurations) {
  for (const char* bad : {"", "soon", "10", "-1s", "1.5s", "10 s", "10sec", "s",
                          "99999999999999999999d", "9223372036854775807d"}) {
    EXPECT_FALSE(parseDuration(bad)) << bad;
  }
}

TEST(Units, ParsesSizes) {
  EXPECT_EQ(parseSize("512KiB"), 512u * 1024);
  EXPECT_EQ(parseSize("1MiB"), 1u << 20);
  EXPECT_EQ(parseSize("4096"), 4096u);
  EXPECT_EQ(parseSize("2GiB"), 2ull << 30);
  EXPECT_FALSE(parseSize("1TB"));
  EXPECT_FALSE(parseSize("big"));
  EXPECT_FALSE(parseSize("-1"));
}

TEST(Units, FormatsDurations) {
  EXPECT_EQ(formatDuration(Millis(604'800'000)), "7d");
  EXPECT_EQ(formatDuration(Millis(90'000)), "90s");
  EXPECT_EQ(formatDuration(Millis(250)), "250ms");
}

}  // namespace
}  // namespace audit
