// Pure parts of the Kafka source: the checkpoint format, batch identities, and the handling
// of the time index's answers (on canned answers: the mock cluster has no time index).

#include "kafka/detail/checkpoint.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "kafka/detail/start_offsets.hpp"

namespace audit::kafka::detail {
namespace {

TEST(Checkpoint, RoundTripsAndNamesItsTopic) {
  std::vector<PartitionCursor> cursors{{0, 12, 40}, {1, 0, 0}, {7, 99, 100}};
  std::string text = encodeCheckpoint("audit.eu", cursors);
  EXPECT_EQ(text, "kafka1;audit.eu;0:12:40,1:0:0,7:99:100");
  EXPECT_EQ(decodeCheckpoint(text, "audit.eu"), cursors);
  EXPECT_EQ(decodeCheckpoint(text, "audit.us"), std::nullopt) << "another topic's checkpoint";
  EXPECT_EQ(decodeCheckpoint(text, "audit"), std::nullopt);
}

TEST(Checkpoint, RefusesWhatItDidNotWrite) {
  for (std::string_view bad :
       {"", "kafka1;t;", "kafka1;t;0:1", "kafka1;t;0:5:4", "kafka1;t;1:0:1,0:0:1",
        "kafka1;t;0:0:1,0:0:1", "kafka1;t;0:-1:1", "kafka1;t;0:1:2,", "kafka2;t;0:1:2",
        "kafka1;t;0:1:2x", "00000000000000000001"}) {
    EXPECT_EQ(decodeCheckpoint(bad, "t"), std::nullopt) << bad;
  }
}

TEST(BatchIdentity, DependsOnTheRecordsTakenOnly) {
  std::vector<TakenSpan> a{{0, 10, 19, 10}, {2, 5, 5, 1}};
  std::vector<TakenSpan> b{{0, 10, 19, 10}, {2, 5, 6, 2}};
  EXPECT_EQ(batchIdentity(a), batchIdentity(a));
  EXPECT_NE(batchIdentity(a), batchIdentity(b));
  EXPECT_EQ(batchIdentity(a).size(), 32u);
}

TEST(TimeIndexAnswers, OffsetsAreTakenAsAnswered) {
  std::vector<TimeIndexAnswer> answers{{0, 42, 0, 0}, {1, 0, 0, 0}};
  auto resolved = resolveTimeIndexAnswers(answers, nullptr);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(*resolved, (std::vector<PartitionOffset>{{0, 42}, {1, 0}}));
}

TEST(TimeIndexAnswers, NoRecordAtOrAfterTheTimeMeansTheHighWatermark) {
  std::vector<TimeIndexAnswer> answers{{0, RD_KAFKA_OFFSET_END, 0, 500}, {3, 7, 0, 900}};
  auto resolved = resolveTimeIndexAnswers(answers, nullptr);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(*resolved, (std::vector<PartitionOffset>{{0, 500}, {3, 7}}));
}

TEST(TimeIndexAnswers, APartitionErrorFailsNamingThePartition) {
  std::vector<TimeIndexAnswer> answers{{0, 1, 0, 0},
                                       {5, -1, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, 0}};
  std::string detail;
  auto resolved = resolveTimeIndexAnswers(answers, &detail);
  ASSERT_FALSE(resolved);
  EXPECT_EQ(resolved.error(), source::Errc::busy) << "a leader change is worth a retry";
  EXPECT_NE(detail.find("partition 5"), std::string::npos) << detail;
  EXPECT_NE(detail.find("NOT_LEADER_FOR_PARTITION"), std::string::npos) << detail;

  answers = {{2, -1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0}};
  resolved = resolveTimeIndexAnswers(answers, &detail);
  ASSERT_FALSE(resolved);
  EXPECT_EQ(resolved.error(), source::Errc::io_error);
}

TEST(TimeIndexAnswers, AnUnexpectedNegativeOffsetIsAnError) {
  std::vector<TimeIndexAnswer> answers{{1, RD_KAFKA_OFFSET_BEGINNING, 0, 10}};
  std::string detail;
  auto resolved = resolveTimeIndexAnswers(answers, &detail);
  ASSERT_FALSE(resolved);
  EXPECT_NE(detail.find("answered offset -2"), std::string::npos) << detail;
}

}  // namespace
}  // namespace audit::kafka::detail
