#pragma once
// EventReader in arrival order over a Kafka topic (forwarding, docs/kafka.md#forwarding):
// each partition in its log order from an arrival position, without an end.

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

struct ArrivalReaderConfig {
  config::KafkaSourceSettings settings;
  /** Ascending partitions: where each starts, at or above the partition's low watermark. */
  std::vector<ArrivalOffset> start;
  /** Per entry of `start`: the high watermark when the reader was opened. */
  std::vector<std::int64_t> highs;
  /** Records the position had lost to retention before the reader was opened. */
  source::Skipped skipped;
  Millis fetch_timeout{30'000};
  Millis request_timeout{10'000};
  std::size_t partition_buffer_bytes = 256 << 10;
};

/**
 * Reads the partitions through the consumer's queue, in the order librdkafka's fetches
 * bring them (interleaved fetch by fetch: fair across partitions, each partition in its log
 * order). A batch's checkpoint is every partition's next offset; its identity hashes the
 * offsets of the records it holds, so the same records always make the same identity.
 *
 * next() returns what is at hand (while catching up, after up to 50 ms for the fetches in
 * flight to fill the batch). When every partition has reached the end it knew of, it
 * waits at most kFollowWaitMs for more, then returns an empty batch without a checkpoint
 * ("nothing more yet"). While records known to exist have not arrived it waits up to
 * fetch_timeout without progress, then fails with busy (brokers unreachable).
 *
 * Records deleted by retention below the position (at open, or while reading: the fetch is
 * answered "out of range") are passed over from the low watermark on and reported through
 * takeSkipped(). Records whose event time cannot be read are skipped and logged, as the
 * replay reader does. Not thread-safe.
 */
class ArrivalReader final : public source::EventReader {
 public:
  /** How long next() waits for new records once it has caught up. */
  static constexpr int kFollowWaitMs = 100;

  /** Assigns the partitions; contacts no broker before the first next(). */
  static source::Result<std::unique_ptr<ArrivalReader>> open(ArrivalReaderConfig config,
                                                             std::string* detail);
  ~ArrivalReader() override;

  source::Result<void> next(EventBatch& out, BatchLimits limits) override;
  bool totalIsExact() const override { return false; }
  std::string lastErrorDetail() const override { return error_detail_; }
  source::Skipped takeSkipped() override;

 private:
  struct Partition {
    std::int32_t id = 0;
    std::int64_t next = 0;  // first offset not yet delivered (or passed over)
    std::int64_t high = 0;  // the end known so far: caught up once next reaches it
  };

  ArrivalReader(ArrivalReaderConfig config, KafkaPtr consumer);

  Partition* find(std::int32_t partition);
  bool caughtUp() const;
  source::Result<void> assign();
  /** An "out of range" answer: a gap from retention, or a transient answer. */
  source::Result<void> onOutOfRange(Partition& p);
  source::Errc fail(source::Errc code, std::string text);

  ArrivalReaderConfig config_;
  KafkaPtr consumer_;
  std::vector<Partition> partitions_;
  MessagePtr pending_;  // polled but not taken: it did not fit the last batch
  source::Skipped skipped_;
  bool moved_ = false;  // the position moved without a delivered record since the last batch
  rd_kafka_resp_err_t last_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string error_detail_;
  std::uint64_t unparsable_ = 0;
};

}  // namespace audit::kafka::detail
