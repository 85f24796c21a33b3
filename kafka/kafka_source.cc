#include "kafka/kafka_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/rfc3339.hpp"
#include "kafka/detail/checkpoint.hpp"
#include "kafka/detail/client.hpp"
#include "kafka/detail/event_producer.hpp"
#include "kafka/detail/merge_reader.hpp"
#include "kafka/detail/start_offsets.hpp"

namespace audit::kafka {
namespace {

using detail::PartitionCursor;
using detail::Watermarks;

/** A range bound for operators: ranges "from the beginning" use the extremes of the type. */
std::string formatBound(EpochMillis ms) {
  constexpr EpochMillis kYear10000 = 253'402'300'800'000;
  if (ms <= 0) return "the beginning";
  if (ms >= kYear10000) return "the end";
  return formatRfc3339(ms);
}

class KafkaSource final : public store::EventSource {
 public:
  KafkaSource(config::KafkaSourceSettings settings, KafkaSourceOptions options,
              std::unique_ptr<detail::EventProducer> producer, detail::KafkaPtr queries,
              StartOffsetFinderPtr finder)
      : settings_(std::move(settings)),
        options_(std::move(options)),
        producer_(std::move(producer)),
        queries_(std::move(queries)),
        finder_(std::move(finder)) {}

  store::Result<store::IngestReport> ingest(std::span<const std::string_view> events,
                                            bool skip_invalid, std::size_t index_base) override {
    return producer_->ingest(events, skip_invalid, index_base);
  }

  /** Σ (end − start) over the partitions: every record that may hold an event of the range. */
  store::Result<std::uint64_t> count(store::TimeRange range) override {
    if (range.last < range.first) return 0;
    std::vector<Watermarks> marks;
    auto cursors = startCursors(range, marks);
    if (!cursors) return cursors.error();
    std::uint64_t total = 0;
    for (const auto& c : *cursors) total += static_cast<std::uint64_t>(c.end - c.next);
    return total;
  }

  bool countIsExact() const override { return false; }

  store::Result<store::EventReaderPtr> openReader(store::TimeRange range,
                                                  std::string_view checkpoint) override {
    std::vector<PartitionCursor> cursors;
    // An inverted range holds nothing: a reader over no partition ends at once.
    if (range.last >= range.first) {
      auto opened = checkpoint.empty() ? freshCursors(range) : resumedCursors(range, checkpoint);
      if (!opened) return opened.error();
      cursors = std::move(*opened);
    }
    std::string detail;
    auto reader = detail::MergeReader::open(
        detail::ReaderConfig{settings_, range, std::move(cursors), options_.fetch_timeout,
                             options_.request_timeout, options_.partition_buffer_bytes},
        &detail);
    if (!reader) {
      spdlog::error("{}", detail);
      return reader.error();
    }
    return store::EventReaderPtr(std::move(*reader));
  }

 private:
  store::Result<std::vector<PartitionCursor>> freshCursors(store::TimeRange range) {
    std::vector<Watermarks> marks;
    auto cursors = startCursors(range, marks);
    if (!cursors) return cursors.error();
    if (auto purged = checkPurged(range, *cursors, marks, true); !purged) return purged.error();
    return cursors;
  }

  store::Result<std::vector<PartitionCursor>> resumedCursors(store::TimeRange range,
                                                             std::string_view checkpoint) {
    auto cursors = detail::decodeCheckpoint(checkpoint, settings_.topic);
    if (!cursors) {
      spdlog::error("kafka topic {}: checkpoint \"{}\" is not one of this topic's", settings_.topic,
                    checkpoint);
      return store::Errc::invalid_argument;
    }
    std::vector<Watermarks> marks;
    for (const auto& c : *cursors) {
      if (c.next >= c.end) {
        marks.push_back({});  // done: nothing left to check
        continue;
      }
      std::string detail;
      auto m = detail::queryWatermarks(queries_.get(), settings_.topic, c.partition,
                                       options_.request_timeout, &detail);
      if (!m) {
        spdlog::error("{}", detail);
        return m.error();
      }
      marks.push_back(*m);
    }
    if (auto purged = checkPurged(range, *cursors, marks, false); !purged) return purged.error();
    return std::move(*cursors);
  }

  /** Per partition: the first offset that may hold an event of the range, and the end now. */
  store::Result<std::vector<PartitionCursor>> startCursors(store::TimeRange range,
                                                           std::vector<Watermarks>& marks) {
    std::string detail;
    auto partitions =
        detail::topicPartitions(queries_.get(), settings_.topic, options_.request_timeout, &detail);
    if (!partitions) {
      spdlog::error("{}", detail);
      return partitions.error();
    }
    marks.clear();
    for (std::int32_t p : *partitions) {
      auto m = detail::queryWatermarks(queries_.get(), settings_.topic, p, options_.request_timeout,
                                       &detail);
      if (!m) {
        spdlog::error("{}", detail);
        return m.error();
      }
      marks.push_back(*m);
    }
    std::vector<PartitionCursor> cursors;
    for (std::size_t i = 0; i < partitions->size(); ++i) {
      cursors.push_back({(*partitions)[i], marks[i].low, marks[i].high});
    }
    // Kafka reserves timestamps <= 0 (-1 latest, -2 earliest): the whole log is the answer.
    if (range.first <= 0) return cursors;
    auto starts = finder_->startOffsets(settings_.topic, *partitions, range.first);
    if (!starts) return starts.error();
    if (starts->size() != cursors.size()) {
      spdlog::error("kafka topic {}: start offsets for {} partitions, expected {}", settings_.topic,
                    starts->size(), cursors.size());
      return store::Errc::io_error;
    }
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      // A record appended between the two lookups lies past the end fixed here.
      cursors[i].next = std::min((*starts)[i].offset, cursors[i].end);
    }
    return cursors;
  }

  /**
   * Fails with io_error, naming the partitions and the earliest time each still holds, when
   * records the range needs were deleted by retention (SPEC §11: never a silent jump). On a
   * resume that is a cursor below the log's start. On a fresh start, a partition whose
   * start is the log's start after deletions (low watermark > 0) and whose first record
   * held is later than the range's start: the deleted records may have been in the range.
   */
  store::Result<void> checkPurged(store::TimeRange range,
                                  const std::vector<PartitionCursor>& cursors,
                                  const std::vector<Watermarks>& marks, bool fresh) {
    std::vector<detail::ScanStart> suspects;
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      const PartitionCursor& c = cursors[i];
      if (c.next >= c.end) continue;
      bool suspect = fresh ? marks[i].low > 0 && c.next <= marks[i].low : c.next < marks[i].low;
      if (suspect) suspects.push_back({c.partition, marks[i].low, marks[i].high});
    }
    if (suspects.empty()) return {};
    std::string detail;
    auto firsts = detail::scanForTime(settings_, suspects, 0, options_.request_timeout, &detail);
    if (!firsts) {
      spdlog::error("{}", detail);
      return firsts.error();
    }
    std::string named;
    for (std::size_t i = 0; i < suspects.size(); ++i) {
      const detail::ScanHit& first = (*firsts)[i];
      const PartitionCursor& c =
          *std::find_if(cursors.begin(), cursors.end(),
                        [&](const PartitionCursor& x) { return x.partition == first.partition; });
      bool lost = c.next < suspects[i].from || first.timestamp > range.first;
      if (!lost) continue;
      if (!named.empty()) named += ", ";
      named += "partition " + std::to_string(first.partition) + " (earliest time still held " +
               (first.timestamp >= 0 ? formatRfc3339(first.timestamp) : std::string("none")) + ")";
    }
    if (named.empty()) return {};
    spdlog::error(
        "kafka topic {}: part of the range {}..{} was deleted by the topic's retention: {}. "
        "Replay a range that starts at or after the earliest time still held",
        settings_.topic, formatBound(range.first), formatBound(range.last), named);
    return store::Errc::io_error;
  }

  const config::KafkaSourceSettings settings_;
  const KafkaSourceOptions options_;
  std::unique_ptr<detail::EventProducer> producer_;
  detail::KafkaPtr queries_;  // metadata and watermark lookups (thread-safe calls)
  const StartOffsetFinderPtr finder_;
};

}  // namespace

store::Result<store::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                     std::string* detail) {
  return makeKafkaSource(settings, KafkaSourceOptions{}, detail);
}

store::Result<store::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                     const KafkaSourceOptions& options,
                                                     std::string* detail) {
  if (settings.topic.empty() || settings.bootstrap_servers.empty()) {
    if (detail) *detail = "kafka source needs bootstrap_servers and topic";
    return store::Errc::invalid_argument;
  }
  StartOffsetFinderPtr finder = options.finder;
  if (!finder) {
    auto made = detail::makeTimeIndexFinderWithTimeout(settings, options.request_timeout, detail);
    if (!made) return made.error();
    finder = std::move(*made);
  }
  auto producer = detail::EventProducer::create(settings, options.produce_timeout, detail);
  if (!producer) return producer.error();
  // Lookups use a consumer: a producer's metadata request could create a missing topic.
  auto queries = detail::makeClient(detail::Role::Lookup, settings, detail);
  if (!queries) return queries.error();
  return store::EventSourcePtr(std::make_shared<KafkaSource>(
      settings, options, std::move(*producer), std::move(*queries), std::move(finder)));
}

}  // namespace audit::kafka
