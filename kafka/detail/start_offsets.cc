#include "kafka/detail/start_offsets.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "kafka/detail/client.hpp"

namespace audit::kafka::detail {
namespace {

using Steady = std::chrono::steady_clock;

std::string partitionName(const std::string& topic, std::int32_t partition) {
  return topic + "[" + std::to_string(partition) + "]";
}

/** The time index of the cluster: one ListOffsets round trip per leader. */
class TimeIndexFinder final : public StartOffsetFinder {
 public:
  TimeIndexFinder(KafkaPtr client, Millis timeout)
      : client_(std::move(client)), timeout_(timeout) {}

  source::Result<std::vector<PartitionOffset>> startOffsets(
      const std::string& topic, std::span<const std::int32_t> partitions, EpochMillis start,
      std::string* detail) override {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (std::int32_t p : partitions) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = start;
    }
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(client_.get(), list.get(), timeoutMs(timeout_));
    if (err) {
      if (detail) {
        *detail = "kafka time index of topic " + topic + " (offsets for " + std::to_string(start) +
                  "): " + describe(err);
      }
      return classify(err);
    }
    std::vector<TimeIndexAnswer> answers;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& e = list->elems[i];
      TimeIndexAnswer a{e.partition, e.offset, e.err, 0};
      if (a.error == 0 && a.offset == RD_KAFKA_OFFSET_END) {
        // No record at or after `start`: the partition starts (and ends) at its end.
        auto marks = queryWatermarks(client_.get(), topic, e.partition, timeout_, detail);
        if (!marks) return marks.error();
        a.high = marks->high;
      }
      answers.push_back(a);
    }
    std::string why;
    auto resolved = resolveTimeIndexAnswers(answers, &why);
    if (!resolved && detail) *detail = "kafka topic " + topic + ": " + why;
    return resolved;
  }

 private:
  KafkaPtr client_;
  Millis timeout_;
};

/** Scans from each low watermark: the time index's answers without one. */
class ScanningFinder final : public StartOffsetFinder {
 public:
  ScanningFinder(config::KafkaSourceSettings settings, KafkaPtr client, Millis timeout)
      : settings_(std::move(settings)), client_(std::move(client)), timeout_(timeout) {}

  source::Result<std::vector<PartitionOffset>> startOffsets(
      const std::string& topic, std::span<const std::int32_t> partitions, EpochMillis start,
      std::string* detail) override {
    std::vector<ScanStart> starts;
    for (std::int32_t p : partitions) {
      auto marks = queryWatermarks(client_.get(), topic, p, timeout_, detail);
      if (!marks) return marks.error();
      starts.push_back({p, marks->low, marks->high});
    }
    config::KafkaSourceSettings settings = settings_;
    settings.topic = topic;
    auto hits = scanForTime(settings, starts, start, timeout_, detail);
    if (!hits) return hits.error();
    std::vector<PartitionOffset> out;
    for (const auto& h : *hits) out.push_back({h.partition, h.offset});
    return out;
  }

 private:
  config::KafkaSourceSettings settings_;
  KafkaPtr client_;
  Millis timeout_;
};

}  // namespace

source::Result<std::vector<PartitionOffset>> resolveTimeIndexAnswers(
    std::span<const TimeIndexAnswer> answers, std::string* detail) {
  std::vector<PartitionOffset> out;
  out.reserve(answers.size());
  for (const auto& a : answers) {
    auto err = static_cast<rd_kafka_resp_err_t>(a.error);
    if (err) {
      if (detail) {
        *detail = "time index of partition " + std::to_string(a.partition) + ": " + describe(err);
      }
      return classify(err);
    }
    if (a.offset == RD_KAFKA_OFFSET_END) {
      out.push_back({a.partition, a.high});
    } else if (a.offset >= 0) {
      out.push_back({a.partition, a.offset});
    } else {
      if (detail) {
        *detail = "time index of partition " + std::to_string(a.partition) + " answered offset " +
                  std::to_string(a.offset);
      }
      return source::Errc::io_error;
    }
  }
  return out;
}

source::Result<std::vector<ScanHit>> scanForTime(const config::KafkaSourceSettings& settings,
                                                 std::span<const ScanStart> starts,
                                                 EpochMillis time, Millis stall_timeout,
                                                 std::string* detail) {
  std::vector<ScanHit> hits;
  std::map<std::int32_t, std::size_t> pending;  // partition -> index in hits
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(starts.size())));
  for (const auto& s : starts) {
    hits.push_back({s.partition, s.end, -1});
    if (s.from >= s.end) continue;
    pending.emplace(s.partition, hits.size() - 1);
    rd_kafka_topic_partition_list_add(list.get(), settings.topic.c_str(), s.partition)->offset =
        s.from;
  }
  if (pending.empty()) return hits;

  auto client = makeClient(Role::Consumer, settings, detail);
  if (!client) return client.error();
  rd_kafka_t* rk = client->get();
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get())) {
    if (detail) *detail = "kafka assign on " + settings.topic + ": " + describe(err);
    return classify(err);
  }
  auto finish = [&](std::int32_t partition, std::int64_t offset, EpochMillis timestamp) {
    auto it = pending.find(partition);
    if (it == pending.end()) return;
    hits[it->second].offset = offset;
    hits[it->second].timestamp = timestamp;
    pending.erase(it);
    // Stop fetching what is no longer needed.
    PartitionListPtr one(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(one.get(), settings.topic.c_str(), partition);
    rd_kafka_pause_partitions(rk, one.get());
  };

  rd_kafka_resp_err_t last_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  Steady::time_point deadline = Steady::now() + stall_timeout;
  while (!pending.empty()) {
    MessagePtr msg(rd_kafka_consumer_poll(rk, 100));
    if (!msg) {
      if (Steady::now() < deadline) continue;
      if (detail) {
        *detail = "kafka scan of " + settings.topic + " stalled for " +
                  std::to_string(stall_timeout.count()) + " ms on partition " +
                  std::to_string(pending.begin()->first) +
                  (last_error ? "; last error " + describe(last_error) : std::string());
      }
      return source::Errc::busy;
    }
    auto it = pending.find(msg->partition);
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (it != pending.end() && msg->offset >= hits[it->second].offset) {
        finish(msg->partition, hits[it->second].offset, -1);
      }
      deadline = Steady::now() + stall_timeout;
      continue;
    }
    if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      // Retention moved the log's start past where the scan began.
      if (detail) {
        *detail =
            "kafka " + partitionName(settings.topic, msg->partition) + ": " + describe(msg->err);
      }
      return source::Errc::io_error;
    }
    if (msg->err) {
      // librdkafka retries fetches on its own; remember the error for the stall message.
      last_error = msg->err;
      spdlog::debug("kafka scan of {}: {}", settings.topic, describe(msg->err));
      char fatal[256];
      if (rd_kafka_fatal_error(rk, fatal, sizeof fatal)) {
        if (detail) *detail = "kafka fatal error: " + std::string(fatal);
        return source::Errc::io_error;
      }
      continue;
    }
    deadline = Steady::now() + stall_timeout;
    if (it == pending.end()) continue;
    const std::int64_t end = hits[it->second].offset;
    if (msg->offset >= end) {
      finish(msg->partition, end, -1);
      continue;
    }
    rd_kafka_timestamp_type_t type;
    EpochMillis ts = rd_kafka_message_timestamp(msg.get(), &type);
    if (ts < 0 || ts >= time) finish(msg->partition, msg->offset, ts);
  }
  return hits;
}

source::Result<StartOffsetFinderPtr> makeTimeIndexFinderWithTimeout(
    const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail) {
  auto client = makeClient(Role::Lookup, settings, detail);
  if (!client) return client.error();
  return StartOffsetFinderPtr(std::make_shared<TimeIndexFinder>(std::move(*client), timeout));
}

source::Result<StartOffsetFinderPtr> makeScanningFinderWithTimeout(
    const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail) {
  auto client = makeClient(Role::Lookup, settings, detail);
  if (!client) return client.error();
  return StartOffsetFinderPtr(
      std::make_shared<ScanningFinder>(settings, std::move(*client), timeout));
}

}  // namespace audit::kafka::detail

namespace audit::kafka {

source::Result<StartOffsetFinderPtr> makeTimeIndexFinder(
    const config::KafkaSourceSettings& settings, std::string* detail) {
  return detail::makeTimeIndexFinderWithTimeout(settings, kDefaultRequestTimeout, detail);
}

source::Result<StartOffsetFinderPtr> makeScanningFinder(const config::KafkaSourceSettings& settings,
                                                        std::string* detail) {
  return detail::makeScanningFinderWithTimeout(settings, kDefaultRequestTimeout, detail);
}

}  // namespace audit::kafka
