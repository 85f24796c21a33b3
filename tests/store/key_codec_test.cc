#include "store/detail/key_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace audit::store::detail {
namespace {

TEST(KeyCodec, BytewiseOrderIsTimeOrderIncludingNegativeTimes) {
  std::vector<EpochMillis> times{
      std::numeric_limits<EpochMillis>::min(), -86'400'000, -1, 0, 1, 1'795'204'800'000,
      std::numeric_limits<EpochMillis>::max()};
  std::vector<std::string> keys;
  for (auto t : times) keys.push_back(eventKey("us", t, 0));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (std::size_t i = 0; i < times.size(); ++i) EXPECT_EQ(keyTime(keys[i], 3), times[i]);
}

TEST(KeyCodec, RegionRunsDoNotInterleave) {
  // "us" < "us\x01" (end of us) <= "us1..." and "u"'s keys all sort before "us"'s.
  std::string max_u = eventKey("u", std::numeric_limits<EpochMillis>::max(), ~0ULL);
  std::string min_us = eventKey("us", std::numeric_limits<EpochMillis>::min(), 0);
  std::string max_us = eventKey("us", std::numeric_limits<EpochMillis>::max(), ~0ULL);
  std::string min_us1 = eventKey("us1", std::numeric_limits<EpochMillis>::min(), 0);
  EXPECT_LT(max_u, min_us);
  EXPECT_LT(max_us, regionEnd("us"));
  EXPECT_LE(regionEnd("us"), min_us1);
  EXPECT_EQ(regionPrefix("us"),
            timeKey("us", std::numeric_limits<EpochMillis>::min()).substr(0, 3));
}

TEST(KeyCodec, ProbingMovesToTheNextHashOfTheSameTime) {
  std::string key = eventKey("us", 5, 41);
  nextProbe(key);
  EXPECT_EQ(key, eventKey("us", 5, 42));
}

// The hash is part of every stored key: if these change, existing stores stop deduplicating.
TEST(KeyCodec, EventHashIsStable) {
  EXPECT_EQ(toHex(eventHash("")), "efd01f60ba992926");
  EXPECT_EQ(toHex(eventHash("a")), "25ad9d1b70de62d1");
  EXPECT_EQ(toHex(eventHash(R"({"rt":1})")), "c14de994f7b2f33c");
  EXPECT_EQ(toHex(eventHash("0123456789abcdefXYZ")), "997c83e6ec5a108a");
}

TEST(KeyCodec, RegionNames) {
  EXPECT_TRUE(validRegionName("us"));
  EXPECT_FALSE(validRegionName(""));
  EXPECT_FALSE(validRegionName(std::string("a\0b", 3)));
  EXPECT_FALSE(validRegionName(std::string(256, 'r')));
}

}  // namespace
}  // namespace audit::store::detail
