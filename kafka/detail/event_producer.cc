#include "kafka/detail/event_producer.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <vector>

#include "kafka/detail/record_time.hpp"
#include "source/event_parser.hpp"
#include "source/event_time.hpp"

namespace audit::kafka::detail {
namespace {

using Steady = std::chrono::steady_clock;

// What one ingest call waits for. Shared with its messages' delivery reports, which may
// run on another caller's thread (any flush serves every report) or after the call gave up.
struct CallState {
  std::atomic<std::size_t> outstanding{0};
  std::mutex mutex;  // guards the fields below
  std::size_t failed = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::size_t first_failed_index = 0;

  void fail(rd_kafka_resp_err_t err, std::size_t index) {
    std::lock_guard lock(mutex);
    if (failed++ == 0) {
      first_error = err;
      first_failed_index = index;
    }
  }
};

// One per message, the message's opaque; the delivery report deletes it.
struct Ticket {
  std::shared_ptr<CallState> call;
  std::size_t index;  // as reported to the caller (index_base + position)
};

void onDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  std::unique_ptr<Ticket> ticket(static_cast<Ticket*>(message->_private));
  if (!ticket) return;
  if (message->err) ticket->call->fail(message->err, ticket->index);
  ticket->call->outstanding.fetch_sub(1);
}

void onError(rd_kafka_t* rk, int err, const char* reason, void*) {
  spdlog::warn("kafka {}: {} ({})", rd_kafka_name(rk), reason,
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

// Closes a producer: what is in flight gets `timeout` to land, the rest is dropped (its
// reports still run, so no ticket leaks).
struct ProducerCloser {
  Millis timeout;
  void operator()(rd_kafka_t* rk) const noexcept {
    if (rd_kafka_flush(rk, timeoutMs(timeout)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("kafka producer closed with {} records unacknowledged", rd_kafka_outq_len(rk));
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);
    }
    rd_kafka_destroy(rk);
  }
};

}  // namespace

source::Result<std::shared_ptr<rd_kafka_t>> EventProducer::newProducer(
    const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail) {
  auto client = makeClient(Role::Producer, settings, detail, [](rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, &onDelivery);
    rd_kafka_conf_set_error_cb(conf, &onError);
  });
  if (!client) return client.error();
  return std::shared_ptr<rd_kafka_t>(client->release(), ProducerCloser{timeout});
}

source::Result<std::unique_ptr<EventProducer>> EventProducer::create(
    const config::KafkaSourceSettings& settings, Millis timeout, std::string* detail) {
  std::unique_ptr<EventProducer> producer(new EventProducer(settings, timeout));
  auto client = newProducer(settings, timeout, detail);
  if (!client) return client.error();
  producer->producer_ = std::move(*client);
  return producer;
}

EventProducer::~EventProducer() = default;

source::Result<std::shared_ptr<rd_kafka_t>> EventProducer::current(std::string* detail) {
  std::lock_guard lock(mutex_);
  char reason[512];
  rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(producer_.get(), reason, sizeof reason);
  if (fatal) {
    // An idempotent producer that lost its sequence state cannot go on; a new one can.
    spdlog::error("kafka producer for topic {} hit a fatal error ({}: {}); starting a new one",
                  settings_.topic, rd_kafka_err2name(fatal), reason);
    auto fresh = newProducer(settings_, timeout_, detail);
    if (!fresh) return fresh.error();
    producer_ = std::move(*fresh);
  }
  return producer_;
}

source::Result<source::IngestReport> EventProducer::ingest(std::span<const std::string_view> events,
                                                           bool skip_invalid,
                                                           std::size_t index_base) {
  source::IngestReport report;
  struct Candidate {
    std::string_view value;
    EpochMillis time;
    std::size_t index;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(events.size());
  std::deque<std::string> compacted;  // stable storage for re-serialised events (rare)

  // Validate everything before producing anything: one bad event and nothing is sent.
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::string_view text = source::trimJsonSpace(events[i]);
    source::EventTime time = source::extractEventTime(text);
    if (!time.ok) {
      report.rejected.push_back({index_base + i, std::move(time.reason)});
      continue;
    }
    if (time.ms < 0) {
      // Kafka reserves negative timestamps (-1: none).
      report.rejected.push_back(
          {index_base + i, "event time before 1970 is not a Kafka timestamp"});
      continue;
    }
    if (text.find_first_of("\r\n") != std::string_view::npos) {
      // A replayed event must fit one line of a JSON-lines body (as the local store does).
      text = compacted.emplace_back(boost::json::serialize(boost::json::parse(text)));
    }
    candidates.push_back({text, time.ms, index_base + i});
  }
  if (!report.rejected.empty() && !skip_invalid) return report;
  if (candidates.empty()) return report;

  std::string detail;
  auto producer = current(&detail);
  if (!producer) {
    spdlog::error("kafka ingest into topic {}: {}", settings_.topic, detail);
    return producer.error();
  }
  rd_kafka_t* rk = producer->get();
  auto call = std::make_shared<CallState>();
  const Steady::time_point deadline = Steady::now() + timeout_;

  bool refused = false;
  for (const Candidate& c : candidates) {
    auto ticket = std::make_unique<Ticket>(Ticket{call, c.index});
    call->outstanding.fetch_add(1);
    char stamp[24];
    const std::size_t stamp_size = formatTimeHeader(c.time, stamp);
    for (;;) {
      // No key: librdkafka spreads the events over the partitions. The time header spares
      // readers parsing the value (kafka/detail/record_time.hpp).
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(settings_.topic.c_str()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(c.value.data()), c.value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(c.time),
                            RD_KAFKA_V_HEADER(kTimeHeader, stamp, static_cast<ssize_t>(stamp_size)),
                            RD_KAFKA_V_OPAQUE(ticket.get()), RD_KAFKA_V_END);
      if (!err) {
        ticket.release();  // the delivery report owns it now
        break;
      }
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && Steady::now() < deadline) {
        // The local queue drains as the brokers acknowledge; serve reports meanwhile.
        rd_kafka_poll(rk, 50);
        continue;
      }
      call->outstanding.fetch_sub(1);
      spdlog::error("kafka ingest into topic {}: event {} not produced: {}", settings_.topic,
                    c.index, describe(err));
      // Wait for what was produced, then report: the caller may send the call again.
      call->fail(err, c.index);
      refused = true;
      break;
    }
    if (refused) break;
  }

  // Any flush serves every call's reports; loop until ours are in or time is up.
  while (call->outstanding.load() > 0) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Steady::now());
    if (left <= Millis(0)) break;
    rd_kafka_flush(rk, timeoutMs(std::min(left, Millis(100))));
  }

  std::lock_guard lock(call->mutex);
  if (call->failed > 0) {
    spdlog::error("kafka ingest into topic {}: {} of {} events refused, first (index {}): {}",
                  settings_.topic, call->failed, candidates.size(), call->first_failed_index,
                  describe(call->first_error));
    return classify(call->first_error);
  }
  if (std::size_t left = call->outstanding.load(); left > 0) {
    spdlog::error(
        "kafka ingest into topic {}: {} of {} events not acknowledged within {} ms; they may "
        "still be appended. Check that the brokers are reachable and the topic exists",
        settings_.topic, left, candidates.size(), timeout_.count());
    return source::Errc::busy;
  }
  report.ingested = candidates.size();
  return report;
}

}  // namespace audit::kafka::detail
