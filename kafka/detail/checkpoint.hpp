#pragma once
// A Kafka reader's position: per partition, the next offset to read and the end offset fixed
// when the job first opened its range (docs/kafka.md: the high watermarks when it started).
//
// Text, so it reads in a job record: "kafka1;<topic>;<p>:<next>:<end>,<p>:<next>:<end>…"
// with partitions ascending, e.g. "kafka1;audit.eu;0:1200:5000,1:980:4711". The topic is
// part of it so a checkpoint never resumes on another topic after a config change.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace audit::kafka::detail {

struct PartitionCursor {
  std::int32_t partition = 0;
  std::int64_t next = 0;  // first offset not yet delivered
  std::int64_t end = 0;   // exclusive: the partition is done once next reaches it
  bool operator==(const PartitionCursor&) const = default;
};

std::string encodeCheckpoint(std::string_view topic, std::span<const PartitionCursor> cursors);

/** nullopt when `text` is not a checkpoint of `topic` this code wrote. */
std::optional<std::vector<PartitionCursor>> decodeCheckpoint(std::string_view text,
                                                             std::string_view topic);

/**
 * An arrival position (forwarding, docs/kafka.md#forwarding): per partition, the next offset
 * to forward. No end: a forwarder follows the log. Text: "kafka-arrivals1;<topic>;<p>:<next>,…"
 * with partitions ascending, e.g. "kafka-arrivals1;audit.eu;0:1200,1:980".
 */
struct ArrivalOffset {
  std::int32_t partition = 0;
  std::int64_t next = 0;  // first offset not yet forwarded
  bool operator==(const ArrivalOffset&) const = default;
};

std::string encodeArrivalPosition(std::string_view topic, std::span<const ArrivalOffset> offsets);

/** nullopt when `text` is not an arrival position of `topic` this code wrote. */
std::optional<std::vector<ArrivalOffset>> decodeArrivalPosition(std::string_view text,
                                                                std::string_view topic);

/** The records a batch took from one partition: offsets first..last, `count` of them. */
struct TakenSpan {
  std::int32_t partition = 0;
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::size_t count = 0;
};

/**
 * A batch's identity: a hash of the records it holds, named by their offsets (`spans`
 * ascending by partition). The records at given offsets of a log never change and a batch
 * read again from the same checkpoint with the same limits takes the same records, so a
 * retried or restarted batch keeps its identity (and Idempotency-Key); any other batch
 * gets another. Positions are not used: how far the cursors moved over skipped records
 * depends on what had been fetched when the batch was cut.
 */
std::string batchIdentity(std::span<const TakenSpan> spans);

}  // namespace audit::kafka::detail
