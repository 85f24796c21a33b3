#pragma once
// Where a reader starts: the time-index lookup's answers made usable, and a scan of the
// log for brokers without a time index.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "kafka/start_offset_finder.hpp"
#include "source/error.hpp"

namespace audit::kafka::detail {

/** One partition's answer of rd_kafka_offsets_for_times. */
struct TimeIndexAnswer {
  std::int32_t partition = 0;
  std::int64_t offset = 0;  // -1 (RD_KAFKA_OFFSET_END): no record at or after the time
  int error = 0;            // rd_kafka_resp_err_t of the partition's answer
  std::int64_t high = 0;    // the high watermark; only read when offset is -1
};

/**
 * Start offsets from the lookup's answers: an offset as is; -1 ("no record at or after that
 * time") the high watermark, so the partition contributes nothing; any error or other
 * negative offset fails naming the partition. Pure, so it is tested on canned answers.
 */
source::Result<std::vector<PartitionOffset>> resolveTimeIndexAnswers(
    std::span<const TimeIndexAnswer> answers, std::string* detail);

struct ScanStart {
  std::int32_t partition = 0;
  std::int64_t from = 0;  // first offset to read
  std::int64_t end = 0;   // exclusive; from == end reads nothing
};

struct ScanHit {
  std::int32_t partition = 0;
  std::int64_t offset = 0;     // first record at or after the time, else the end
  EpochMillis timestamp = -1;  // that record's timestamp; -1 when none was found
};

/**
 * Reads each partition from `from` until the first record whose timestamp is at or after
 * `time` (a record without a timestamp stops the scan too: it might be in range). Gives up
 * with busy when no record arrives for `stall_timeout`. Answers in the order of `starts`.
 */
source::Result<std::vector<ScanHit>> scanForTime(const config::KafkaSourceSettings& settings,
                                                 std::span<const ScanStart> starts,
                                                 EpochMillis time, Millis stall_timeout,
                                                 std::string* detail);

/** makeTimeIndexFinder() with the source's request timeout. */
source::Result<StartOffsetFinderPtr> makeTimeIndexFinderWithTimeout(
    const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail);

/** makeScanningFinder() with the source's request timeout. */
source::Result<StartOffsetFinderPtr> makeScanningFinderWithTimeout(
    const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail);

}  // namespace audit::kafka::detail
