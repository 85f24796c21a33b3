#pragma once
// Where a Kafka region's reader starts: the first offset of each partition at or after a
// time. Its own header so that the source and its detail/ implementations both depend on
// it, and not on each other.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "source/error.hpp"

namespace audit::kafka {

/** How long one broker request may take, unless a source's options say otherwise. */
inline constexpr Millis kDefaultRequestTimeout{10'000};

struct PartitionOffset {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  bool operator==(const PartitionOffset&) const = default;
};

/**
 * Finds, per partition, the first offset whose record timestamp is at or after `start`
 * (the high watermark when there is none). Every record before that offset has an earlier
 * timestamp, so a reader starting there misses nothing of a range beginning at `start`.
 * A seam because librdkafka's mock cluster has no time index (it answers -1 to every
 * lookup); tests scan instead. Thread-safe.
 */
class StartOffsetFinder {
 public:
  virtual ~StartOffsetFinder() = default;
  /**
   * One answer per entry of `partitions`, in the same order. `start` > 0. On failure,
   * `detail` receives words for an operator (the partition, the broker's error).
   */
  virtual source::Result<std::vector<PartitionOffset>> startOffsets(
      const std::string& topic, std::span<const std::int32_t> partitions, EpochMillis start,
      std::string* detail) = 0;
};
using StartOffsetFinderPtr = std::shared_ptr<StartOffsetFinder>;

/** The log's time index (ListOffsets by timestamp, rd_kafka_offsets_for_times), with
 *  kDefaultRequestTimeout. */
source::Result<StartOffsetFinderPtr> makeTimeIndexFinder(
    const config::KafkaSourceSettings& settings, std::string* detail);

/**
 * Reads each partition from its low watermark until the first record whose timestamp is at
 * or after `start`. Same answers as the time index, at the cost of reading the skipped
 * records: for brokers without a time index (librdkafka's mock cluster), i.e. tests.
 */
source::Result<StartOffsetFinderPtr> makeScanningFinder(const config::KafkaSourceSettings& settings,
                                                        std::string* detail);

}  // namespace audit::kafka
