// Range counts come from per-minute counts plus the two partial minutes at the ends; every
// answer here is checked against a plain count of what was ingested.

#include "store/detail/minute_counts.hpp"

#include <rocksdb/db.h>

#include <algorithm>
#include <random>

#include "store/detail/key_codec.hpp"
#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

using detail::bucketStart;
using detail::kCountBucketMs;

constexpr EpochMillis kMin = std::numeric_limits<EpochMillis>::min();
constexpr EpochMillis kMax = std::numeric_limits<EpochMillis>::max();

std::uint64_t expected(const std::vector<EpochMillis>& times, source::TimeRange range) {
  return static_cast<std::uint64_t>(std::count_if(times.begin(), times.end(), [&](EpochMillis t) {
    return t >= range.first && t <= range.last;
  }));
}

TEST(MinuteBucket, FloorsPositiveNegativeAndExtremeTimes) {
  EXPECT_EQ(bucketStart(0), 0);
  EXPECT_EQ(bucketStart(59'999), 0);
  EXPECT_EQ(bucketStart(60'000), 60'000);
  EXPECT_EQ(bucketStart(-1), -60'000);
  EXPECT_EQ(bucketStart(-60'000), -60'000);
  EXPECT_EQ(bucketStart(-60'001), -120'000);
  EXPECT_EQ(bucketStart(kMin), kMin);  // no minute starts at or before INT64_MIN: clamped
  EXPECT_EQ(bucketStart(kMax) % kCountBucketMs, 0);
  EXPECT_LE(bucketStart(kMax), kMax);
  EXPECT_GT(bucketStart(kMax), kMax - kCountBucketMs);
}

TEST(MinuteBucket, CountsRoundTrip) {
  for (std::uint64_t n :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    EXPECT_EQ(detail::decodeCount(detail::encodeCount(n)), n);
  }
  EXPECT_EQ(detail::decodeCount(rocksdb::Slice("abc")), 0u);
}

class MinuteCountsTest : public StoreTest {
 protected:
  // Events over three hours, many per minute, some in the same millisecond, some at the
  // extremes of the time line, ingested in several out-of-order calls.
  void fill() {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<EpochMillis> offset(0, 3 * 3'600'000);
    for (int i = 0; i < 3000; ++i) times_.push_back(base_ + offset(rng));
    for (int i = 0; i < 20; ++i) times_.push_back(base_ + 60'000 * i);  // on minute starts
    for (int i = 0; i < 20; ++i) times_.push_back(base_ + 60'000 * i - 1);
    times_.insert(times_.end(), {kMin, kMin + 1, kMax, kMax - 1, -1, 0, -60'000});
    std::shuffle(times_.begin(), times_.end(), rng);
    auto us = store_->region("us");
    for (std::size_t from = 0; from < times_.size(); from += 500) {
      std::vector<std::string> texts;
      for (std::size_t i = from; i < std::min(times_.size(), from + 500); ++i) {
        texts.push_back(event(times_[i], "e" + std::to_string(i)));
      }
      std::vector<std::string_view> views(texts.begin(), texts.end());
      auto report = us->ingest(views, false);
      ASSERT_TRUE(report);
      ASSERT_EQ(report->ingested, views.size());
      // Resending counts nothing twice.
      ASSERT_EQ(us->ingest(views, false)->duplicates, views.size());
    }
  }

  void expectCountsMatch(std::uint64_t seed) {
    auto us = store_->region("us");
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<EpochMillis> at(base_ - 120'000, base_ + 3 * 3'600'000 + 120'000);
    std::vector<source::TimeRange> ranges{kAllTime,
                                          {kMin, kMin},
                                          {kMax, kMax},
                                          {kMin, 0},
                                          {0, kMax},
                                          {base_, base_ + 59'999},
                                          {base_, base_ + 60'000},
                                          {base_ - 1, base_ + 60'000},
                                          {base_ + 1, base_}};
    for (int i = 0; i < 400; ++i) {
      EpochMillis a = at(rng);
      EpochMillis b = i % 4 == 0 ? a + static_cast<EpochMillis>(rng() % 130'000) : at(rng);
      ranges.push_back({std::min(a, b), std::max(a, b)});
    }
    for (const source::TimeRange& r : ranges) {
      auto n = us->count(r);
      ASSERT_TRUE(n);
      EXPECT_EQ(*n, expected(times_, r)) << "range " << r.first << " .. " << r.last;
    }
  }

  const EpochMillis base_ = 1'700'000'000'000 - 1'700'000'000'000 % kCountBucketMs;
  std::vector<EpochMillis> times_;
};

TEST_F(MinuteCountsTest, RangeCountsEqualAPlainCount) {
  fill();
  expectCountsMatch(1);
}

TEST_F(MinuteCountsTest, RetentionCuttingAMinuteKeepsCountsExact) {
  fill();
  const EpochMillis cutoff = base_ + 90 * 60'000 + 12'345;  // inside a minute
  ASSERT_TRUE(store_->removeBefore(cutoff));
  std::erase_if(times_, [&](EpochMillis t) { return t < cutoff; });
  expectCountsMatch(2);
  // Ingest into the cut minute after retention adds to the recounted value.
  auto us = store_->region("us");
  std::string late = event(cutoff + 1, "late");
  std::string_view view = late;
  ASSERT_EQ(us->ingest({&view, 1}, false)->ingested, 1u);
  times_.push_back(cutoff + 1);
  expectCountsMatch(3);
}

TEST_F(MinuteCountsTest, CountsSurviveReopen) {
  fill();
  reopen();
  expectCountsMatch(4);
}

// A store whose counts are missing or partial (written before they existed, or a rebuild
// cut short) rebuilds them from the events at open.
TEST_F(MinuteCountsTest, MissingCountsAreRebuiltAtOpen) {
  fill();
  store_.reset();
  {
    // Without the merge operator, WAL recovery would stop at the first count it cannot apply.
    rocksdb::ColumnFamilyOptions counts;
    counts.merge_operator = detail::makeCountMergeOperator();
    std::vector<rocksdb::ColumnFamilyDescriptor> families{
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"events", rocksdb::ColumnFamilyOptions()},
        {"records", rocksdb::ColumnFamilyOptions()},
        {"counts", counts},
        {"signatures", rocksdb::ColumnFamilyOptions()},
        {"arrivals", rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), (dir_.path() / "data").string(), families,
                                  &handles, &raw)
                    .ok());
    ASSERT_TRUE(
        raw->Delete(rocksdb::WriteOptions(), handles[3], std::string_view("\0complete", 9)).ok());
    // Leave a wrong partial count behind, as a cut-short rebuild could.
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[3], detail::timeKey("us", base_),
                         detail::encodeCount(123456))
                    .ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  reopen();
  expectCountsMatch(5);
}

}  // namespace
}  // namespace audit::store::testing
