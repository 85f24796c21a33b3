#include "kafka/detail/arrival_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "kafka/detail/record_time.hpp"

namespace audit::kafka::detail {
namespace {

using Steady = std::chrono::steady_clock;

// Unparsable records are logged one by one up to this many per reader, then only counted.
constexpr std::uint64_t kLoggedUnparsable = 10;
// One wait for records known to exist, before the reader checks its stall deadline.
constexpr int kWaitMs = 100;
// A batch begun while records known to exist are still on their way waits this long at most
// for them to fill it.
constexpr int kFillWaitMs = 50;

}  // namespace

source::Result<std::unique_ptr<ArrivalReader>> ArrivalReader::open(ArrivalReaderConfig config,
                                                                   std::string* detail) {
  // The read-ahead per partition, as the replay reader has it.
  auto consumer = makeReadAheadConsumer(config.settings, config.partition_buffer_bytes, detail);
  if (!consumer) return consumer.error();
  std::unique_ptr<ArrivalReader> reader(
      new ArrivalReader(std::move(config), std::move(consumer->consumer)));
  if (auto assigned = reader->assign(); !assigned) {
    if (detail) *detail = reader->error_detail_;
    return assigned.error();
  }
  return reader;
}

ArrivalReader::ArrivalReader(ArrivalReaderConfig config, KafkaPtr consumer)
    : config_(std::move(config)), consumer_(std::move(consumer)) {
  for (std::size_t i = 0; i < config_.start.size(); ++i) {
    const std::int64_t high = i < config_.highs.size() ? config_.highs[i] : 0;
    partitions_.push_back(
        {config_.start[i].partition, config_.start[i].next, std::max(high, config_.start[i].next)});
  }
  skipped_ = config_.skipped;
  moved_ = skipped_.any();  // the first batch carries the position past the gap
}

ArrivalReader::~ArrivalReader() {
  if (unparsable_ > 0) {
    spdlog::warn(
        "kafka topic {}: {} records not forwarded because their event time could not "
        "be read",
        config_.settings.topic, unparsable_);
  }
  pending_.reset();  // messages hold references to the client: give them back first
  rd_kafka_consumer_close(consumer_.get());
}

source::Skipped ArrivalReader::takeSkipped() {
  return std::exchange(skipped_, {});
}

ArrivalReader::Partition* ArrivalReader::find(std::int32_t partition) {
  auto it = std::lower_bound(partitions_.begin(), partitions_.end(), partition,
                             [](const Partition& p, std::int32_t id) { return p.id < id; });
  return it != partitions_.end() && it->id == partition ? &*it : nullptr;
}

bool ArrivalReader::caughtUp() const {
  return std::all_of(partitions_.begin(), partitions_.end(),
                     [](const Partition& p) { return p.next >= p.high; });
}

source::Errc ArrivalReader::fail(source::Errc code, std::string text) {
  spdlog::error("{}", text);
  error_detail_ = std::move(text);
  return code;
}

source::Result<void> ArrivalReader::assign() {
  const std::string& topic = config_.settings.topic;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
  for (const Partition& p : partitions_) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.id)->offset = p.next;
  }
  if (list->cnt == 0) return {};
  if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer_.get(), list.get())) {
    return fail(classify(err), "kafka topic " + topic + ": assign failed: " + describe(err));
  }
  return {};
}

source::Result<void> ArrivalReader::onOutOfRange(Partition& p) {
  std::string detail;
  auto marks = queryWatermarks(consumer_.get(), config_.settings.topic, p.id,
                               config_.request_timeout, &detail);
  if (!marks) {
    spdlog::error("{}", detail);
    error_detail_ = std::move(detail);
    return marks.error();
  }
  if (marks->low > p.next) {
    // Retention deleted what was not forwarded yet: a gap, passed over (docs/kafka.md).
    const std::int64_t lost = marks->low - p.next;
    spdlog::warn(
        "kafka topic {} partition {}: offsets {}..{} were deleted by the topic's "
        "retention before they were forwarded; forwarding goes on from {}",
        config_.settings.topic, p.id, p.next, marks->low - 1, marks->low);
    skipped_.add({static_cast<std::uint64_t>(lost), 0, 0});
    p.next = marks->low;
    moved_ = true;
  } else if (p.next > marks->high) {
    return fail(source::Errc::io_error,
                "kafka topic " + config_.settings.topic + " partition " + std::to_string(p.id) +
                    ": the forwarding position " + std::to_string(p.next) +
                    " is past the end of the log (" + std::to_string(marks->high) +
                    "); was the topic deleted and created again?");
  } else {
    spdlog::warn("kafka topic {} partition {}: offset {} reported out of range but held; retrying",
                 config_.settings.topic, p.id, p.next);
  }
  p.high = std::max(p.high, marks->high);
  // librdkafka stopped the partition, and a stopped partition cannot seek: assign anew.
  return assign();
}

source::Result<void> ArrivalReader::next(EventBatch& out, BatchLimits limits) {
  out.clear();
  error_detail_.clear();
  const std::size_t max_events = std::max<std::size_t>(limits.max_events, 1);
  std::vector<TakenSpan> spans(partitions_.size());
  std::size_t taken = 0;
  std::size_t bytes = 0;
  bool waited = false;  // the one short wait once caught up
  Steady::time_point deadline = Steady::now() + config_.fetch_timeout;
  Steady::time_point fill_until;  // set by the batch's first event
  rd_kafka_t* rk = consumer_.get();

  while (taken < max_events) {
    MessagePtr message = std::move(pending_);
    if (!message) message.reset(rd_kafka_consumer_poll(rk, 0));
    if (!message && taken > 0 && !caughtUp()) {
      // Catching up: let the fetches in flight fill the batch a little, rather than send
      // many small ones.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(fill_until - Steady::now());
      if (left.count() > 0) {
        message.reset(rd_kafka_consumer_poll(rk, static_cast<int>(left.count())));
      }
    }
    if (!message) {
      if (taken > 0 || moved_) break;  // deliver what is at hand
      if (caughtUp()) {
        if (waited) break;  // nothing more yet
        waited = true;
        message.reset(rd_kafka_consumer_poll(rk, kFollowWaitMs));
        if (!message) break;
      } else {
        if (Steady::now() >= deadline) {
          std::string waiting;
          for (const Partition& p : partitions_) {
            if (p.next >= p.high) continue;
            if (!waiting.empty()) waiting += ",";
            waiting += std::to_string(p.id) + "@" + std::to_string(p.next);
          }
          return fail(source::Errc::busy,
                      "kafka topic " + config_.settings.topic + ": no records for " +
                          std::to_string(config_.fetch_timeout.count()) + " ms from partitions " +
                          waiting + " (partition@offset); last error: " +
                          (last_error_ ? describe(last_error_) : std::string("none")) +
                          ". Check that the brokers are reachable");
        }
        message.reset(rd_kafka_consumer_poll(rk, kWaitMs));
        if (!message) continue;
      }
    }

    const rd_kafka_message_t& m = *message;
    Partition* p = m.rkt ? find(m.partition) : nullptr;
    switch (m.err) {
      case RD_KAFKA_RESP_ERR_NO_ERROR:
        break;
      case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        if (p) {
          // Everything below the end has been seen: control records and compacted offsets
          // before it need no delivery.
          deadline = Steady::now() + config_.fetch_timeout;
          if (m.offset > p->next) {
            p->next = m.offset;
            moved_ = true;
          }
          p->high = std::max(p->next, m.offset);
        }
        continue;
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        if (p) {
          if (auto r = onOutOfRange(*p); !r) return r;
          deadline = Steady::now() + config_.fetch_timeout;
        }
        continue;
      default: {
        // librdkafka retries by itself; the error names the stall if it does not heal.
        last_error_ = m.err;
        spdlog::debug("kafka topic {}: {}", config_.settings.topic, describe(m.err));
        char reason[512];
        if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, reason, sizeof reason)) {
          return fail(source::Errc::io_error, "kafka topic " + config_.settings.topic +
                                                  ": consumer failed: " + rd_kafka_err2name(fatal) +
                                                  ": " + reason);
        }
        continue;
      }
    }
    if (!p || m.offset < p->next) continue;  // fetched again after a reassignment
    deadline = Steady::now() + config_.fetch_timeout;
    source::EventTime time = recordEventTime(m);
    if (!time.ok) {
      if (unparsable_++ < kLoggedUnparsable) {
        spdlog::warn("kafka topic {} partition {} offset {}: record not forwarded: {}",
                     config_.settings.topic, p->id, m.offset, time.reason);
      }
      p->next = m.offset + 1;
      p->high = std::max(p->high, p->next);
      moved_ = true;
      continue;
    }
    // The byte cap never leaves a batch empty: a single larger event goes alone.
    if (taken > 0 && bytes + m.len > limits.max_bytes) {
      pending_ = std::move(message);
      break;
    }
    if (taken == 0) fill_until = Steady::now() + std::chrono::milliseconds(kFillWaitMs);
    out.add(std::string_view(static_cast<const char*>(m.payload), m.len), time.ms);
    bytes += m.len;
    ++taken;
    TakenSpan& span = spans[static_cast<std::size_t>(p - partitions_.data())];
    if (span.count++ == 0) span.first = m.offset;
    span.last = m.offset;
    p->next = m.offset + 1;
    p->high = std::max(p->high, p->next);
  }

  if (taken == 0 && !moved_) return {};  // nothing more yet
  moved_ = false;
  std::vector<ArrivalOffset> after;
  after.reserve(partitions_.size());
  for (const Partition& p : partitions_) after.push_back({p.id, p.next});
  out.checkpoint = encodeArrivalPosition(config_.settings.topic, after);
  for (std::size_t i = 0; i < spans.size(); ++i) spans[i].partition = partitions_[i].id;
  std::erase_if(spans, [](const TakenSpan& s) { return s.count == 0; });
  out.identity = batchIdentity(spans);
  return {};
}

}  // namespace audit::kafka::detail
