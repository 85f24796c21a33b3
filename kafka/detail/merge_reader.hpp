#pragma once
// EventReader over a Kafka topic: reads each partition from its cursor to its end offset and
// merges the partitions by event time into batches (SPEC §11).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "kafka/detail/checkpoint.hpp"
#include "kafka/detail/client.hpp"
#include "store/event_source.hpp"

namespace audit::kafka::detail {

struct ReaderConfig {
  config::KafkaSourceSettings settings;
  store::TimeRange range;
  std::vector<PartitionCursor> cursors;  // ascending partitions; where each starts and ends
  Millis fetch_timeout{30'000};
  Millis request_timeout{10'000};
  std::size_t partition_buffer_bytes = 4 << 20;
};

/**
 * Each batch is a k-way merge of the partitions' next records by event time (ties: lower
 * partition first), then stably sorted: a partition whose own records are out of order
 * keeps its log order across batches (every record of a batch precedes, in its partition,
 * every record of the next batch), and inside a batch events are in time order.
 *
 * Records whose event time is outside the range or cannot be parsed are skipped (the
 * latter logged and counted). A batch's checkpoint is every partition's next offset; its
 * identity hashes the positions before and after it. Not thread-safe.
 */
class MergeReader final : public store::EventReader {
 public:
  /** Assigns the partitions not yet done; contacts no broker before the first next(). */
  static store::Result<std::unique_ptr<MergeReader>> open(ReaderConfig config, std::string* detail);
  ~MergeReader() override;

  /**
   * Errors: busy when no record arrived for fetch_timeout (broker down, fetch errors);
   * io_error when records still needed were deleted by retention. A batch already begun
   * when a fetch stalls is returned first; the error comes with the next call.
   */
  store::Result<void> next(EventBatch& out, BatchLimits limits) override;

  /** The total counted for the job was an upper bound (records outside the range). */
  bool totalIsExact() const override { return false; }

  std::uint64_t unparsableSkipped() const { return unparsable_; }

 private:
  struct Record {
    std::int64_t offset = 0;
    std::int64_t advance_to = 0;  // the cursor's next once this record is taken
    EpochMillis time = 0;
    std::string value;
  };
  struct Partition {
    PartitionCursor cursor;
    std::deque<Record> buffer;  // in-range records read ahead, in log order
    std::size_t buffered_bytes = 0;
    std::int64_t fetched = 0;  // every offset below this has been polled
    bool paused = false;
    bool done = false;
  };

  MergeReader(ReaderConfig config, KafkaPtr consumer);

  /** Polls until every partition not done has a record buffered (or the fetch stalls). */
  store::Result<void> fill();
  /** @return whether the message is progress (a record or the end of a partition). */
  store::Result<bool> handle(const rd_kafka_message_t& message);
  void accept(Partition& p, const rd_kafka_message_t& message);
  bool seek(Partition& p);
  /** Assigns every partition not done at its fetch position again. */
  store::Result<void> reassign();
  void markDoneIfDrained(Partition& p);
  void setPaused(Partition& p, bool paused);
  Partition* find(std::int32_t partition);
  /** The partitions whose needed offsets retention deleted, named for the operator. */
  store::Result<void> failPurged(std::int32_t partition);

  ReaderConfig config_;
  KafkaPtr consumer_;
  std::vector<Partition> partitions_;
  rd_kafka_resp_err_t last_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string last_error_partitions_;
  store::Result<void> deferred_error_;  // reported by the call after a partial batch
  std::uint64_t unparsable_ = 0;
};

}  // namespace audit::kafka::detail
