#pragma once
// The physical limits replay_bench compares the daemon with, measured in the same run on
// the same data (LIMITS.md: the machines are shared and noisy, so only ratios travel):
// a raw range scan of the store, back-to-back POSTs of prepared bodies on one keep-alive
// connection, and gzip encoding alone.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/event_batch.hpp"
#include "source/event_source.hpp"
#include "webhook/encoder.hpp"

namespace audit::bench {

struct Throughput {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;       // event bytes: stored JSON, or the plain body before gzip
  std::uint64_t wire_bytes = 0;  // bytes on the wire (after gzip), where that applies
  double seconds = 0;
  double cpu_seconds = 0;  // of the measuring thread, where measured

  double eventsPerSecond() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
  double mbPerSecond() const {
    return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
  }
};

/** Median by events/s of several runs (the middle one; the lower middle for an even count). */
Throughput median(std::vector<Throughput> runs);

/** A full scan of `range` with EventReader::next in batches of `batch_events`.
 *  Opens and closes the store itself. */
Throughput measureScan(const std::filesystem::path& data_dir, const std::string& region,
                       source::TimeRange range, std::size_t batch_events);

/** The first `count` batches of `batch_events` of the range, as the daemon would read them. */
std::vector<EventBatch> loadBatches(const std::filesystem::path& data_dir,
                                    const std::string& region, source::TimeRange range,
                                    std::size_t batch_events, std::size_t count);

/** Encodes every batch once with `options`. */
std::vector<webhook::EncodedBody> encodeAll(const std::vector<EventBatch>& batches,
                                            const webhook::EncodeOptions& options);

/** Encodes the batches round-robin on this thread for about `duration`. */
Throughput measureEncode(const std::vector<EventBatch>& batches,
                         const webhook::EncodeOptions& options, std::chrono::milliseconds duration);

/** POSTs the bodies round-robin, back to back, on one keep-alive connection to `url`
 *  (webhook::WebhookClient) for about `duration`. Exits the program if a POST fails. */
Throughput measureDelivery(const std::string& url, const std::vector<webhook::EncodedBody>& bodies,
                           std::chrono::milliseconds duration);

/**
 * Read and delivery at once, as the simplest replayer would do them: one thread scans the
 * range (EventReader::next, `batch_events` a batch) and hands each JSON-lines body through
 * a queue of 4 to this thread, which POSTs them in order on one keep-alive connection.
 * On a 2-core machine the scan, the sender and the receiver share the cores, so this is
 * the ceiling a replayer can reach here, below min(read, delivery) measured apart.
 */
Throughput measurePipeline(const std::filesystem::path& data_dir, const std::string& region,
                           source::TimeRange range, std::size_t batch_events,
                           const std::string& url);

}  // namespace audit::bench
