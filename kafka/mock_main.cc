// audit-replay-kafka-mock: a throw-away Kafka cluster (librdkafka's in-process mock brokers)
// for tests and demos. Prints "bootstrap: <servers>" on one line, then serves until SIGTERM
// or SIGINT. The mock keeps everything in memory, has no time index and keeps at most
// 5 MiB per partition (older records are dropped as retention would). SIGUSR1 takes every
// broker down (connections cut, new ones refused), SIGUSR2 brings them back: an outage on
// cue for end-to-end tests.
//
//   audit-replay-kafka-mock [--brokers N] [--topic NAME] [--partitions P]

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "audit-replay-kafka-mock: %s\n"
               "usage: audit-replay-kafka-mock [--brokers N] [--topic NAME] [--partitions P]\n",
               why);
  return 2;
}

bool parseCount(const char* text, int& out) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 1 || value > 1000) return false;
  out = static_cast<int>(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  int partitions = 3;
  std::string topic = "audit";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage("missing value after an option");
    const char* value = argv[++i];
    if (arg == "--brokers") {
      if (!parseCount(value, brokers)) return usage("--brokers needs a number 1..1000");
    } else if (arg == "--partitions") {
      if (!parseCount(value, partitions)) return usage("--partitions needs a number 1..1000");
    } else if (arg == "--topic") {
      topic = value;
      if (topic.empty()) return usage("--topic needs a name");
    } else {
      return usage("unknown option");
    }
  }

  // Block the stop signals before librdkafka starts threads, so they inherit the mask and
  // only sigwait() below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGUSR1);
  sigaddset(&stop, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock brokers; it connects nowhere, which librdkafka would
  // otherwise log as a configuration warning.
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (host == nullptr) {
    std::fprintf(stderr, "audit-replay-kafka-mock: %s\n", error);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "audit-replay-kafka-mock: cannot start the mock cluster\n");
    rd_kafka_destroy(host);
    return 1;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions,
                                                           brokers < 3 ? brokers : 3)) {
    std::fprintf(stderr, "audit-replay-kafka-mock: topic %s: %s\n", topic.c_str(),
                 rd_kafka_err2str(err));
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(host);
    return 1;
  }
  std::printf("bootstrap: %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);

  int signal = 0;
  for (;;) {
    sigwait(&stop, &signal);
    if (signal == SIGUSR1) {
      rd_kafka_mock_broker_set_down(cluster, -1);
      std::fprintf(stderr, "audit-replay-kafka-mock: brokers down\n");
    } else if (signal == SIGUSR2) {
      rd_kafka_mock_broker_set_up(cluster, -1);
      std::fprintf(stderr, "audit-replay-kafka-mock: brokers up\n");
    } else {
      break;
    }
  }
  std::fprintf(stderr, "audit-replay-kafka-mock: stopping on signal %d\n", signal);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}
