#include "kafka/kafka_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/rfc3339.hpp"
#include "kafka/detail/arrival_reader.hpp"
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

/** Logs `text` as an error and hands it to the caller as the detail of `code`. */
boost::system::error_code fail(std::string* detail, boost::system::error_code code,
                               std::string text) {
  spdlog::error("{}", text);
  if (detail) *detail = std::move(text);
  return code;
}

/**
 * A reader that only reports why the range cannot be read: what the log answered when the
 * reader was opened (records deleted, brokers unreachable) reaches the job as the error of
 * its first read, with the words for the operator (EventReader::lastErrorDetail).
 */
class FailedReader final : public source::EventReader {
 public:
  FailedReader(boost::system::error_code code, std::string detail)
      : code_(code), detail_(std::move(detail)) {}
  source::Result<void> next(EventBatch& out, BatchLimits) override {
    out.clear();
    return code_;
  }
  bool totalIsExact() const override { return false; }
  std::string lastErrorDetail() const override { return detail_; }

 private:
  boost::system::error_code code_;
  std::string detail_;
};

class KafkaSource final : public source::EventSource {
 public:
  KafkaSource(config::KafkaSourceSettings settings, KafkaSourceOptions options,
              std::unique_ptr<detail::EventProducer> producer, detail::KafkaPtr queries,
              StartOffsetFinderPtr finder)
      : settings_(std::move(settings)),
        options_(std::move(options)),
        producer_(std::move(producer)),
        queries_(std::move(queries)),
        finder_(std::move(finder)) {}

  source::Result<source::IngestReport> ingest(std::span<const std::string_view> events,
                                              bool skip_invalid, std::size_t index_base) override {
    return producer_->ingest(events, skip_invalid, index_base);
  }

  /** Σ (end − start) over the partitions: every record that may hold an event of the range. */
  source::Result<std::uint64_t> count(source::TimeRange range) override {
    if (range.last < range.first) return 0;
    std::vector<Watermarks> marks;
    std::string detail;
    auto cursors = startCursors(range, marks, &detail);
    if (!cursors) return cursors.error();
    return total(*cursors);
  }

  bool countIsExact() const override { return false; }

  /**
   * docs/kafka.md: per partition the first offset at or after the start and the high watermark
   * now, as the job enters `pending`. The checkpoint holds both, so the job's reader (and a
   * resumed one) stops at these ends. Fails when retention already deleted part of the range.
   */
  source::Result<source::RangePlan> plan(source::TimeRange range, std::string* detail) override {
    if (range.last < range.first) return source::RangePlan{0, false, {}, nullptr};
    auto cursors = freshCursors(range, detail);
    if (!cursors) return cursors.error();
    return source::RangePlan{total(*cursors), false,
                             detail::encodeCheckpoint(settings_.topic, *cursors), nullptr};
  }

  source::Result<source::EventReaderPtr> openReader(source::TimeRange range,
                                                    std::string_view checkpoint) override {
    std::vector<PartitionCursor> cursors;
    // An inverted range holds nothing: a reader over no partition ends at once.
    if (range.last >= range.first) {
      std::string why;
      auto opened =
          checkpoint.empty() ? freshCursors(range, &why) : resumedCursors(range, checkpoint, &why);
      if (!opened) {
        // A checkpoint of another topic is the caller's mistake; the rest the log answered.
        if (opened.error() == source::Errc::invalid_argument) return opened.error();
        return source::EventReaderPtr(
            std::make_unique<FailedReader>(opened.error(), std::move(why)));
      }
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
    return source::EventReaderPtr(std::move(*reader));
  }

  // Forwarding (docs/kafka.md#forwarding): the arrival order is the log's own order per
  // partition; a position is each partition's next offset.

  source::Result<std::string> arrivalPosition(source::ArrivalStart start,
                                              EpochMillis at_ms) override {
    std::string why;
    auto partitions =
        detail::topicPartitions(queries_.get(), settings_.topic, options_.request_timeout, &why);
    if (!partitions) return fail(nullptr, partitions.error(), std::move(why));
    std::vector<detail::ArrivalOffset> offsets;
    if (start == source::ArrivalStart::At && at_ms > 0) {
      // The record timestamp stands for the arrival time (docs/kafka.md#forwarding).
      auto starts = finder_->startOffsets(settings_.topic, *partitions, at_ms, &why);
      if (!starts) return fail(nullptr, starts.error(), std::move(why));
      if (starts->size() != partitions->size()) {
        return fail(nullptr, source::Errc::io_error,
                    "kafka topic " + settings_.topic + ": start offsets for " +
                        std::to_string(starts->size()) + " partitions, expected " +
                        std::to_string(partitions->size()));
      }
      for (const PartitionOffset& s : *starts) offsets.push_back({s.partition, s.offset});
    } else {
      auto marks = watermarks(*partitions, &why);
      if (!marks) return fail(nullptr, marks.error(), std::move(why));
      for (std::size_t i = 0; i < partitions->size(); ++i) {
        offsets.push_back({(*partitions)[i], start == source::ArrivalStart::Now ? (*marks)[i].high
                                                                                : (*marks)[i].low});
      }
    }
    std::sort(offsets.begin(), offsets.end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });
    return detail::encodeArrivalPosition(settings_.topic, offsets);
  }

  source::Result<source::EventReaderPtr> openArrivals(std::string_view position) override {
    std::string why;
    auto cursors = arrivalCursors(position, &why);
    if (!cursors) {
      return source::EventReaderPtr(
          std::make_unique<FailedReader>(cursors.error(), std::move(why)));
    }
    detail::ArrivalReaderConfig config{settings_,
                                       {},
                                       {},
                                       {},
                                       options_.fetch_timeout,
                                       options_.request_timeout,
                                       options_.partition_buffer_bytes};
    for (const ArrivalCursor& c : *cursors) {
      std::int64_t next = c.next;
      if (next < c.marks.low) {
        // Retention deleted records after the position: a gap (docs/kafka.md#forwarding).
        spdlog::warn(
            "kafka topic {} partition {}: offsets {}..{} were deleted by the topic's "
            "retention before they were forwarded; forwarding goes on from {}",
            settings_.topic, c.partition, next, c.marks.low - 1, c.marks.low);
        config.skipped.add({static_cast<std::uint64_t>(c.marks.low - next), 0, 0});
        next = c.marks.low;
      }
      config.start.push_back({c.partition, next});
      config.highs.push_back(c.marks.high);
    }
    std::string detail;
    auto reader = detail::ArrivalReader::open(std::move(config), &detail);
    if (!reader) {
      spdlog::error("{}", detail);
      return source::EventReaderPtr(std::make_unique<FailedReader>(reader.error(), detail));
    }
    return source::EventReaderPtr(std::move(*reader));
  }

  /** Σ (high watermark − max(position, low watermark)); the oldest arrival is not known. */
  source::Result<source::ArrivalBacklog> arrivalBacklog(std::string_view position) override {
    std::string why;
    auto cursors = arrivalCursors(position, &why);  // logs why it failed
    if (!cursors) return cursors.error();
    source::ArrivalBacklog backlog;
    for (const ArrivalCursor& c : *cursors) {
      const std::int64_t from = std::max(c.next, c.marks.low);
      if (c.marks.high > from) backlog.events += static_cast<std::uint64_t>(c.marks.high - from);
    }
    return backlog;
  }

 private:
  struct ArrivalCursor {
    std::int32_t partition = 0;
    std::int64_t next = 0;
    Watermarks marks;
  };

  source::Result<std::vector<Watermarks>> watermarks(const std::vector<std::int32_t>& partitions,
                                                     std::string* detail) {
    std::vector<Watermarks> marks;
    for (std::int32_t p : partitions) {
      auto m = detail::queryWatermarks(queries_.get(), settings_.topic, p, options_.request_timeout,
                                       detail);
      if (!m) return m.error();
      marks.push_back(*m);
    }
    return marks;
  }

  /**
   * The topic's partitions now, each with its next offset from `position` and its
   * watermarks. A partition the position does not name (added to the topic since) starts at
   * its low watermark; one the topic no longer has is dropped.
   */
  source::Result<std::vector<ArrivalCursor>> arrivalCursors(std::string_view position,
                                                            std::string* detail) {
    auto offsets = detail::decodeArrivalPosition(position, settings_.topic);
    if (!offsets) {
      return fail(detail, source::Errc::invalid_argument,
                  "kafka topic " + settings_.topic + ": forwarding position \"" +
                      std::string(position) + "\" is not one of this topic's");
    }
    std::string why;
    auto partitions =
        detail::topicPartitions(queries_.get(), settings_.topic, options_.request_timeout, &why);
    if (!partitions) return fail(detail, partitions.error(), std::move(why));
    auto marks = watermarks(*partitions, &why);
    if (!marks) return fail(detail, marks.error(), std::move(why));
    std::vector<ArrivalCursor> cursors;
    for (std::size_t i = 0; i < partitions->size(); ++i) {
      ArrivalCursor c{(*partitions)[i], (*marks)[i].low, (*marks)[i]};
      auto it = std::find_if(offsets->begin(), offsets->end(), [&](const detail::ArrivalOffset& o) {
        return o.partition == c.partition;
      });
      if (it != offsets->end()) c.next = it->next;
      if (c.next > c.marks.high) {
        return fail(detail, source::Errc::io_error,
                    "kafka topic " + settings_.topic + " partition " + std::to_string(c.partition) +
                        ": the forwarding position " + std::to_string(c.next) +
                        " is past the end of the log (" + std::to_string(c.marks.high) +
                        "); was the topic deleted and created again?");
      }
      cursors.push_back(c);
    }
    return cursors;
  }

  static std::uint64_t total(const std::vector<PartitionCursor>& cursors) {
    std::uint64_t sum = 0;
    for (const auto& c : cursors) sum += static_cast<std::uint64_t>(c.end - c.next);
    return sum;
  }

  source::Result<std::vector<PartitionCursor>> freshCursors(source::TimeRange range,
                                                            std::string* detail) {
    std::vector<Watermarks> marks;
    auto cursors = startCursors(range, marks, detail);
    if (!cursors) return cursors.error();
    if (auto purged = checkPurged(range, *cursors, marks, true, detail); !purged) {
      return purged.error();
    }
    return cursors;
  }

  source::Result<std::vector<PartitionCursor>> resumedCursors(source::TimeRange range,
                                                              std::string_view checkpoint,
                                                              std::string* detail) {
    auto cursors = detail::decodeCheckpoint(checkpoint, settings_.topic);
    if (!cursors) {
      return fail(detail, source::Errc::invalid_argument,
                  "kafka topic " + settings_.topic + ": checkpoint \"" + std::string(checkpoint) +
                      "\" is not one of this topic's");
    }
    std::vector<Watermarks> marks;
    for (const auto& c : *cursors) {
      if (c.next >= c.end) {
        marks.push_back({});  // done: nothing left to check
        continue;
      }
      std::string why;
      auto m = detail::queryWatermarks(queries_.get(), settings_.topic, c.partition,
                                       options_.request_timeout, &why);
      if (!m) return fail(detail, m.error(), std::move(why));
      marks.push_back(*m);
    }
    if (auto purged = checkPurged(range, *cursors, marks, false, detail); !purged) {
      return purged.error();
    }
    return std::move(*cursors);
  }

  /** Per partition: the first offset that may hold an event of the range, and the end now. */
  source::Result<std::vector<PartitionCursor>> startCursors(source::TimeRange range,
                                                            std::vector<Watermarks>& marks,
                                                            std::string* detail) {
    std::string why;
    auto partitions =
        detail::topicPartitions(queries_.get(), settings_.topic, options_.request_timeout, &why);
    if (!partitions) return fail(detail, partitions.error(), std::move(why));
    marks.clear();
    for (std::int32_t p : *partitions) {
      auto m = detail::queryWatermarks(queries_.get(), settings_.topic, p, options_.request_timeout,
                                       &why);
      if (!m) return fail(detail, m.error(), std::move(why));
      marks.push_back(*m);
    }
    std::vector<PartitionCursor> cursors;
    for (std::size_t i = 0; i < partitions->size(); ++i) {
      cursors.push_back({(*partitions)[i], marks[i].low, marks[i].high});
    }
    // Kafka reserves timestamps <= 0 (-1 latest, -2 earliest): the whole log is the answer.
    if (range.first <= 0) return cursors;
    auto starts = finder_->startOffsets(settings_.topic, *partitions, range.first, &why);
    if (!starts) return fail(detail, starts.error(), std::move(why));
    if (starts->size() != cursors.size()) {
      return fail(detail, source::Errc::io_error,
                  "kafka topic " + settings_.topic + ": start offsets for " +
                      std::to_string(starts->size()) + " partitions, expected " +
                      std::to_string(cursors.size()));
    }
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      // A record appended between the two lookups lies past the end fixed here.
      cursors[i].next = std::min((*starts)[i].offset, cursors[i].end);
    }
    return cursors;
  }

  /**
   * Fails with io_error, naming the partitions and the earliest time each still holds, when
   * records the range needs were deleted by retention (docs/kafka.md: never a silent jump). On a
   * resume that is a cursor below the log's start. On a fresh start, a partition whose
   * start is the log's start after deletions (low watermark > 0) and whose first record
   * held is later than the range's start: the deleted records may have been in the range.
   */
  source::Result<void> checkPurged(source::TimeRange range,
                                   const std::vector<PartitionCursor>& cursors,
                                   const std::vector<Watermarks>& marks, bool fresh,
                                   std::string* detail) {
    std::vector<detail::ScanStart> suspects;
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      const PartitionCursor& c = cursors[i];
      if (c.next >= c.end) continue;
      bool suspect = fresh ? marks[i].low > 0 && c.next <= marks[i].low : c.next < marks[i].low;
      if (suspect) suspects.push_back({c.partition, marks[i].low, marks[i].high});
    }
    if (suspects.empty()) return {};
    std::string why;
    auto firsts = detail::scanForTime(settings_, suspects, 0, options_.request_timeout, &why);
    if (!firsts) return fail(detail, firsts.error(), std::move(why));
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
    return fail(detail, source::Errc::io_error,
                "kafka topic " + settings_.topic + ": part of the range " +
                    formatBound(range.first) + ".." + formatBound(range.last) +
                    " was deleted by the topic's retention: " + named +
                    ". Replay a range that starts at or after the earliest time still held");
  }

  const config::KafkaSourceSettings settings_;
  const KafkaSourceOptions options_;
  std::unique_ptr<detail::EventProducer> producer_;
  detail::KafkaPtr queries_;  // metadata and watermark lookups (thread-safe calls)
  const StartOffsetFinderPtr finder_;
};

}  // namespace

source::Result<source::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                       std::string* detail) {
  return makeKafkaSource(settings, KafkaSourceOptions{}, detail);
}

source::Result<source::EventSourcePtr> makeKafkaSource(const config::KafkaSourceSettings& settings,
                                                       const KafkaSourceOptions& options,
                                                       std::string* detail) {
  if (settings.topic.empty() || settings.bootstrap_servers.empty()) {
    if (detail) *detail = "kafka source needs bootstrap_servers and topic";
    return source::Errc::invalid_argument;
  }
  StartOffsetFinderPtr finder = options.finder;
  if (!finder) {
    auto made =
        settings.start_lookup == config::KafkaStartLookup::Scan
            ? detail::makeScanningFinderWithTimeout(settings, options.request_timeout, detail)
            : detail::makeTimeIndexFinderWithTimeout(settings, options.request_timeout, detail);
    if (!made) return made.error();
    finder = std::move(*made);
  }
  auto producer = detail::EventProducer::create(settings, options.produce_timeout, detail);
  if (!producer) return producer.error();
  // Lookups use a consumer: a producer's metadata request could create a missing topic.
  auto queries = detail::makeClient(detail::Role::Lookup, settings, detail);
  if (!queries) return queries.error();
  return source::EventSourcePtr(std::make_shared<KafkaSource>(
      settings, options, std::move(*producer), std::move(*queries), std::move(finder)));
}

}  // namespace audit::kafka
