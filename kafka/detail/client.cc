#include "kafka/detail/client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace audit::kafka::detail {
namespace {

using Property = std::pair<std::string_view, std::string_view>;

// Defaults a property of the region's config may change.
constexpr std::array kCommonDefaults{
    Property{"client.id", "audit-replay"},
    // Brokers close idle connections; librdkafka would log each one as an error.
    Property{"log.connection.close", "false"},
};
constexpr std::array kConsumerDefaults{
    // assign() needs a group, but the reader never joins it nor commits to it: positions
    // live in the job's checkpoint.
    Property{"group.id", "audit-replay"},
    // Records of aborted transactions are not events that happened.
    Property{"isolation.level", "read_committed"},
    // librdkafka's own read-ahead (default 64 MiB); the reader buffers per partition too.
    Property{"queued.max.messages.kbytes", "16384"},
    // A reader pauses partitions with enough read-ahead; a resumed one waits for the fetch
    // in flight, which the broker holds up to this long when the others have nothing new.
    Property{"fetch.wait.max.ms", "100"},
};

// What correctness rests on: set after the region's properties, which cannot change them.
constexpr std::array kProducerRequired{
    // docs/kafka.md: no duplicates or reordering from the producer's own retries.
    Property{"enable.idempotence", "true"},
};
constexpr std::array kConsumerRequired{
    Property{"enable.auto.commit", "false"},
    Property{"enable.auto.offset.store", "false"},
    // Purged offsets must fail the job with a reason, never jump silently (docs/kafka.md).
    Property{"auto.offset.reset", "error"},
    // The reader knows a partition is done only when it sees its end.
    Property{"enable.partition.eof", "true"},
};

void logToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  // librdkafka uses syslog levels: 0 emergency .. 7 debug.
  spdlog::level::level_enum to = level <= 3   ? spdlog::level::err
                                 : level == 4 ? spdlog::level::warn
                                 : level <= 6 ? spdlog::level::info
                                              : spdlog::level::debug;
  // A region's properties go to producer and consumers alike (docs/kafka.md), so each client
  // ignores the other role's properties; that is expected, not worth a warning.
  if (std::string_view(facility) == "CONFWARN" &&
      std::string_view(message).find("will be ignored by this") != std::string_view::npos) {
    to = spdlog::level::debug;
  }
  spdlog::log(to, "kafka {} {}: {}", rd_kafka_name(rk), facility, message);
}

bool setProperty(rd_kafka_conf_t* conf, std::string_view key, std::string_view value,
                 std::string* detail) {
  char error[512];
  std::string k(key);
  std::string v(value);
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), error, sizeof error) == RD_KAFKA_CONF_OK) {
    return true;
  }
  if (detail) *detail = "kafka property " + k + ": " + error;
  return false;
}

template <std::size_t N>
bool setAll(rd_kafka_conf_t* conf, const std::array<Property, N>& properties, std::string* detail) {
  for (const auto& [key, value] : properties) {
    if (!setProperty(conf, key, value, detail)) return false;
  }
  return true;
}

template <std::size_t N>
bool setRequired(rd_kafka_conf_t* conf, const std::array<Property, N>& required,
                 const config::KafkaSourceSettings& settings, std::string* detail) {
  for (const auto& [key, value] : required) {
    // An init-capture: clang 14 cannot capture a structured binding (C++20 allows it).
    auto given = std::find_if(settings.properties.begin(), settings.properties.end(),
                              [&key = key](const auto& p) { return p.first == key; });
    if (given != settings.properties.end() && given->second != value) {
      spdlog::warn("kafka topic {}: property {}={} ignored: audit-replay needs {}={}",
                   settings.topic, key, given->second, key, value);
    }
    if (!setProperty(conf, key, value, detail)) return false;
  }
  return true;
}

}  // namespace

source::Result<KafkaPtr> makeClient(Role role, const config::KafkaSourceSettings& settings,
                                    std::string* detail,
                                    const std::function<void(rd_kafka_conf_t*)>& configure) {
  ConfPtr conf(rd_kafka_conf_new());
  bool ok = setAll(conf.get(), kCommonDefaults, detail) &&
            (role != Role::Consumer || setAll(conf.get(), kConsumerDefaults, detail));
  for (const auto& [key, value] : settings.properties) {
    ok = ok && setProperty(conf.get(), key, value, detail);
  }
  ok = ok && setProperty(conf.get(), "bootstrap.servers", settings.bootstrap_servers, detail);
  ok =
      ok && (role == Role::Producer ? setRequired(conf.get(), kProducerRequired, settings, detail)
                                    : setRequired(conf.get(), kConsumerRequired, settings, detail));
  if (!ok) return source::Errc::invalid_argument;
  rd_kafka_conf_set_log_cb(conf.get(), &logToSpdlog);
  if (configure) configure(conf.get());

  char error[512];
  rd_kafka_type_t type = role == Role::Producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER;
  if (role == Role::Lookup) {
    // A group.id given in the properties would make this handle look up the coordinator.
    if (!setProperty(conf.get(), "group.id", "", detail)) return source::Errc::invalid_argument;
  }
  // rd_kafka_new takes the conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), error, sizeof error);
  if (rk == nullptr) {
    if (detail) *detail = std::string("kafka client: ") + error;
    return source::Errc::invalid_argument;
  }
  conf.release();
  return KafkaPtr(rk);
}

namespace {
bool hasProperty(const config::KafkaSourceSettings& settings, std::string_view key) {
  return std::any_of(settings.properties.begin(), settings.properties.end(),
                     [key](const auto& p) { return p.first == key; });
}
}  // namespace

source::Result<ReadAheadConsumer> makeReadAheadConsumer(const config::KafkaSourceSettings& settings,
                                                        std::size_t partition_buffer_bytes,
                                                        std::string* detail) {
  // The read-ahead per partition (partition queues are not forwarded, so librdkafka applies
  // queued.max.messages.kbytes to each), unless the region's properties say otherwise.
  std::size_t kbytes = std::max<std::size_t>(partition_buffer_bytes / 1024, 1);
  const bool own_read_ahead = !hasProperty(settings, "queued.max.messages.kbytes");
  if (!own_read_ahead) {
    for (const auto& [key, value] : settings.properties) {
      if (key == "queued.max.messages.kbytes") kbytes = std::strtoull(value.c_str(), nullptr, 10);
    }
  }
  // Fetches of half the read-ahead keep librdkafka fetching while a reader drains a queue.
  const bool own_fetch_size = !hasProperty(settings, "max.partition.fetch.bytes") &&
                              !hasProperty(settings, "fetch.message.max.bytes");
  const std::size_t fetch_bytes = std::max<std::size_t>(kbytes * 1000 / 2, 64 << 10);
  auto consumer = makeClient(Role::Consumer, settings, detail, [&](rd_kafka_conf_t* conf) {
    char error[256];
    if (own_read_ahead) {
      const std::string value = std::to_string(kbytes);
      rd_kafka_conf_set(conf, "queued.max.messages.kbytes", value.c_str(), error, sizeof error);
    }
    if (own_fetch_size) {
      const std::string value = std::to_string(fetch_bytes);
      rd_kafka_conf_set(conf, "max.partition.fetch.bytes", value.c_str(), error, sizeof error);
    }
  });
  if (!consumer) return consumer.error();
  return ReadAheadConsumer{std::move(*consumer), kbytes};
}

int timeoutMs(Millis timeout) {
  return static_cast<int>(std::clamp<Millis::rep>(timeout.count(), 0, 1 << 30));
}

source::Result<std::vector<std::int32_t>> topicPartitions(rd_kafka_t* rk, const std::string& topic,
                                                          Millis timeout, std::string* detail) {
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> handle(
      rd_kafka_topic_new(rk, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  if (!handle) {
    if (detail) *detail = "kafka topic " + topic + ": " + describe(rd_kafka_last_error());
    return source::Errc::invalid_argument;
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle.get(), &metadata, timeoutMs(timeout));
  if (err) {
    if (detail) *detail = "kafka metadata of topic " + topic + ": " + describe(err);
    return classify(err);
  }
  std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(
      metadata, &rd_kafka_metadata_destroy);
  if (metadata->topic_cnt != 1 || metadata->topics[0].err) {
    rd_kafka_resp_err_t topic_err = metadata->topic_cnt == 1
                                        ? metadata->topics[0].err
                                        : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (detail) *detail = "kafka topic " + topic + ": " + describe(topic_err);
    return classify(topic_err);
  }
  std::vector<std::int32_t> partitions;
  for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
    partitions.push_back(metadata->topics[0].partitions[i].id);
  }
  std::sort(partitions.begin(), partitions.end());
  if (partitions.empty()) {
    if (detail) *detail = "kafka topic " + topic + " has no partitions";
    return source::Errc::io_error;
  }
  return partitions;
}

source::Result<Watermarks> queryWatermarks(rd_kafka_t* rk, const std::string& topic,
                                           std::int32_t partition, Millis timeout,
                                           std::string* detail) {
  Watermarks marks;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, topic.c_str(), partition, &marks.low, &marks.high, timeoutMs(timeout));
  if (err) {
    if (detail) {
      *detail =
          "kafka watermarks of " + topic + "[" + std::to_string(partition) + "]: " + describe(err);
    }
    return classify(err);
  }
  return marks;
}

source::Errc classify(rd_kafka_resp_err_t err) {
  switch (err) {
    // The cluster is (for now) unreachable, slow or moving leaders: worth another try.
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
      return source::Errc::busy;
    default:
      return source::Errc::io_error;
  }
}

std::string describe(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

}  // namespace audit::kafka::detail
