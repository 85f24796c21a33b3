#pragma once
// A record's event time (docs/store.md, docs/kafka.md). Ingest writes it into a record header as
// well as the record timestamp, so a reader takes it from there instead of parsing every value; a
// record without the header (another producer, or written before audit-replay set it) is parsed.
// The record timestamp alone is not enough: a topic with message.timestamp.type=LogAppendTime
// replaces it, and other producers set it to whatever they like.

#include <librdkafka/rdkafka.h>

#include "source/event_time.hpp"

namespace audit::kafka::detail {

/** Header name; its value is the event time in milliseconds since the epoch, in decimal. */
inline constexpr char kTimeHeader[] = "audit-replay-time";

/** The header's value for `ms` into `out` (at least 24 bytes); @return its length. */
std::size_t formatTimeHeader(EpochMillis ms, char* out);

/** The time of `message`: its kTimeHeader when it has a valid one, else its value parsed. */
source::EventTime recordEventTime(const rd_kafka_message_t& message);

}  // namespace audit::kafka::detail
