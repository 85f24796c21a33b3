// The EventSource contract, run over every implementation: the local RocksDB store, the
// in-memory double and a Kafka topic on librdkafka's mock cluster (3 partitions).
// Orders differ by design: the store reads in global time order; a Kafka reader promises
// time order inside each batch only (docs/kafka.md). So the suite compares sets of events and
// checks each batch's order.

#include <gtest/gtest.h>

#include <set>

#include "store/event_store.hpp"
#include "tests/fakes/memory_source.hpp"
#include "tests/fakes/temp_dir.hpp"
#include "tests/kafka/mock_cluster.hpp"
#include "tests/kafka/test_events.hpp"

namespace audit::kafka::testing {
namespace {

struct RocksDbBackend {
  RocksDbBackend() {
    std::string detail;
    auto opened = store::Store::open({.data_dir = dir.path() / "data"}, &detail);
    if (!opened) throw std::runtime_error("store: " + detail);
    store = std::move(*opened);
    source = store->region("us");
  }
  audit::testing::TempDir dir{"audit-kafka-contract"};
  store::StorePtr store;
  source::EventSourcePtr source;
};

struct MemoryBackend {
  source::EventSourcePtr source = std::make_shared<fakes::MemorySource>();
};

struct KafkaBackend {
  MockCluster cluster{3};
  source::EventSourcePtr source = cluster.source();
};

template <class Backend>
class SourceContract : public ::testing::Test {
 protected:
  source::IngestReport ingest(const std::vector<std::string>& events, bool skip_invalid = false,
                              std::size_t index_base = 0) {
    auto v = views(events);
    auto report = source().ingest(v, skip_invalid, index_base);
    EXPECT_TRUE(report) << report.error().message();
    return report ? *report : source::IngestReport{};
  }

  std::vector<ReadEvent> readRange(source::TimeRange range, BatchLimits limits = {}) {
    auto reader = source().openReader(range, {});
    EXPECT_TRUE(reader) << reader.error().message();
    if (!reader) return {};
    return drain(**reader, limits);
  }

  /** Events at 1000..1000+n-1 ms, one per ms, tagged by position. */
  std::vector<std::string> ladder(int n, std::string_view prefix = "e") {
    std::vector<std::string> events;
    for (int i = 0; i < n; ++i)
      events.push_back(event(1000 + i, std::string(prefix) + std::to_string(i)));
    return events;
  }

  static std::vector<ReadEvent> expected(const std::vector<std::string>& events,
                                         source::TimeRange range) {
    std::vector<ReadEvent> out;
    for (const auto& e : events) {
      EpochMillis t = source::extractEventTime(e).ms;
      if (t >= range.first && t <= range.last) out.push_back({t, e});
    }
    return sorted(out);
  }

  source::EventSource& source() { return *backend_.source; }

  Backend backend_;
};

using Backends = ::testing::Types<RocksDbBackend, MemoryBackend, KafkaBackend>;

class BackendNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, RocksDbBackend>) return "RocksDb";
    if constexpr (std::is_same_v<T, MemoryBackend>) return "Memory";
    return "Kafka";
  }
};

TYPED_TEST_SUITE(SourceContract, Backends, BackendNames);

TYPED_TEST(SourceContract, ReadsExactlyTheEventsOfTheRange) {
  auto events = this->ladder(60);
  EXPECT_EQ(this->ingest(events).ingested, 60u);
  source::TimeRange range{1010, 1039};
  EXPECT_EQ(sorted(this->readRange(range)), this->expected(events, range));
  EXPECT_EQ(sorted(this->readRange(kAllTime)), this->expected(events, kAllTime));
  EXPECT_TRUE(this->readRange({2000, 3000}).empty());
  EXPECT_TRUE(this->readRange({1030, 1020}).empty()) << "an inverted range is empty";
}

TYPED_TEST(SourceContract, RangeIsInclusiveAtBothEnds) {
  auto events = this->ladder(10);
  this->ingest(events);
  auto read = sorted(this->readRange({1003, 1005}));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read.front().time, 1003);
  EXPECT_EQ(read.back().time, 1005);
}

TYPED_TEST(SourceContract, CountIsAtLeastTheEventsOfTheRange) {
  auto events = this->ladder(40);
  this->ingest(events);
  source::TimeRange range{1005, 1024};
  auto counted = this->source().count(range);
  ASSERT_TRUE(counted) << counted.error().message();
  if (this->source().countIsExact()) {
    EXPECT_EQ(*counted, 20u);
  } else {
    EXPECT_GE(*counted, 20u);
  }
}

TYPED_TEST(SourceContract, AReaderOpenedFromThePlanReadsExactlyTheRange) {
  auto events = this->ladder(60);
  this->ingest(events);
  source::TimeRange range{1010, 1039};
  std::string detail;
  auto plan = this->source().plan(range, &detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_EQ(plan->exact, this->source().countIsExact());
  if (plan->exact) {
    EXPECT_EQ(plan->count, 30u);
  } else {
    EXPECT_GE(plan->count, 30u);
  }
  auto reader = this->source().openReader(range, plan->checkpoint);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(sorted(drain(**reader)), this->expected(events, range));
}

TYPED_TEST(SourceContract, BatchesRespectTheLimits) {
  auto events = this->ladder(50);
  this->ingest(events);
  for (BatchLimits limits : {BatchLimits{7, 1 << 20}, BatchLimits{100, 120}, BatchLimits{0, 1}}) {
    // collect() checks each batch's size and bytes; a single larger event may go alone.
    EXPECT_EQ(sorted(this->readRange(kAllTime, limits)), this->expected(events, kAllTime))
        << "max_events=" << limits.max_events << " max_bytes=" << limits.max_bytes;
  }
}

TYPED_TEST(SourceContract, ResumingFromACheckpointContinuesWithoutLoss) {
  auto events = this->ladder(45);
  this->ingest(events);
  source::TimeRange range{1002, 1040};
  for (int stop_after : {1, 2, 4}) {
    auto reader = this->source().openReader(range, {});
    ASSERT_TRUE(reader);
    std::vector<ReadEvent> read;
    EventBatch batch;
    const BatchLimits limits{6, 1 << 20};
    for (int b = 0; b < stop_after; ++b) {
      ASSERT_TRUE((*reader)->next(batch, limits));
      ASSERT_FALSE(batch.empty());
      collect(batch, limits, read);
    }
    std::string checkpoint = batch.checkpoint;
    reader->reset();  // as a restart would

    auto resumed = this->source().openReader(range, checkpoint);
    ASSERT_TRUE(resumed) << resumed.error().message();
    auto rest = drain(**resumed, limits);
    read.insert(read.end(), rest.begin(), rest.end());
    EXPECT_EQ(sorted(read), this->expected(events, range)) << "stopped after " << stop_after;
  }
}

TYPED_TEST(SourceContract, ABatchReadAgainFromItsCheckpointKeepsItsIdentity) {
  auto events = this->ladder(30);
  this->ingest(events);
  auto first = *this->source().openReader(kAllTime, {});
  EventBatch batch;
  ASSERT_TRUE(first->next(batch, {5, 1 << 20}));
  ASSERT_TRUE(first->next(batch, {5, 1 << 20}));
  const std::string checkpoint = batch.checkpoint;

  std::set<std::string> identities;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto again = *this->source().openReader(kAllTime, checkpoint);
    ASSERT_TRUE(again->next(batch, {5, 1 << 20}));
    ASSERT_FALSE(batch.empty());
    identities.insert(batch.identity);
  }
  EXPECT_EQ(identities.size(), 1u) << "the same batch read twice got two identities";
}

TYPED_TEST(SourceContract, OneBadEventStoresNothingOfTheCall) {
  std::vector<std::string> events{event(1000, "a"), R"({"id":"no time"})", "not json",
                                  event(1001, "b")};
  auto report = this->ingest(events, false, 10);
  EXPECT_EQ(report.ingested, 0u);
  ASSERT_EQ(report.rejected.size(), 2u);
  EXPECT_EQ(report.rejected[0].index, 11u);
  EXPECT_EQ(report.rejected[1].index, 12u);
  EXPECT_FALSE(report.rejected[0].reason.empty());
  EXPECT_TRUE(this->readRange(kAllTime).empty());

  report = this->ingest(events, true, 10);
  EXPECT_EQ(report.ingested, 2u);
  EXPECT_EQ(report.rejected.size(), 2u);
  EXPECT_EQ(sorted(this->readRange(kAllTime)),
            (std::vector<ReadEvent>{{1000, events[0]}, {1001, events[3]}}));
}

TYPED_TEST(SourceContract, StoresTheTrimmedBytesAndCompactsMultiLineEvents) {
  std::vector<std::string> events{"  " + event(1000, "a") + "\n",
                                  "{\n  \"rt\": 1001,\n  \"id\": \"b\"\n}"};
  EXPECT_EQ(this->ingest(events).ingested, 2u);
  auto read = sorted(this->readRange(kAllTime));
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].bytes, event(1000, "a"));
  EXPECT_EQ(read[1].bytes.find('\n'), std::string::npos) << read[1].bytes;
}

TYPED_TEST(SourceContract, AForeignCheckpointIsRefused) {
  this->ingest(this->ladder(3));
  EXPECT_FALSE(this->source().openReader(kAllTime, "not a checkpoint of anything"));
}

}  // namespace
}  // namespace audit::kafka::testing
