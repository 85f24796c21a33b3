#pragma once
// librdkafka's C API behind small RAII wrappers, and the few queries every part needs.
// Only kafka/ includes this header: nothing public exposes librdkafka.

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "source/error.hpp"

namespace audit::kafka::detail {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const noexcept { rd_kafka_message_destroy(message); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const noexcept { rd_kafka_queue_destroy(queue); }
};

using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

enum class Role {
  Producer,
  Consumer,  // reads assigned partitions; has a group.id (assign() needs one), never joins it
  Lookup,    // metadata, watermarks and time-index lookups only: no group, so no coordinator
};

/**
 * A client of settings' cluster: our defaults for the role, then settings.properties as
 * given (they win), then the few settings correctness rests on (bootstrap.servers from the
 * settings; the idempotent producer; a consumer that never commits, never resets an offset
 * on its own and reports the end of each partition). `configure` may add callbacks.
 * librdkafka's own log lines go to spdlog. Fails with invalid_argument and librdkafka's
 * words in `detail` when it rejects a property.
 */
source::Result<KafkaPtr> makeClient(Role role, const config::KafkaSourceSettings& settings,
                                    std::string* detail,
                                    const std::function<void(rd_kafka_conf_t*)>& configure = {});

/** A consumer that reads ahead `partition_buffer_bytes` per partition: our
 *  queued.max.messages.kbytes and a fetch of half of it, unless the region's properties set
 *  them. */
struct ReadAheadConsumer {
  KafkaPtr consumer;
  std::size_t read_ahead_kbytes =
      1;  // in force: ours or the region's (librdkafka's kbytes are 1000 bytes)
};
source::Result<ReadAheadConsumer> makeReadAheadConsumer(const config::KafkaSourceSettings& settings,
                                                        std::size_t partition_buffer_bytes,
                                                        std::string* detail);

int timeoutMs(Millis timeout);

/** Partition ids of `topic`, ascending. Errors: busy (no answer in time), io_error. */
source::Result<std::vector<std::int32_t>> topicPartitions(rd_kafka_t* rk, const std::string& topic,
                                                          Millis timeout, std::string* detail);

struct Watermarks {
  std::int64_t low = 0;   // first offset still held
  std::int64_t high = 0;  // offset the next record will get
};

source::Result<Watermarks> queryWatermarks(rd_kafka_t* rk, const std::string& topic,
                                           std::int32_t partition, Millis timeout,
                                           std::string* detail);

/** Store error for a librdkafka error: busy for what a retry may cure, else io_error. */
source::Errc classify(rd_kafka_resp_err_t err);

/** "NAME: description" of a librdkafka error, for logs and details. */
std::string describe(rd_kafka_resp_err_t err);

}  // namespace audit::kafka::detail
