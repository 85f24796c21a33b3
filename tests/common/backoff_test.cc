#include "common/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace audit {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, CeilingDoublesUpToTheCapAndWaitsStayUnderIt) {
  Backoff b(1000ms, 30'000ms, 42);
  std::vector<Millis> ceilings;
  for (int i = 0; i < 8; ++i) {
    Millis ceiling = b.currentCeiling();
    ceilings.push_back(ceiling);
    Millis wait = b.next();
    EXPECT_GE(wait, 0ms);
    EXPECT_LE(wait, ceiling);
  }
  EXPECT_EQ(ceilings, (std::vector<Millis>{1000ms, 2000ms, 4000ms, 8000ms, 16'000ms, 30'000ms,
                                           30'000ms, 30'000ms}));
}

TEST(Backoff, NeverOverflowsHoweverLongItRuns) {
  Backoff b(1ms, Millis(std::numeric_limits<Millis::rep>::max()), 1);
  for (int i = 0; i < 200; ++i) {
    Millis before = b.currentCeiling();
    EXPECT_LE(b.next(), before);
    EXPECT_GE(b.currentCeiling(), before);
  }
  EXPECT_EQ(b.currentCeiling(), Millis(std::numeric_limits<Millis::rep>::max()));
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(500ms, 10'000ms, 3);
  for (int i = 0; i < 5; ++i) b.next();
  EXPECT_EQ(b.currentCeiling(), 10'000ms);
  b.reset();
  EXPECT_EQ(b.currentCeiling(), 500ms);
}

TEST(Backoff, JitterSpreadsTheWaits) {
  Backoff b(10'000ms, 10'000ms, 99);
  Millis lo = 10'000ms, hi = 0ms;
  for (int i = 0; i < 1000; ++i) {
    Millis w = b.next();
    lo = std::min(lo, w);
    hi = std::max(hi, w);
  }
  EXPECT_LT(lo, 1000ms);
  EXPECT_GT(hi, 9000ms);
}

}  // namespace
}  // namespace audit
