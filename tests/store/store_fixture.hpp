#pragma once
// A real store in a fresh temp dir, and small helpers to fill and read it.

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "store/event_store.hpp"
#include "tests/store/temp_dir.hpp"

namespace audit::store::testing {

/** A small event at time `rt` whose bytes differ by `tag`. */
inline std::string event(EpochMillis rt, std::string_view tag) {
  return R"({"rt":)" + std::to_string(rt) + R"(,"id":")" + std::string(tag) + R"("})";
}

struct ReadEvent {
  EpochMillis time;
  std::string bytes;
  bool operator==(const ReadEvent&) const = default;
};

inline constexpr source::TimeRange kAllTime{std::numeric_limits<EpochMillis>::min(),
                                            std::numeric_limits<EpochMillis>::max()};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    std::string detail;
    auto opened = Store::open(StoreOptions{.data_dir = dir_.path() / "data"}, &detail);
    ASSERT_TRUE(opened) << opened.error().message() << ": " << detail;
    store_ = std::move(*opened);
  }

  source::IngestReport ingest(source::EventSource& source, const std::vector<std::string>& events,
                              bool skip_invalid = false, std::size_t index_base = 0) {
    std::vector<std::string_view> views(events.begin(), events.end());
    auto report = source.ingest(views, skip_invalid, index_base);
    EXPECT_TRUE(report) << report.error().message();
    return report ? *report : source::IngestReport{};
  }

  /** Every event of `range`, read in batches of `limits`; checkpoints must increase. */
  std::vector<ReadEvent> readAll(source::EventSource& source, source::TimeRange range = kAllTime,
                                 BatchLimits limits = {}) {
    std::vector<ReadEvent> out;
    auto reader = source.openReader(range, {});
    EXPECT_TRUE(reader);
    if (!reader) return out;
    EventBatch batch;
    std::string previous;
    for (;;) {
      auto r = (*reader)->next(batch, limits);
      EXPECT_TRUE(r) << r.error().message();
      if (!r || batch.empty()) break;
      EXPECT_GT(batch.checkpoint, previous);
      previous = batch.checkpoint;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        out.push_back({batch.time(i), std::string(batch.event(i))});
      }
    }
    return out;
  }

  TempDir dir_;
  StorePtr store_;
};

}  // namespace audit::store::testing
