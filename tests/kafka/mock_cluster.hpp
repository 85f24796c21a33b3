#pragma once
// librdkafka's in-process mock cluster for one test, plus a raw view of a topic's records
// and a Kafka source wired to it. The mock has no time index, so sources here find their
// start offsets with the scanning finder.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "kafka/kafka_source.hpp"

namespace audit::kafka::testing {

struct RawRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp = -1;
  bool has_key = false;
  std::string value;
  std::string time_header;  // the value of kafka/detail/record_time.hpp's header, if any
};

class MockCluster {
 public:
  explicit MockCluster(int partitions, std::string topic = "audit", int brokers = 3)
      : topic_(std::move(topic)) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (host_ == nullptr) throw std::runtime_error(error);
    cluster_ = rd_kafka_mock_cluster_new(host_, brokers);
    if (cluster_ == nullptr) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    addTopic(topic_, partitions);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  void addTopic(const std::string& name, int partitions) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
    if (err) throw std::runtime_error(rd_kafka_err2str(err));
  }

  rd_kafka_mock_cluster_t* get() const { return cluster_; }
  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& topic() const { return topic_; }

  config::KafkaSourceSettings settings(const std::string& topic = {}) const {
    return {.bootstrap_servers = bootstrap_,
            .topic = topic.empty() ? topic_ : topic,
            .properties = properties,
            .start_lookup = config::KafkaStartLookup::Scan};
  }

  /** Region properties for the sources made from now on. */
  std::vector<std::pair<std::string, std::string>> properties;

  /** Options for tests: the scanning finder, timeouts short enough to fail fast. */
  KafkaSourceOptions options(const std::string& topic = {}) const {
    KafkaSourceOptions options;
    std::string detail;
    auto finder = makeScanningFinder(settings(topic), &detail);
    EXPECT_TRUE(finder) << detail;
    if (finder) options.finder = *finder;
    options.request_timeout = Millis(5'000);
    options.produce_timeout = Millis(10'000);
    options.fetch_timeout = Millis(10'000);
    return options;
  }

  source::EventSourcePtr source(const std::string& topic = {}) const {
    return source(options(topic), topic);
  }
  source::EventSourcePtr source(const KafkaSourceOptions& options,
                                const std::string& topic = {}) const {
    std::string detail;
    auto made = makeKafkaSource(settings(topic), options, &detail);
    EXPECT_TRUE(made) << detail;
    return made ? *made : nullptr;
  }

  /** Every record of `topic` now held, by partition then offset. */
  std::vector<RawRecord> records(const std::string& topic = {}) const {
    const std::string name = topic.empty() ? topic_ : topic;
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "group.id", "test-raw", error, sizeof error);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", error, sizeof error);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    EXPECT_NE(rk, nullptr) << error;
    std::vector<RawRecord> out;
    if (rk == nullptr) return out;
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, name.c_str(), nullptr);
    EXPECT_EQ(rd_kafka_metadata(rk, 0, handle, &metadata, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_destroy(handle);
    std::map<std::int32_t, std::int64_t> ends;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; metadata && i < metadata->topics[0].partition_cnt; ++i) {
      std::int32_t p = metadata->topics[0].partitions[i].id;
      std::int64_t low = 0, high = 0;
      EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, name.c_str(), p, &low, &high, 5000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      if (low < high) {
        ends[p] = high;
        rd_kafka_topic_partition_list_add(list, name.c_str(), p)->offset = low;
      }
    }
    if (metadata) rd_kafka_metadata_destroy(metadata);
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!ends.empty() && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (!m->err) {
        rd_kafka_timestamp_type_t type;
        std::string time_header;
        rd_kafka_headers_t* headers = nullptr;
        const void* hv = nullptr;
        std::size_t hs = 0;
        if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, "audit-replay-time", &hv, &hs) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            hv != nullptr) {
          time_header.assign(static_cast<const char*>(hv), hs);
        }
        out.push_back({m->partition, m->offset, rd_kafka_message_timestamp(m, &type),
                       m->key != nullptr, std::string(static_cast<const char*>(m->payload), m->len),
                       std::move(time_header)});
        if (auto it = ends.find(m->partition); it != ends.end() && m->offset + 1 >= it->second) {
          ends.erase(it);
        }
      }
      rd_kafka_message_destroy(m);
    }
    EXPECT_TRUE(ends.empty()) << "topic " << name << " not read to its end";
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    std::sort(out.begin(), out.end(), [](const RawRecord& a, const RawRecord& b) {
      return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
    });
    return out;
  }

 private:
  std::string topic_;
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace audit::kafka::testing
