#pragma once
// Regions on a Kafka-API log (docs/kafka.md): the store's EventSource seam over one topic.
//
// Ingest produces each event to the topic with an idempotent producer, the record timestamp
// set to the event's time. A job's plan (EventSource::plan, when it enters `pending`) finds
// each partition's first offset at or after the range's start and takes the high watermarks
// as the end; its reader reads from there and merges the partitions by event time. See
// docs/kafka.md for the checkpoint format and the semantics.
//
// Forwarding (EventSource's arrival methods, docs/kafka.md#forwarding): the arrival order is
// the log's own order per partition, a position each partition's next offset; records
// deleted by retention before they were forwarded are reported as a gap.
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
#include "kafka/start_offset_finder.hpp"
#include "source/error.hpp"
#include "source/event_source.hpp"

namespace audit::kafka {

struct KafkaSourceOptions {
  /**
   * Null: as settings.start_lookup says — the time index (makeTimeIndexFinder), or for
   * `scan` the scanning finder (makeScanningFinder).
   */
  StartOffsetFinderPtr finder;
  /** One metadata, watermark or offset lookup. */
  Millis request_timeout = kDefaultRequestTimeout;
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
source::Result<source::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                       std::string* detail);
source::Result<source::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                       const KafkaSourceOptions& options,
                                                       std::string* detail);

}  // namespace audit::kafka
