#pragma once
// Shared pieces of the fault-injection end-to-end tests (faults_e2e_test.cc,
// process_faults_e2e_test.cc): a receiver whose faults are planned per batch (the
// Idempotency-Key tells retries of one batch apart from the next batch), and the checks
// every fault case ends with: nothing of the range missing, each request in time order,
// retries of a batch carry the same body.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"

namespace audit::e2e {

/** One request as the faulty webhook saw it arrive (after its whole body was read). */
struct Arrival {
  std::size_t n = 0;        // the receiver's request index
  std::size_t batch = 0;    // distinct Idempotency-Key, numbered in order of first arrival
  std::size_t attempt = 0;  // 0 for the first request carrying that key, 1 for its retry, …
  std::int64_t wall_ms = 0;
  std::chrono::steady_clock::time_point at;
  std::string last_line;  // the request's last event line (decompressed)
};

/** Decides the reply to one arrival; runs on the receiver's I/O thread. */
using Plan = std::function<sink::Reply(const Arrival&)>;

/** A real HTTP receiver on 127.0.0.1 whose faults are planned per batch and attempt. */
class FaultyWebhook {
 public:
  explicit FaultyWebhook(Plan plan = {}) : plan_(std::move(plan)) {
    receiver_.setScript([this](const sink::ReceivedRequest& request, std::size_t n) {
      return onRequest(request, n);
    });
    receiver_.start();
  }
  ~FaultyWebhook() { receiver_.stop(); }
  FaultyWebhook(const FaultyWebhook&) = delete;
  FaultyWebhook& operator=(const FaultyWebhook&) = delete;

  sink::Receiver& receiver() { return receiver_; }
  std::string url() const { return receiver_.url(); }

  void setPlan(Plan plan) {
    std::lock_guard lock(mutex_);
    plan_ = std::move(plan);
  }
  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  std::vector<Arrival> attemptsOf(std::size_t batch) const {
    std::vector<Arrival> out;
    for (const auto& a : arrivals())
      if (a.batch == batch) out.push_back(a);
    return out;
  }
  std::size_t batchesSeen() const {
    std::lock_guard lock(mutex_);
    return batch_of_.size();
  }

 private:
  sink::Reply onRequest(const sink::ReceivedRequest& request, std::size_t n) {
    Arrival arrival;
    arrival.n = n;
    arrival.at = std::chrono::steady_clock::now();
    arrival.wall_ms = nowMs();
    std::string_view body = request.body;
    while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
    arrival.last_line = std::string(body.substr(body.rfind('\n') + 1));
    Plan plan;
    {
      std::lock_guard lock(mutex_);
      auto key = request.headers.find("idempotency-key");
      const std::string id = key == request.headers.end() ? std::string() : key->second;
      auto [it, inserted] = batch_of_.try_emplace(id, batch_of_.size());
      arrival.batch = it->second;
      arrival.attempt = attempts_[arrival.batch]++;
      arrivals_.push_back(arrival);
      plan = plan_;
    }
    return plan ? plan(arrival) : sink::Reply{};
  }

  mutable std::mutex mutex_;
  Plan plan_;
  std::map<std::string, std::size_t> batch_of_;
  std::map<std::size_t, std::size_t> attempts_;
  std::vector<Arrival> arrivals_;
  sink::Receiver receiver_{sink::ReceiverOptions{}};  // declared last: stopped first
};

inline sink::Reply answer(int status, std::string body = {},
                          std::map<std::string, std::string> headers = {},
                          std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  sink::Reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.delay = delay;
  return r;
}

inline sink::Reply fault(sink::Reply::Kind kind, int status = 200) {
  sink::Reply r;
  r.kind = kind;
  r.status = status;
  return r;
}

/** Webhook, batch and retry settings of the one region `us`. */
struct RegionSettings {
  std::string timeout = "5s";
  int max_events = 100;
  std::string retry =
      "{initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 6, max_elapsed: 30s}";
  std::string webhook_extra;  // more flow-mapping entries, e.g. `authorization: "…"`
};

inline std::string usRegionYaml(const std::string& endpoint, const RegionSettings& s = {}) {
  return "regions:\n"
         "  us:\n"
         "    webhook: {endpoint: \"" +
         endpoint + "\", timeout: " + s.timeout +
         (s.webhook_extra.empty() ? std::string() : ", " + s.webhook_extra) +
         "}\n"
         "    batch: {max_events: " +
         std::to_string(s.max_events) +
         ", max_bytes: 1MiB}\n"
         "    retry: " +
         s.retry + "\n";
}

/** `n` distinct events, 1 ms apart from `start` on. */
inline std::vector<std::string> rangeEvents(std::int64_t start, int n, const std::string& tag) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(makeEvent(start + i, tag + std::to_string(i)));
  return out;
}

/** Ingests through the socket in calls of 1,000 lines; every event must be stored. */
inline ::testing::AssertionResult ingestAll(DaemonFixture& d,
                                            const std::vector<std::string>& events,
                                            const std::string& region = "us") {
  for (std::size_t i = 0; i < events.size(); i += 1000) {
    std::vector<std::string> chunk(
        events.begin() + static_cast<std::ptrdiff_t>(i),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + 1000)));
    auto answer = d.ingest(region, chunk);
    auto* ok = answer.if_contains("ok");
    if (ok == nullptr || !ok->as_bool())
      return ::testing::AssertionFailure() << "ingest refused: " << boost::json::serialize(answer);
    auto* ingested = answer.if_contains("ingested");
    if (ingested == nullptr ||
        ingested->to_number<std::int64_t>() != static_cast<std::int64_t>(chunk.size()))
      return ::testing::AssertionFailure()
             << "not every event stored: " << boost::json::serialize(answer);
  }
  return ::testing::AssertionSuccess();
}

inline boost::json::object putJob(DaemonFixture& d, std::int64_t first_ms, std::int64_t last_ms,
                                  const std::string& region = "us") {
  return d
      .call({{"op", "put_job"},
             {"region", region},
             {"start_at", isoMillis(first_ms)},
             {"end_at", isoMillis(last_ms)}})
      .value_or(boost::json::object{});
}

/** Every event of `want` is among `got` (at-least-once); the message names what is missing. */
inline ::testing::AssertionResult nothingMissing(const std::vector<std::string>& got,
                                                 const std::vector<std::string>& want) {
  std::set<std::string> have(got.begin(), got.end());
  std::size_t missing = 0;
  std::string first;
  for (const auto& e : want) {
    if (have.contains(e)) continue;
    if (missing++ == 0) first = e;
  }
  std::set<std::string> wanted(want.begin(), want.end());
  std::size_t foreign = 0;
  for (const auto& e : have) foreign += wanted.contains(e) ? 0 : 1;
  if (missing == 0 && foreign == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << missing << " of " << want.size() << " events never acknowledged (first: " << first
         << "); " << foreign << " delivered events were not of the range";
}

/** Each request's lines (failed attempts too) in time order, and every retry of a batch
 *  carries the same body as its first attempt. */
inline ::testing::AssertionResult requestsWellFormed(
    const std::vector<sink::ReceivedRequest>& reqs) {
  std::map<std::string, const std::string*> body_of;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const auto& body = reqs[i].body;
    std::int64_t last = INT64_MIN;
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t nl = body.find('\n', pos);
      if (nl == std::string::npos) nl = body.size();
      if (nl > pos) {
        boost::system::error_code ec;
        auto v = boost::json::parse(std::string_view(body).substr(pos, nl - pos), ec);
        if (ec || !v.is_object() || !v.as_object().contains("rt"))
          return ::testing::AssertionFailure() << "request " << i << ": a line is not an event";
        std::int64_t rt = v.at("rt").to_number<std::int64_t>();
        if (rt < last)
          return ::testing::AssertionFailure()
                 << "request " << i << ": rt " << rt << " after " << last << " (not in time order)";
        last = rt;
      }
      pos = nl + 1;
    }
    auto key = reqs[i].headers.find("idempotency-key");
    if (key == reqs[i].headers.end())
      return ::testing::AssertionFailure() << "request " << i << " has no Idempotency-Key";
    auto [it, inserted] = body_of.try_emplace(key->second, &body);
    if (!inserted && *it->second != body)
      return ::testing::AssertionFailure()
             << "request " << i << " retries key " << key->second << " with a different body";
  }
  return ::testing::AssertionSuccess();
}

inline std::int64_t statOf(DaemonFixture& d, const std::string& name) {
  auto stats = d.call({{"op", "stats"}});
  if (!stats || !stats->contains("stats")) return -1;
  return stats->at("stats").at(name).as_int64();
}

inline boost::json::object webhookOf(DaemonFixture& d, const std::string& region = "us") {
  auto hook = d.call({{"op", "webhook_status"}, {"region", region}});
  if (!hook || !hook->contains("webhook")) return {};
  return hook->at("webhook").as_object();
}

}  // namespace audit::e2e
