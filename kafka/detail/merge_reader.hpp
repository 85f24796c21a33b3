#pragma once
// EventReader over a Kafka topic: reads each partition from its cursor to its end offset and
// merges the partitions by event time into batches (docs/kafka.md).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "kafka/detail/checkpoint.hpp"
#include "kafka/detail/client.hpp"
#include "source/event_source.hpp"

namespace audit::kafka::detail {

struct ReaderConfig {
  config::KafkaSourceSettings settings;
  source::TimeRange range;
  std::vector<PartitionCursor> cursors;  // ascending partitions; where each starts and ends
  Millis fetch_timeout{30'000};
  Millis request_timeout{10'000};
  std::size_t partition_buffer_bytes = 256 << 10;
};

/**
 * Each batch is a k-way merge of the partitions' next records by event time (ties: lower
 * partition first), then stably sorted: a partition whose own records are out of order
 * keeps its log order across batches (every record of a batch precedes, in its partition,
 * every record of the next batch), and inside a batch events are in time order.
 *
 * Each partition is consumed from its own librdkafka queue (not forwarded to the consumer's
 * queue), so the merge takes exactly the partition it needs next while librdkafka keeps
 * fetching the others ahead, each up to the read-ahead (queued.max.messages.kbytes, from
 * partition_buffer_bytes). Records are not copied before they go into the batch.
 *
 * Records whose event time is outside the range or cannot be parsed are skipped (the
 * latter logged and counted). A batch's checkpoint is every partition's next offset; its
 * identity hashes the offsets of the records it holds. Not thread-safe.
 */
class MergeReader final : public source::EventReader {
 public:
  /** Assigns the partitions not yet done; contacts no broker before the first next(). */
  static source::Result<std::unique_ptr<MergeReader>> open(ReaderConfig config,
                                                           std::string* detail);
  ~MergeReader() override;

  /**
   * Errors: busy when no record arrived for fetch_timeout (broker down, fetch errors);
   * io_error when records still needed were deleted by retention. lastErrorDetail() says
   * which partitions and what the broker answered. A batch already begun when a fetch
   * stalls is returned first; the error comes with the next call.
   */
  source::Result<void> next(EventBatch& out, BatchLimits limits) override;

  /** The total counted for the job was an upper bound (records outside the range). */
  bool totalIsExact() const override { return false; }

  std::string lastErrorDetail() const override { return error_detail_; }

  std::uint64_t unparsableSkipped() const { return unparsable_; }

 private:
  struct Partition {
    PartitionCursor cursor;
    QueuePtr queue;                  // the partition's own fetch queue
    std::vector<MessagePtr> pulled;  // taken from the queue, from `examined` on not yet looked at
    std::size_t examined = 0;
    MessagePtr head;  // the partition's next record of the range, once found
    EpochMillis head_time = 0;
    std::int64_t fetched = 0;       // every offset below this has been pulled
    std::size_t drained_bytes = 0;  // pulled since the queue was last found empty
    bool done = false;
  };
  struct Taken {
    EpochMillis time;
    MessagePtr message;
  };

  MergeReader(ReaderConfig config, KafkaPtr consumer);

  /** Gives every partition not done a head (waiting for fetches), or fails on a stall. */
  source::Result<void> fillHeads();
  /** Looks at what `p` has at hand until it has a head or nothing more is at hand. */
  source::Result<void> advance(Partition& p);
  source::Result<void> examine(Partition& p, MessagePtr message);
  /** Moves up to a burst of messages from p's queue; waits up to `wait_ms` for the first. */
  std::size_t pull(Partition& p, int wait_ms);
  /** Reads the consumer's own queue (client-wide errors) without waiting. */
  source::Result<void> drainConsumerQueue();
  source::Result<void> onError(rd_kafka_resp_err_t err, std::int32_t partition);
  /** Makes librdkafka fetch an idle partition now (see the .cc). */
  void nudge(Partition& p);
  void markDone(Partition& p);
  /** Assigns every partition not done at its fetch position again. */
  source::Result<void> reassign();
  Partition* find(std::int32_t partition);
  /** Whether partition a's head comes after partition b's in the merge. */
  bool later(std::uint32_t a, std::uint32_t b) const;
  void pushHeap(std::size_t index);
  /** The partitions whose needed offsets retention deleted, named for the operator. */
  source::Result<void> failPurged(Partition& p);
  source::Errc fail(source::Errc code, std::string text);

  ReaderConfig config_;
  KafkaPtr consumer_;
  std::vector<Partition> partitions_;
  std::vector<std::uint32_t> heap_;   // partitions with a head: a min-heap by (time, index)
  std::vector<std::uint32_t> needy_;  // partitions neither done nor with a head
  std::vector<rd_kafka_message_t*> scratch_;
  std::vector<Taken> taken_;
  std::uint64_t progress_ = 0;        // records and partition ends seen
  bool nudged_ = false;               // in the current wait
  std::size_t read_ahead_bytes_ = 0;  // librdkafka's per-partition queue limit
  rd_kafka_resp_err_t last_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  source::Result<void> deferred_error_;  // reported by the call after a partial batch
  std::string error_detail_;
  std::uint64_t unparsable_ = 0;
};

}  // namespace audit::kafka::detail
