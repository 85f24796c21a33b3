#include "kafka/detail/merge_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "common/rfc3339.hpp"
#include "kafka/detail/record_time.hpp"
#include "kafka/detail/start_offsets.hpp"

namespace audit::kafka::detail {
namespace {

using Steady = std::chrono::steady_clock;

// Unparsable records are logged one by one up to this many per reader, then only counted.
constexpr std::uint64_t kLoggedUnparsable = 10;
// At most this many messages are taken from a partition's queue at once (and held).
constexpr std::size_t kPullBurst = 128;
// How long one wait for a partition's next fetch lasts before the reader looks around.
constexpr int kWaitMs = 100;
// A partition the merge waits on this long gets one nudge per wait (see nudge()): longer
// than a fetch round trip, far shorter than librdkafka's one-second idle wake-up.
constexpr int kNudgeAfterMs = 200;

PartitionListPtr singlePartition(const std::string& topic, std::int32_t partition) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  return list;
}

}  // namespace

source::Result<std::unique_ptr<MergeReader>> MergeReader::open(ReaderConfig config,
                                                               std::string* detail) {
  auto consumer = makeReadAheadConsumer(config.settings, config.partition_buffer_bytes, detail);
  if (!consumer) return consumer.error();
  const std::size_t kbytes = consumer->read_ahead_kbytes;
  std::unique_ptr<MergeReader> reader(
      new MergeReader(std::move(config), std::move(consumer->consumer)));
  // librdkafka counts kbytes as 1000 bytes; what one fetch adds may overshoot it.
  reader->read_ahead_bytes_ = std::max<std::size_t>(kbytes * 1000, 1);
  rd_kafka_t* rk = reader->consumer_.get();
  const std::string& topic = reader->config_.settings.topic;
  PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(reader->partitions_.size())));
  for (Partition& p : reader->partitions_) {
    if (p.done) continue;
    // Before the assignment: a queue the application forwards (here: nowhere) keeps that
    // forwarding when librdkafka starts fetching the partition.
    p.queue.reset(rd_kafka_queue_get_partition(rk, topic.c_str(), p.cursor.partition));
    if (!p.queue) {
      if (detail) {
        *detail = "kafka topic " + topic + ": no queue for partition " +
                  std::to_string(p.cursor.partition);
      }
      return source::Errc::io_error;
    }
    rd_kafka_queue_forward(p.queue.get(), nullptr);
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.cursor.partition)->offset =
        p.cursor.next;
  }
  if (list->cnt == 0) return reader;  // every partition is already at its end
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get())) {
    if (detail) *detail = "kafka assign on " + topic + ": " + describe(err);
    return classify(err);
  }
  return reader;
}

MergeReader::MergeReader(ReaderConfig config, KafkaPtr consumer)
    : config_(std::move(config)), consumer_(std::move(consumer)), scratch_(kPullBurst) {
  partitions_.reserve(config_.cursors.size());
  for (const PartitionCursor& c : config_.cursors) {
    Partition p;
    p.cursor = c;
    p.fetched = c.next;
    p.done = c.next >= c.end;
    partitions_.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    if (!partitions_[i].done) needy_.push_back(static_cast<std::uint32_t>(i));
  }
}

MergeReader::~MergeReader() {
  if (unparsable_ > 0) {
    spdlog::warn("kafka topic {}: {} records skipped because their event time could not be read",
                 config_.settings.topic, unparsable_);
  }
  // Messages and queues hold references to the client: give them back first.
  taken_.clear();
  partitions_.clear();
  // No group was joined and nothing is committed: closing only stops the fetchers.
  rd_kafka_consumer_close(consumer_.get());
}

MergeReader::Partition* MergeReader::find(std::int32_t partition) {
  auto it =
      std::lower_bound(partitions_.begin(), partitions_.end(), partition,
                       [](const Partition& p, std::int32_t id) { return p.cursor.partition < id; });
  return it != partitions_.end() && it->cursor.partition == partition ? &*it : nullptr;
}

source::Errc MergeReader::fail(source::Errc code, std::string text) {
  spdlog::error("{}", text);
  error_detail_ = std::move(text);
  return code;
}

bool MergeReader::later(std::uint32_t a, std::uint32_t b) const {
  EpochMillis ta = partitions_[a].head_time;
  EpochMillis tb = partitions_[b].head_time;
  return ta != tb ? ta > tb : a > b;
}

void MergeReader::pushHeap(std::size_t index) {
  // A max-heap by "later": the earliest head (the lowest partition on ties) is on top.
  heap_.push_back(static_cast<std::uint32_t>(index));
  std::push_heap(heap_.begin(), heap_.end(),
                 [this](std::uint32_t a, std::uint32_t b) { return later(a, b); });
}

void MergeReader::markDone(Partition& p) {
  // Skipped records, transaction markers and compacted gaps up to the end need no delivery.
  p.cursor.next = p.cursor.end;
  p.done = true;
  p.pulled.clear();
  p.examined = 0;
  // Stop fetching records past the end this job fixed.
  auto list = singlePartition(config_.settings.topic, p.cursor.partition);
  rd_kafka_pause_partitions(consumer_.get(), list.get());
}

std::size_t MergeReader::pull(Partition& p, int wait_ms) {
  if (p.examined == p.pulled.size()) {
    p.pulled.clear();
    p.examined = 0;
  }
  std::size_t got = 0;
  if (wait_ms > 0) {
    // A batch call would wait out its whole timeout for a full batch: wait for one only.
    MessagePtr first(rd_kafka_consume_queue(p.queue.get(), wait_ms));
    if (!first) return 0;
    p.drained_bytes += first->len;
    p.pulled.push_back(std::move(first));
    got = 1;
  }
  ssize_t n = rd_kafka_consume_batch_queue(p.queue.get(), 0, scratch_.data(), scratch_.size());
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* m = scratch_[static_cast<std::size_t>(i)];
    p.drained_bytes += m->len;
    p.pulled.emplace_back(m);
  }
  got += n > 0 ? static_cast<std::size_t>(n) : 0;
  if (got == 0 && wait_ms == 0) {
    // The queue ran dry. If it held about the read-ahead since it was last empty, librdkafka
    // has probably stopped fetching it: have it fetch again before the merge needs it.
    if (p.drained_bytes >= read_ahead_bytes_ && !p.done) nudge(p);
    p.drained_bytes = 0;
  }
  return got;
}

source::Result<void> MergeReader::advance(Partition& p) {
  while (!p.head && !p.done) {
    if (p.examined == p.pulled.size() && pull(p, 0) == 0) return {};
    MessagePtr message = std::move(p.pulled[p.examined++]);
    if (auto r = examine(p, std::move(message)); !r) return r;
  }
  return {};
}

source::Result<void> MergeReader::examine(Partition& p, MessagePtr message) {
  const rd_kafka_message_t& m = *message;
  switch (m.err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      break;
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
      // Every record below the end of the log has been pulled (EOF follows them).
      ++progress_;
      p.fetched = std::max(p.fetched, std::min<std::int64_t>(m.offset, p.cursor.end));
      if (p.fetched >= p.cursor.end) markDone(p);
      return {};
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      return failPurged(p);
    default:
      return onError(m.err, p.cursor.partition);
  }
  ++progress_;
  const std::int64_t offset = m.offset;
  if (offset < p.fetched) return {};  // fetched again after a reassignment: already seen
  if (offset >= p.cursor.end) {
    // Appended after the job fixed its end (docs/kafka.md): not part of this replay.
    p.fetched = p.cursor.end;
    markDone(p);
    return {};
  }
  p.fetched = offset + 1;
  source::EventTime time = recordEventTime(m);
  if (time.ok && time.ms >= config_.range.first && time.ms <= config_.range.last) {
    p.head = std::move(message);
    p.head_time = time.ms;
    return {};
  }
  if (!time.ok && unparsable_++ < kLoggedUnparsable) {
    spdlog::warn("kafka topic {} partition {} offset {}: record skipped: {}",
                 config_.settings.topic, p.cursor.partition, offset, time.reason);
  }
  // Nothing to deliver, and nothing of the partition is waiting before it: pass it.
  p.cursor.next = offset + 1;
  if (p.fetched >= p.cursor.end) markDone(p);
  return {};
}

source::Result<void> MergeReader::onError(rd_kafka_resp_err_t err, std::int32_t partition) {
  // librdkafka retries fetches by itself; the error names the stall if it does not heal.
  last_error_ = err;
  spdlog::debug("kafka topic {} partition {}: {}", config_.settings.topic, partition,
                describe(err));
  char reason[512];
  if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(consumer_.get(), reason, sizeof reason)) {
    return fail(source::Errc::io_error, "kafka topic " + config_.settings.topic +
                                            ": consumer failed: " + rd_kafka_err2name(fatal) +
                                            ": " + reason);
  }
  return {};
}

source::Result<void> MergeReader::drainConsumerQueue() {
  for (;;) {
    MessagePtr message(rd_kafka_consumer_poll(consumer_.get(), 0));
    if (!message) return {};
    Partition* p = message->rkt ? find(message->partition) : nullptr;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR ||
        message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // Only if librdkafka forwarded a partition after all: keep its log order.
      if (p && !p->done) p->pulled.push_back(std::move(message));
      continue;
    }
    if (p && !p->done &&
        (message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
         message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)) {
      if (auto r = failPurged(*p); !r) return r;
      continue;
    }
    if (auto r = onError(message->err, message->partition); !r) return r;
  }
}

source::Result<void> MergeReader::reassign() {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
  for (const Partition& p : partitions_) {
    if (p.done) continue;
    rd_kafka_topic_partition_list_add(list.get(), config_.settings.topic.c_str(),
                                      p.cursor.partition)
        ->offset = p.fetched;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer_.get(), list.get())) {
    return fail(classify(err),
                "kafka topic " + config_.settings.topic + ": assign failed: " + describe(err));
  }
  return {};
}

source::Result<void> MergeReader::failPurged(Partition& p) {
  if (p.done) return {};
  std::string detail;
  auto marks = queryWatermarks(consumer_.get(), config_.settings.topic, p.cursor.partition,
                               config_.request_timeout, &detail);
  if (marks && marks->low <= p.fetched) {
    // Not deleted after all (a transient out-of-range answer): fetch it again. librdkafka
    // stopped the partition, and a stopped partition cannot seek: assign it anew.
    spdlog::warn("kafka topic {} partition {}: offset {} reported out of range but held; retrying",
                 config_.settings.topic, p.cursor.partition, p.fetched);
    return reassign();
  }
  std::string earliest = "unknown";
  if (marks) {
    ScanStart from{p.cursor.partition, marks->low, marks->high};
    auto first =
        scanForTime(config_.settings, std::span(&from, 1), 0, config_.request_timeout, &detail);
    if (first && (*first)[0].timestamp >= 0) earliest = formatRfc3339((*first)[0].timestamp);
  }
  return fail(source::Errc::io_error,
              "kafka topic " + config_.settings.topic +
                  ": records of the range were deleted by the topic's retention before they "
                  "were replayed: partition " +
                  std::to_string(p.cursor.partition) + " (needed offset " +
                  std::to_string(p.fetched) + ", earliest time still held " + earliest +
                  "). The job cannot deliver the whole range; replay a range that starts later");
}

void MergeReader::nudge(Partition& p) {
  // librdkafka 2.0 stops fetching a partition whose queue reached queued.max.messages.kbytes
  // and looks at it again only when its broker thread wakes up: on the next fetch response
  // or op, or after a full second. When every partition of a broker is full, a reader
  // faster than that second drains a queue and waits for the rest of it. A seek to where the
  // partition stands is an op to that thread: it fetches at once. Only while the queue is
  // empty (nothing queued is thrown away), and once per wait: a fetch in flight that the
  // seek made stale costs a round trip, never a loop.
  if (p.examined != p.pulled.size()) return;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), config_.settings.topic.c_str(), p.cursor.partition)
      ->offset = p.fetched;
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(consumer_.get(), list.get(), 0)) {
    spdlog::debug("kafka topic {}: seek of partition {} to {}: {}", config_.settings.topic,
                  p.cursor.partition, p.fetched, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
}

source::Result<void> MergeReader::fillHeads() {
  // Only records and ends of partitions count as progress: librdkafka keeps reporting
  // connection errors while the brokers are away.
  std::optional<Steady::time_point> deadline;  // read the clock only once waiting
  std::uint64_t seen = progress_;
  nudged_ = false;
  while (!needy_.empty()) {
    // What is at hand first, without waiting.
    std::size_t kept = 0;
    for (std::uint32_t index : needy_) {
      Partition& p = partitions_[index];
      if (auto r = advance(p); !r) return r;
      if (p.head) {
        pushHeap(index);
      } else if (!p.done) {
        needy_[kept++] = index;
      }
    }
    needy_.resize(kept);
    if (needy_.empty()) break;
    const Steady::time_point now = Steady::now();
    if (progress_ != seen || !deadline) {
      seen = progress_;
      deadline = now + config_.fetch_timeout;
      nudged_ = false;
    }
    if (now >= *deadline) {
      std::string waiting;
      for (std::uint32_t index : needy_) {
        const Partition& p = partitions_[index];
        if (!waiting.empty()) waiting += ",";
        waiting += std::to_string(p.cursor.partition) + "@" + std::to_string(p.fetched);
      }
      return fail(source::Errc::busy,
                  "kafka topic " + config_.settings.topic + ": no records for " +
                      std::to_string(config_.fetch_timeout.count()) + " ms from partitions " +
                      waiting + " (partition@offset); last error: " +
                      (last_error_ ? describe(last_error_) : std::string("none")) +
                      ". Check that the brokers are reachable");
    }
    // The merge cannot go on without the first needy partition's next record: wait for it
    // (librdkafka fetches every partition meanwhile).
    Partition& waiting_on = partitions_[needy_.front()];
    if (nudged_) {
      pull(waiting_on, kWaitMs);
    } else if (pull(waiting_on, kNudgeAfterMs) == 0) {
      nudge(waiting_on);
      nudged_ = true;
    }
    if (auto r = drainConsumerQueue(); !r) return r;
  }
  return {};
}

source::Result<void> MergeReader::next(EventBatch& out, BatchLimits limits) {
  out.clear();
  if (!deferred_error_) {
    auto error = deferred_error_;
    deferred_error_ = {};
    return error;  // its detail is still in error_detail_
  }
  error_detail_.clear();
  // Zero events per batch would read as "exhausted" forever; treat it as one.
  const std::size_t max_events = std::max<std::size_t>(limits.max_events, 1);
  std::vector<TakenSpan> spans(partitions_.size());
  taken_.clear();
  std::size_t bytes = 0;
  while (taken_.size() < max_events) {
    if (auto filled = fillHeads(); !filled) {
      if (taken_.empty()) return filled;
      deferred_error_ = filled;  // deliver what was taken; fail on the next call
      break;
    }
    if (heap_.empty()) break;  // every partition is at its end
    const std::uint32_t index = heap_.front();
    Partition& best = partitions_[index];
    const std::size_t size = best.head->len;
    // The byte cap never leaves a batch empty: a single larger event goes alone.
    if (!taken_.empty() && bytes + size > limits.max_bytes) break;
    std::pop_heap(heap_.begin(), heap_.end(),
                  [this](std::uint32_t a, std::uint32_t b) { return later(a, b); });
    heap_.pop_back();
    bytes += size;
    const std::int64_t offset = best.head->offset;
    best.cursor.next = offset + 1;
    TakenSpan& span = spans[index];
    if (span.count++ == 0) span.first = offset;
    span.last = offset;
    taken_.push_back({best.head_time, std::move(best.head)});
    if (best.fetched >= best.cursor.end) {
      markDone(best);
    } else {
      needy_.push_back(index);
    }
  }
  if (taken_.empty()) return {};

  // Merged by time already, except where a partition's own records step back in time.
  const auto earlier = [](const Taken& a, const Taken& b) { return a.time < b.time; };
  if (!std::is_sorted(taken_.begin(), taken_.end(), earlier)) {
    std::stable_sort(taken_.begin(), taken_.end(), earlier);
  }
  out.reserve(bytes + taken_.size(), taken_.size());  // the exact size: no regrowth
  for (Taken& t : taken_) {
    out.add(std::string_view(static_cast<const char*>(t.message->payload), t.message->len), t.time);
    t.message.reset();
  }
  taken_.clear();
  std::vector<PartitionCursor> after;
  after.reserve(partitions_.size());
  for (const Partition& p : partitions_) after.push_back(p.cursor);
  out.checkpoint = encodeCheckpoint(config_.settings.topic, after);
  for (std::size_t i = 0; i < spans.size(); ++i)
    spans[i].partition = partitions_[i].cursor.partition;
  std::erase_if(spans, [](const TakenSpan& s) { return s.count == 0; });
  out.identity = batchIdentity(spans);
  return {};
}

}  // namespace audit::kafka::detail
