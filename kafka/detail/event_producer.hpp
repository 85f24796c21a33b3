#pragma once
// Ingest into a Kafka region (docs/kafka.md): validate every event first, then produce them all
// with the idempotent producer and wait for the brokers' acknowledgements.

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "kafka/detail/client.hpp"
#include "source/event_source.hpp"

namespace audit::kafka::detail {

/** Thread-safe: calls from several threads share one producer. */
class EventProducer {
 public:
  /** Creates the producer; contacts no broker. */
  static source::Result<std::unique_ptr<EventProducer>> create(
      const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail);

  /** Waits up to the timeout for what is still in flight, then drops it (and says so). */
  ~EventProducer();

  /**
   * The EventSource::ingest contract, with two differences a log imposes: duplicates are not
   * detected (always 0; a resent call appends its events again), and a call that fails after
   * validation may have appended part of its events (the caller may send it again).
   * Errors: busy when the brokers did not acknowledge everything within the timeout,
   * io_error when they refused a record.
   */
  source::Result<source::IngestReport> ingest(std::span<const std::string_view> events,
                                              bool skip_invalid, std::size_t index_base);

 private:
  EventProducer(config::KafkaSourceSettings settings, Millis timeout)
      : settings_(std::move(settings)), timeout_(timeout) {}

  /** The producer, or a new one when the old one hit a fatal error (it cannot recover). */
  source::Result<std::shared_ptr<rd_kafka_t>> current(std::string* detail);
  static source::Result<std::shared_ptr<rd_kafka_t>> newProducer(
      const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail);

  const config::KafkaSourceSettings settings_;
  const Millis timeout_;
  std::mutex mutex_;  // guards producer_
  std::shared_ptr<rd_kafka_t> producer_;
};

}  // namespace audit::kafka::detail
