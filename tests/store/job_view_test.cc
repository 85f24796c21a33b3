// A job reads the store as it was when its range was sized (plan()): events ingested into
// the range afterwards, even behind the reader's position, are not part of it, so the count
// it shows and what it delivers agree.

#include <gtest/gtest.h>

#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

class JobViewTest : public StoreTest {};

std::uint64_t drain(source::EventReader& reader, std::vector<std::string>* seen,
                    std::size_t max = SIZE_MAX) {
  EventBatch batch;
  std::uint64_t n = 0;
  while (n < max) {
    auto r = reader.next(batch, BatchLimits{1, 1 << 20});
    EXPECT_TRUE(r);
    if (!r || batch.empty()) break;
    for (std::size_t i = 0; i < batch.size(); ++i) seen->emplace_back(batch.event(i));
    n += batch.size();
  }
  return n;
}

TEST_F(JobViewTest, ThePlanFixesWhatTheJobReadsLaterArrivalsAreNotPartOfIt) {
  auto us = store_->region("us");
  const EpochMillis t0 = 1'700'000'000'000;
  std::vector<std::string> first;
  for (int i = 0; i < 10; ++i) first.push_back(event(t0 + i * 1000, "a" + std::to_string(i)));
  ingest(*us, first);
  const source::TimeRange range{t0, t0 + 60'000};

  auto plan = us->plan(range, nullptr);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->count, 10u);
  ASSERT_TRUE(plan->view);

  auto reader = us->openReaderAt(range, plan->checkpoint, plan->view);
  ASSERT_TRUE(reader);
  std::vector<std::string> seen;
  EXPECT_EQ(drain(**reader, &seen, 5), 5u);  // the job is half way
  // Arrivals behind the read position, ahead of it, and a whole later minute.
  ingest(*us, {event(t0 + 500, "behind"), event(t0 + 8'500, "ahead"), event(t0 + 59'000, "late")});

  // Read on, and as after a reopen at a checkpoint (what a retry does): same view.
  drain(**reader, &seen);
  EXPECT_EQ(seen.size(), plan->count);
  for (const auto& e : seen) {
    EXPECT_EQ(e.find("behind"), std::string::npos);
    EXPECT_EQ(e.find("ahead"), std::string::npos);
    EXPECT_EQ(e.find("late"), std::string::npos);
  }
  auto again = us->openReaderAt(range, {}, plan->view);
  ASSERT_TRUE(again);
  std::vector<std::string> reread;
  EXPECT_EQ(drain(**again, &reread), 10u);

  // The later arrivals are stored: the next job (a new plan) has them.
  auto next = us->plan(range, nullptr);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->count, 13u);
  auto latest = us->openReader(range, {});
  ASSERT_TRUE(latest);
  std::vector<std::string> all;
  EXPECT_EQ(drain(**latest, &all), 13u);
}

TEST_F(JobViewTest, WithoutAViewAReaderSeesTheLatest) {
  auto us = store_->region("us");
  const EpochMillis t0 = 1'700'000'000'000;
  ingest(*us, {event(t0, "a")});
  const source::TimeRange range{t0, t0 + 1000};
  auto reader = us->openReaderAt(range, {}, nullptr);
  ASSERT_TRUE(reader);
  ingest(*us, {event(t0 + 1, "b")});
  auto fresh = us->openReaderAt(range, {}, nullptr);
  std::vector<std::string> seen;
  EXPECT_EQ(drain(**fresh, &seen), 2u);
}

}  // namespace
}  // namespace audit::store::testing
