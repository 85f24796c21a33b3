#include "kafka/detail/merge_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string_view>

#include "common/rfc3339.hpp"
#include "kafka/detail/start_offsets.hpp"
#include "store/event_time.hpp"

namespace audit::kafka::detail {
namespace {

using Steady = std::chrono::steady_clock;

// Unparsable records are logged one by one up to this many per reader, then only counted.
constexpr std::uint64_t kLoggedUnparsable = 10;
// At most this many messages are taken from librdkafka per poll round.
constexpr int kPollBurst = 1000;

PartitionListPtr singlePartition(const std::string& topic, std::int32_t partition,
                                 std::int64_t offset = RD_KAFKA_OFFSET_INVALID) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  return list;
}

}  // namespace

store::Result<std::unique_ptr<MergeReader>> MergeReader::open(ReaderConfig config,
                                                              std::string* detail) {
  auto consumer = makeClient(Role::Consumer, config.settings, detail);
  if (!consumer) return consumer.error();
  std::unique_ptr<MergeReader> reader(new MergeReader(std::move(config), std::move(*consumer)));
  PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(reader->partitions_.size())));
  for (const Partition& p : reader->partitions_) {
    if (p.done) continue;
    rd_kafka_topic_partition_list_add(list.get(), reader->config_.settings.topic.c_str(),
                                      p.cursor.partition)
        ->offset = p.cursor.next;
  }
  if (list->cnt == 0) return reader;  // every partition is already at its end
  if (rd_kafka_resp_err_t err = rd_kafka_assign(reader->consumer_.get(), list.get())) {
    if (detail)
      *detail = "kafka assign on " + reader->config_.settings.topic + ": " + describe(err);
    return classify(err);
  }
  return reader;
}

MergeReader::MergeReader(ReaderConfig config, KafkaPtr consumer)
    : config_(std::move(config)), consumer_(std::move(consumer)) {
  for (const PartitionCursor& c : config_.cursors) {
    Partition p;
    p.cursor = c;
    p.fetched = c.next;
    p.done = c.next >= c.end;
    partitions_.push_back(std::move(p));
  }
}

MergeReader::~MergeReader() {
  if (unparsable_ > 0) {
    spdlog::warn("kafka topic {}: {} records skipped because their event time could not be read",
                 config_.settings.topic, unparsable_);
  }
  // No group was joined and nothing is committed: closing only stops the fetchers.
  rd_kafka_consumer_close(consumer_.get());
}

MergeReader::Partition* MergeReader::find(std::int32_t partition) {
  auto it =
      std::lower_bound(partitions_.begin(), partitions_.end(), partition,
                       [](const Partition& p, std::int32_t id) { return p.cursor.partition < id; });
  return it != partitions_.end() && it->cursor.partition == partition ? &*it : nullptr;
}

void MergeReader::setPaused(Partition& p, bool paused) {
  if (p.paused == paused) return;
  p.paused = paused;
  auto list = singlePartition(config_.settings.topic, p.cursor.partition);
  if (paused) {
    rd_kafka_pause_partitions(consumer_.get(), list.get());
  } else {
    rd_kafka_resume_partitions(consumer_.get(), list.get());
    // Fetch again from exactly where the buffer ends, whatever librdkafka had prefetched.
    seek(p);
  }
}

bool MergeReader::seek(Partition& p) {
  auto list = singlePartition(config_.settings.topic, p.cursor.partition, p.fetched);
  rd_kafka_error_t* error =
      rd_kafka_seek_partitions(consumer_.get(), list.get(), timeoutMs(config_.request_timeout));
  if (error == nullptr && list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
  rd_kafka_resp_err_t err = error ? rd_kafka_error_code(error) : list->elems[0].err;
  if (error) rd_kafka_error_destroy(error);
  spdlog::warn("kafka topic {}: seek of partition {} to {} failed: {}", config_.settings.topic,
               p.cursor.partition, p.fetched, describe(err));
  last_error_ = err;
  return false;
}

store::Result<void> MergeReader::reassign() {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
  for (const Partition& p : partitions_) {
    if (p.done) continue;
    rd_kafka_topic_partition_list_add(list.get(), config_.settings.topic.c_str(),
                                      p.cursor.partition)
        ->offset = p.fetched;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer_.get(), list.get())) {
    spdlog::error("kafka topic {}: assign failed: {}", config_.settings.topic, describe(err));
    return classify(err);
  }
  // A new assignment fetches every partition: pause again what has enough read ahead.
  for (Partition& p : partitions_) {
    if (p.done || !p.paused) continue;
    auto one = singlePartition(config_.settings.topic, p.cursor.partition);
    rd_kafka_pause_partitions(consumer_.get(), one.get());
  }
  return {};
}

void MergeReader::markDoneIfDrained(Partition& p) {
  if (p.done || !p.buffer.empty() || p.fetched < p.cursor.end) return;
  // Skipped records, transaction markers and compacted gaps up to the end need no delivery.
  p.cursor.next = p.cursor.end;
  p.done = true;
  setPaused(p, true);
}

void MergeReader::accept(Partition& p, const rd_kafka_message_t& message) {
  const std::int64_t offset = message.offset;
  if (offset < p.fetched) return;  // fetched again after a seek: already seen
  if (offset >= p.cursor.end) {
    // Appended after the job fixed its end (SPEC §11): not part of this replay.
    p.fetched = p.cursor.end;
    markDoneIfDrained(p);
    return;
  }
  p.fetched = offset + 1;
  std::string_view value(static_cast<const char*>(message.payload), message.len);
  store::EventTime time = store::extractEventTime(value);
  bool keep = time.ok && time.ms >= config_.range.first && time.ms <= config_.range.last;
  if (!time.ok) {
    if (unparsable_++ < kLoggedUnparsable) {
      spdlog::warn("kafka topic {} partition {} offset {}: record skipped: {}",
                   config_.settings.topic, p.cursor.partition, offset, time.reason);
    }
  }
  if (!keep) {
    // Nothing to deliver: the cursor moves past it once what is buffered before it is taken.
    if (p.buffer.empty()) {
      p.cursor.next = offset + 1;
    } else {
      p.buffer.back().advance_to = offset + 1;
    }
    return;
  }
  p.buffered_bytes += value.size();
  p.buffer.push_back(Record{offset, offset + 1, time.ms, std::string(value)});
  if (p.buffered_bytes >= config_.partition_buffer_bytes) setPaused(p, true);
}

store::Result<bool> MergeReader::handle(const rd_kafka_message_t& message) {
  Partition* p = find(message.partition);
  switch (message.err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      if (p && !p->done) accept(*p, message);
      return true;
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
      // Every record below the end of the log has been polled (EOF follows them).
      if (p && !p->done) {
        p->fetched = std::max(p->fetched, std::min<std::int64_t>(message.offset, p->cursor.end));
        markDoneIfDrained(*p);
      }
      return true;
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      if (p && !p->done) {
        auto retried = failPurged(p->cursor.partition);
        if (!retried) return store::Result<bool>(boost::system::in_place_error, retried.error());
      }
      return false;
    default:
      break;
  }
  // librdkafka retries fetches by itself; the error names the stall if it does not heal.
  last_error_ = message.err;
  spdlog::debug("kafka topic {} partition {}: {}", config_.settings.topic, message.partition,
                describe(message.err));
  char reason[512];
  if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(consumer_.get(), reason, sizeof reason)) {
    spdlog::error("kafka topic {}: consumer failed: {}: {}", config_.settings.topic,
                  rd_kafka_err2name(fatal), reason);
    return store::Errc::io_error;
  }
  return false;
}

store::Result<void> MergeReader::failPurged(std::int32_t partition) {
  Partition& p = *find(partition);
  std::string detail;
  auto marks = queryWatermarks(consumer_.get(), config_.settings.topic, partition,
                               config_.request_timeout, &detail);
  if (marks && marks->low <= p.fetched) {
    // Not deleted after all (a transient out-of-range answer): fetch it again. librdkafka
    // stopped the partition, and a stopped partition cannot seek: assign it anew.
    spdlog::warn("kafka topic {} partition {}: offset {} reported out of range but held; retrying",
                 config_.settings.topic, partition, p.fetched);
    return reassign();
  }
  std::string earliest = "unknown";
  if (marks) {
    ScanStart from{partition, marks->low, marks->high};
    auto first =
        scanForTime(config_.settings, std::span(&from, 1), 0, config_.request_timeout, &detail);
    if (first && (*first)[0].timestamp >= 0) earliest = formatRfc3339((*first)[0].timestamp);
  }
  spdlog::error(
      "kafka topic {}: records of the range were deleted by the topic's retention before they "
      "were replayed: partition {} (needed offset {}, earliest time still held {}). The job "
      "cannot deliver the whole range; replay a range that starts later",
      config_.settings.topic, partition, p.fetched, earliest);
  return store::Errc::io_error;
}

store::Result<void> MergeReader::fill() {
  // Only records and ends of partitions count as progress: librdkafka keeps reporting
  // connection errors while the brokers are away.
  Steady::time_point deadline = Steady::now() + config_.fetch_timeout;
  for (;;) {
    bool needy = false;
    for (Partition& p : partitions_) {
      markDoneIfDrained(p);
      if (p.done || !p.buffer.empty()) continue;
      needy = true;
      setPaused(p, false);  // an empty buffer is never left paused
    }
    if (!needy) return {};
    if (Steady::now() >= deadline) {
      std::string waiting;
      for (const Partition& p : partitions_) {
        if (p.done || !p.buffer.empty()) continue;
        if (!waiting.empty()) waiting += ",";
        waiting += std::to_string(p.cursor.partition) + "@" + std::to_string(p.fetched);
      }
      spdlog::error(
          "kafka topic {}: no records for {} ms from partitions {} (partition@offset); last "
          "error: {}. Check that the brokers are reachable",
          config_.settings.topic, config_.fetch_timeout.count(), waiting,
          last_error_ ? describe(last_error_) : std::string("none"));
      return store::Errc::busy;
    }
    // Wait briefly for one message, then take what is already queued without waiting.
    for (int i = 0; i < kPollBurst; ++i) {
      MessagePtr message(rd_kafka_consumer_poll(consumer_.get(), i == 0 ? 100 : 0));
      if (!message) break;
      auto progress = handle(*message);
      if (!progress) return progress.error();
      if (*progress) deadline = Steady::now() + config_.fetch_timeout;
    }
  }
}

store::Result<void> MergeReader::next(EventBatch& out, BatchLimits limits) {
  out.clear();
  if (!deferred_error_) {
    auto error = deferred_error_;
    deferred_error_ = {};
    return error;
  }
  // Zero events per batch would read as "exhausted" forever; treat it as one.
  const std::size_t max_events = std::max<std::size_t>(limits.max_events, 1);
  struct Taken {
    EpochMillis time;
    std::string value;
  };
  std::vector<TakenSpan> spans(partitions_.size());
  std::vector<Taken> taken;
  std::size_t bytes = 0;
  while (taken.size() < max_events) {
    if (auto filled = fill(); !filled) {
      if (taken.empty()) return filled;
      deferred_error_ = filled;  // deliver what was taken; fail on the next call
      break;
    }
    Partition* best = nullptr;
    for (Partition& p : partitions_) {
      if (p.buffer.empty()) continue;
      if (best == nullptr || p.buffer.front().time < best->buffer.front().time) best = &p;
    }
    if (best == nullptr) break;  // every partition is at its end
    Record& head = best->buffer.front();
    // The byte cap never leaves a batch empty: a single larger event goes alone.
    if (!taken.empty() && bytes + head.value.size() > limits.max_bytes) break;
    bytes += head.value.size();
    best->buffered_bytes -= head.value.size();
    best->cursor.next = head.advance_to;
    // Refetch while half the read-ahead is still there to merge: a resumed partition takes
    // a fetch round trip to deliver again.
    if (best->paused && !best->done && best->buffered_bytes <= config_.partition_buffer_bytes / 2) {
      setPaused(*best, false);
    }
    TakenSpan& span = spans[static_cast<std::size_t>(best - partitions_.data())];
    if (span.count++ == 0) span.first = head.offset;
    span.last = head.offset;
    taken.push_back({head.time, std::move(head.value)});
    best->buffer.pop_front();
  }
  if (taken.empty()) return {};

  std::stable_sort(taken.begin(), taken.end(),
                   [](const Taken& a, const Taken& b) { return a.time < b.time; });
  for (const Taken& t : taken) out.add(t.value, t.time);
  std::vector<PartitionCursor> after;
  for (const Partition& p : partitions_) after.push_back(p.cursor);
  out.checkpoint = encodeCheckpoint(config_.settings.topic, after);
  for (std::size_t i = 0; i < spans.size(); ++i)
    spans[i].partition = partitions_[i].cursor.partition;
  std::erase_if(spans, [](const TakenSpan& s) { return s.count == 0; });
  out.identity = batchIdentity(spans);
  return {};
}

}  // namespace audit::kafka::detail
