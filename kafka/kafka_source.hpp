#pragma once
// Regions on a Kafka-API log (docs/kafka.md): the store's EventSource seam over one topic.
//
// Ingest produces each event to the topic with an idempotent producer, the record timestamp
// set to the event's time. A job's plan (EventSource::plan, when it enters `pending`) finds
// each partition's first offset at or after the range's start and takes the high watermarks
// as the end; its reader reads from there and merges the partitions by event time. See
// docs/kafka.md for the checkpoint format and the semantics.
//
// Thread safety: the source is safe to use from several threads at once; a reader is not
// (one per job, used by one thread at a time), as the seam requires.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "store/error.hpp"
#include "store/event_source.hpp"

namespace audit::kafka {

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
  virtual store::Result<std::vector<PartitionOffset>> startOffsets(
      const std::string& topic, std::span<const std::int32_t> partitions, EpochMillis start,
      std::string* detail) = 0;
};
using StartOffsetFinderPtr = std::shared_ptr<StartOffsetFinder>;

/** The log's time index (ListOffsets by timestamp, rd_kafka_offsets_for_times). */
store::Result<StartOffsetFinderPtr> makeTimeIndexFinder(const config::KafkaSourceSettings& settings,
                                                        std::string* detail);

/**
 * Reads each partition from its low watermark until the first record whose timestamp is at
 * or after `start`. Same answers as the time index, at the cost of reading the skipped
 * records: for brokers without a time index (librdkafka's mock cluster), i.e. tests.
 */
store::Result<StartOffsetFinderPtr> makeScanningFinder(const config::KafkaSourceSettings& settings,
                                                       std::string* detail);

struct KafkaSourceOptions {
  /**
   * Null: as settings.start_lookup says — the time index (makeTimeIndexFinder), or for
   * `scan` the scanning finder (makeScanningFinder).
   */
  StartOffsetFinderPtr finder;
  /** One metadata, watermark or offset lookup. */
  Millis request_timeout{10'000};
  /** Ingest waits this long for the brokers to acknowledge a call's events. */
  Millis produce_timeout{30'000};
  /**
   * A reader's next() keeps waiting through broker outages and fetch errors this long
   * without progress before it gives up with the broker's last error (the daemon passes the
   * region's retry.max_elapsed).
   */
  Millis fetch_timeout{30'000};
  /**
   * Read-ahead librdkafka keeps per partition before it stops fetching it (bounds a reader's
   * memory: about partitions x (this + max.partition.fetch.bytes)). A region property
   * `queued.max.messages.kbytes` wins over it.
   */
  std::size_t partition_buffer_bytes = 256 << 10;
};

/**
 * An EventSource over settings.topic. Creates the clients but contacts no broker, so a
 * daemon starts while the cluster is down. Fails with Errc::invalid_argument (and the
 * reason in `detail`) when librdkafka rejects a property.
 */
store::Result<store::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                     std::string* detail);
store::Result<store::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                     const KafkaSourceOptions& options,
                                                     std::string* detail);

}  // namespace audit::kafka
