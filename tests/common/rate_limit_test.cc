#include "common/rate_limit.hpp"

#include <gtest/gtest.h>

namespace audit {
namespace {

using std::chrono::milliseconds;

const MonoTime kStart{};

TEST(TokenBucket, AFullBucketSendsATenthOfASecondAtOnce) {
  TokenBucket bucket(1000);  // 1000/s: holds 100
  EXPECT_EQ(bucket.take(100, kStart), milliseconds(0));
  EXPECT_EQ(bucket.take(10, kStart), milliseconds(10)) << "empty: 10 units take 10 ms";
}

TEST(TokenBucket, ABatchLargerThanTheBucketWaitsForItsDebt) {
  TokenBucket bucket(1000);
  EXPECT_EQ(bucket.take(500, kStart), milliseconds(400)) << "100 there, 400 owed";
  // Sent after its wait; the next batch of 500 waits its own 500 ms.
  EXPECT_EQ(bucket.take(500, kStart + milliseconds(400)), milliseconds(500));
}

TEST(TokenBucket, AnIdleSpellBuysNoMoreThanTheBurst) {
  TokenBucket bucket(1000);
  EXPECT_EQ(bucket.take(100, kStart), milliseconds(0));
  // An hour idle: still only 100 at once.
  EXPECT_EQ(bucket.take(200, kStart + std::chrono::hours(1)), milliseconds(100));
}

// Over a long run of batches each sent when its wait ends, what is sent in any window stays
// within the rate times the window, plus the burst and one batch.
TEST(TokenBucket, HoldsTheRateOverEveryWindow) {
  TokenBucket bucket(2000);
  MonoTime now = kStart;
  std::vector<std::pair<MonoTime, int>> sent;
  for (int i = 0; i < 400; ++i) {
    const int batch = 30 + (i * 37) % 70;  // 30 to 99 units
    now += bucket.take(batch, now);
    sent.emplace_back(now, batch);
  }
  const auto window = std::chrono::seconds(5);
  for (std::size_t first = 0; first < sent.size(); ++first) {
    int in_window = 0;
    for (std::size_t i = first; i < sent.size() && sent[i].first - sent[first].first < window;
         ++i) {
      in_window += sent[i].second;
    }
    EXPECT_LE(in_window, 2000 * 5 + 200 + 99) << "window starting at batch " << first;
  }
  // And the run as a whole goes at the rate: 400 batches of 64.5 on average.
  const double seconds = std::chrono::duration<double>(now - kStart).count();
  int total = 0;
  for (const auto& [at, n] : sent) total += n;
  EXPECT_NEAR(total / seconds, 2000.0, 2000.0 * 0.02);
}

TEST(RateLimiter, WaitsForTheSlowerOfItsTwoLimits) {
  RateLimiter limiter(1000.0, 1'000'000.0);  // 1000 events/s, 1 MB/s
  EXPECT_EQ(limiter.take(100, 100'000, kStart), milliseconds(0));
  EXPECT_EQ(limiter.take(10, 500'000, kStart), milliseconds(500)) << "the bytes decide";
  RateLimiter events_only(1000.0, std::nullopt);
  EXPECT_EQ(events_only.take(100, 1u << 30, kStart), milliseconds(0)) << "bytes unlimited";
}

}  // namespace
}  // namespace audit
