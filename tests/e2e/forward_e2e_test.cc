// End-to-end: forwarding (docs/forwarding.md) — the real audit-replayd delivering every stored
// event of a region to a real, scriptable HTTP receiver on 127.0.0.1, in arrival order,
// through outages (refused connections, 503, 429 with Retry-After), a non-retryable 400, a
// kill -9 while catching up, retention removing events before they were forwarded, its rate
// limit, and a replay job beside it. Waits are on conditions with deadlines, never sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/rfc3339.hpp"
#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/raw_http.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "FORWARD-ingest-token-51c2";

/** The "us" region, forwarding from `start` to `endpoint`; `extra` adds region keys. */
std::string usRegion(const std::string& endpoint, const std::string& extra = "",
                     const std::string& batch = "{max_events: 100, max_bytes: 1MiB}") {
  return "  us:\n"
         "    webhook: {endpoint: \"" +
         endpoint +
         "\", log_format: json, compression: gzip, timeout: 2s}\n"
         "    batch: " +
         batch +
         "\n"
         "    retry: {initial_backoff: 100ms, max_backoff: 500ms}\n"
         "    forward: {enabled: true, start: now}\n" +
         extra;
}

/** `n` distinct events `prefix0`, `prefix1`, … with rt from `first_ms`, 1 ms apart. */
std::vector<std::string> events(const std::string& prefix, int n, std::int64_t first_ms) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(makeEvent(first_ms + i, prefix + std::to_string(i)));
  return out;
}

std::string nameOf(const std::string& event) {
  boost::system::error_code ec;
  auto v = json::parse(event, ec);
  if (ec || !v.is_object() || !v.as_object().contains("name")) return "<unparsable: " + event + ">";
  return std::string(v.as_object().at("name").as_string());
}

std::int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return -1;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

/** Empty when equal, else where and how `got` differs from `want` (without printing all). */
std::string sequenceDifference(const std::vector<std::string>& got,
                               const std::vector<std::string>& want) {
  const std::size_t common = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (got[i] != want[i]) {
      return "first difference at position " + std::to_string(i) + ": received " + got[i] +
             ", expected " + want[i] + " (received " + std::to_string(got.size()) +
             " events, expected " + std::to_string(want.size()) + ")";
    }
  }
  if (got.size() != want.size()) {
    return "received " + std::to_string(got.size()) + " events, expected " +
           std::to_string(want.size()) + "; " +
           (got.size() > want.size() ? "extra from " + got[common]
                                     : "missing from " + want[common]);
  }
  return {};
}

std::vector<std::string> names(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  out.reserve(lines.size());
  for (const auto& l : lines) out.push_back(nameOf(l));
  return out;
}

/** The value of the metric line that starts with `series` ("name{labels}"), or -1. */
double metricValue(const std::string& page, const std::string& series) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class ForwardE2E : public ::testing::Test {
 protected:
  /** What the receiver answers; the test switches it between phases. */
  struct Mode {
    int status = 200;
    std::string retry_after;  // sent as Retry-After when not empty
    std::chrono::milliseconds delay{0};
  };
  /** One request as the receiver saw it. */
  struct Arrival {
    Clock::time_point at;
    int status = 0;
    std::string key;  // Idempotency-Key
    std::size_t events = 0;
  };

  void SetUp() override { makeReceiver(0); }

  void TearDown() override {
    if (HasFailure()) {
      std::printf("---- daemon logs (%s) ----\n%s\n", daemon_.dir().c_str(),
                  tail(daemon_.allLogs(), 6000).c_str());
    }
  }

  static std::string tail(const std::string& text, std::size_t n) {
    return text.size() <= n ? text : "…" + text.substr(text.size() - n);
  }

  /** A receiver (not started) on `port` (0: any), answering per mode_, logging arrivals_. */
  void makeReceiver(std::uint16_t port) {
    sink::ReceiverOptions options;
    options.port = port;
    receiver_ = std::make_unique<sink::Receiver>(
        options, [this](const sink::ReceivedRequest& request, std::size_t) {
          std::lock_guard lock(mutex_);
          sink::Reply reply;
          reply.status = mode_.status;
          reply.delay = mode_.delay;
          if (!mode_.retry_after.empty()) reply.headers["Retry-After"] = mode_.retry_after;
          if (mode_.status == 400) reply.body = "bad token format";
          auto key = request.headers.find("idempotency-key");
          arrivals_.push_back({Clock::now(), mode_.status,
                               key == request.headers.end() ? std::string() : key->second,
                               request.line_count});
          return reply;
        });
  }

  void setMode(Mode mode) {
    std::lock_guard lock(mutex_);
    mode_ = std::move(mode);
  }

  std::vector<Arrival> arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }

  std::size_t requestsAnswered(int status) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        arrivals_.begin(), arrivals_.end(), [&](const Arrival& a) { return a.status == status; }));
  }

  /** `http:` with an ingest token and a public /metrics on a free port. */
  std::string httpYaml() {
    std::ofstream(daemon_.dir() / "tokens") << kToken << "\n";
    http_port_ = freePort();
    return "http: {listen: \"127.0.0.1:" + std::to_string(http_port_) +
           "\", tokens_file: tokens, metrics_public: true}\n";
  }

  /** Starts the daemon and waits until forwarding of "us" follows (its start is fixed). */
  void startFollowing(const std::string& yaml) {
    daemon_.writeConfig(yaml);
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    ASSERT_TRUE(
        waitForward([](const json::object& f) { return str(f, "state") == "following"; }, 20s))
        << "forwarding never reached state following after start: " << json::serialize(last_);
  }

  json::object forwardStatus(const std::string& region = "us") {
    auto answer = daemon_.call({{"op", "forward_status"}, {"region", region}});
    if (!answer || !answer->contains("forward") || !answer->at("forward").is_object()) return {};
    return answer->at("forward").as_object();
  }

  /** Polls forward_status until `pred` holds; last_ keeps the last answer for messages. */
  bool waitForward(const std::function<bool(const json::object&)>& pred,
                   std::chrono::milliseconds deadline, const std::string& region = "us") {
    return waitUntil(
        [&] {
          last_ = forwardStatus(region);
          return pred(last_);
        },
        deadline);
  }

  /** Following, nothing waiting, and at least `forwarded` events forwarded in all. */
  bool waitCaughtUp(std::int64_t forwarded, std::chrono::milliseconds deadline = 30s) {
    return waitForward(
        [&](const json::object& f) {
          return str(f, "state") == "following" && num(f, "backlog_events") == 0 &&
                 num(f, "events_forwarded") >= forwarded;
        },
        deadline);
  }

  json::object op(const std::string& name, const std::string& region = "us") {
    return daemon_.call({{"op", name}, {"region", region}}).value_or(json::object{});
  }

  void ingestAll(const std::vector<std::string>& lines, const std::string& region = "us") {
    constexpr std::size_t kChunk = 10'000;
    for (std::size_t at = 0; at < lines.size(); at += kChunk) {
      std::vector<std::string> chunk(
          lines.begin() + static_cast<std::ptrdiff_t>(at),
          lines.begin() + static_cast<std::ptrdiff_t>(std::min(lines.size(), at + kChunk)));
      auto answer = daemon_.ingest(region, chunk);
      ASSERT_TRUE(answer.contains("ok") && answer.at("ok").as_bool()) << json::serialize(answer);
      ASSERT_EQ(num(answer, "ingested"), static_cast<std::int64_t>(chunk.size()))
          << "every event is new: " << json::serialize(answer);
    }
  }

  /** Event lines of the 2xx-answered requests whose Idempotency-Key starts with `prefix`,
   *  in the order the requests arrived. */
  std::vector<std::string> acceptedLines(const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& r : receiver_->requests()) {
      if (r.status < 200 || r.status >= 300) continue;
      auto key = r.headers.find("idempotency-key");
      if (key == r.headers.end() || key->second.rfind(prefix, 0) != 0) continue;
      std::istringstream body(r.body);
      for (std::string line; std::getline(body, line);) {
        if (!line.empty()) out.push_back(line);
      }
    }
    return out;
  }

  std::vector<std::string> forwarded() { return acceptedLines("forward-us-"); }

  ProcessResult ctl(const std::vector<std::string>& args, std::string* out, std::string* err) {
    std::vector<std::string> argv{binaryPath("ctl/audit-replayctl").string(), "--socket",
                                  daemon_.socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProgram(argv, out, err);
  }

  std::mutex mutex_;
  Mode mode_;
  std::vector<Arrival> arrivals_;
  std::unique_ptr<sink::Receiver> receiver_;
  DaemonFixture daemon_;
  std::uint16_t http_port_ = 0;
  json::object last_;
};

// 1. Events ingested while forwarding is on (socket, audit-replayctl ingest, HTTP POST) all
// arrive, each exactly once, in arrival order across batches; the Idempotency-Key names the
// arrival sequence numbers, ascending from batch to batch.
TEST_F(ForwardE2E, IngestedEventsArriveOnceInArrivalOrder) {
  receiver_->start();
  const std::string http = httpYaml();
  ASSERT_NO_FATAL_FAILURE(startFollowing(
      http + "regions:\n" + usRegion(receiver_->url(), "", "{max_events: 40, max_bytes: 1MiB}")));
  const std::int64_t now = nowMs();
  // Event times deliberately not in arrival order: each chunk goes back in time.
  std::vector<std::string> want;
  auto socket_a = events("sock-a-", 150, now - 10'000);
  auto by_ctl = events("ctl-", 120, now - 20'000);
  auto by_http = events("http-", 90, now - 30'000);
  auto socket_b = events("sock-b-", 77, now - 40'000);

  ingestAll(socket_a);
  want.insert(want.end(), socket_a.begin(), socket_a.end());

  {
    const auto file = daemon_.dir() / "ctl-events.ndjson";
    std::ofstream out(file);
    for (const auto& e : by_ctl) out << e << "\n";
  }
  std::string out, err;
  auto ingested =
      ctl({"ingest", "--region", "us", (daemon_.dir() / "ctl-events.ndjson").string()}, &out, &err);
  ASSERT_EQ(ingested.exit_code, 0) << "audit-replayctl ingest: " << out << err;
  want.insert(want.end(), by_ctl.begin(), by_ctl.end());

  std::string body;
  for (const auto& e : by_http) body += e + "\n";
  auto posted =
      httpRequest(http_port_,
                  "POST /v2/audit-logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: text/plain\r\nAuthorization: Bearer " +
                      std::string(kToken) + "\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n" + body);
  ASSERT_EQ(posted.status, 200) << "POST /v2/audit-logs: " << posted.head << posted.body;
  want.insert(want.end(), by_http.begin(), by_http.end());

  ingestAll(socket_b);
  want.insert(want.end(), socket_b.begin(), socket_b.end());

  const auto total = static_cast<std::int64_t>(want.size());
  ASSERT_TRUE(waitCaughtUp(total, 20s))
      << "not every event was forwarded: " << json::serialize(last_);
  auto got = forwarded();
  EXPECT_EQ(sequenceDifference(names(got), names(want)), "")
      << "the receiver must get every event exactly once, in arrival order";
  EXPECT_EQ(num(last_, "events_forwarded"), total) << json::serialize(last_);
  EXPECT_GE(num(last_, "batches_forwarded"), total / 40) << json::serialize(last_);
  EXPECT_EQ(str(last_, "last_forwarded_at"), isoMillis(now - 40'000 + 76))
      << "the event time of the last event forwarded: " << json::serialize(last_);
  EXPECT_EQ(num(last_.at("gaps").as_object(), "events"), 0) << json::serialize(last_);

  // forward-us-<first>-<last>, ascending and not overlapping from one batch to the next.
  std::int64_t previous_last = -1;
  std::size_t batches = 0;
  for (const auto& a : arrivals()) {
    ASSERT_EQ(a.status, 200);
    unsigned long long first = 0, last = 0;
    ASSERT_EQ(std::sscanf(a.key.c_str(), "forward-us-%llu-%llu", &first, &last), 2)
        << "Idempotency-Key " << a.key;
    EXPECT_LE(first, last) << a.key;
    EXPECT_GT(static_cast<std::int64_t>(first), previous_last)
        << "batches follow each other in arrival order: " << a.key;
    previous_last = static_cast<std::int64_t>(last);
    ++batches;
  }
  EXPECT_GE(batches, 9u) << "457 events in batches of at most 40";
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 2. The receiver is down for a while — nobody listening, then 503s, then 429 with
// Retry-After: 1 — and forwarding retries throughout; once it answers 200, every event
// arrives in arrival order and forwarding follows again with nothing waiting.
TEST_F(ForwardE2E, AnOutageOfRefused503And429LosesNothing) {
  const std::uint16_t port = freePort();  // reserved: the receiver listens there later
  makeReceiver(port);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(port) + "/audit";
  ASSERT_NO_FATAL_FAILURE(startFollowing("regions:\n" + usRegion(endpoint)));
  std::vector<std::string> want;
  const std::int64_t now = nowMs();

  // Connection refused.
  auto first = events("down-", 250, now);
  ingestAll(first);
  want.insert(want.end(), first.begin(), first.end());
  ASSERT_TRUE(waitForward([](const json::object& f) { return str(f, "state") == "retrying"; }, 10s))
      << "a refused connection must show retrying: " << json::serialize(last_);
  std::printf("while refused: %s\n", json::serialize(last_).c_str());
  EXPECT_TRUE(last_.contains("retry")) << "retrying shows when it tries again";
  EXPECT_GT(num(last_, "backlog_events"), 0) << json::serialize(last_);

  // 503.
  setMode({503, "", 0ms});
  receiver_->start();
  auto second = events("503-", 120, now + 1000);
  ingestAll(second);
  want.insert(want.end(), second.begin(), second.end());
  ASSERT_TRUE(waitUntil([&] { return requestsAnswered(503) >= 2; }, 10s))
      << "the batch must be retried against the 503s";
  ASSERT_TRUE(waitForward(
      [](const json::object& f) {
        return str(f, "state") == "retrying" && f.contains("retry") &&
               num(f.at("retry").as_object(), "last_response_code") == 503;
      },
      10s))
      << "503 must show retrying with the code: " << json::serialize(last_);

  // 429 with Retry-After: 1 — honoured, though max_backoff is 500ms.
  setMode({429, "1", 0ms});
  ASSERT_TRUE(waitUntil([&] { return requestsAnswered(429) >= 3; }, 15s))
      << "the batch must be retried against the 429s";
  ASSERT_TRUE(waitForward(
      [](const json::object& f) {
        return str(f, "state") == "retrying" && f.contains("retry") &&
               num(f.at("retry").as_object(), "last_response_code") == 429;
      },
      10s))
      << "429 must show retrying with the code: " << json::serialize(last_);
  {
    auto all = arrivals();
    std::vector<Clock::time_point> at429;
    for (const auto& a : all)
      if (a.status == 429) at429.push_back(a.at);
    for (std::size_t i = 1; i < at429.size(); ++i) {
      EXPECT_GE(at429[i] - at429[i - 1], 900ms)
          << "Retry-After: 1 must be honoured between 429 number " << i - 1 << " and " << i;
    }
  }
  auto third = events("429-", 80, now + 2000);
  ingestAll(third);
  want.insert(want.end(), third.begin(), third.end());

  // Back to 200.
  setMode({200, "", 0ms});
  ASSERT_TRUE(waitCaughtUp(static_cast<std::int64_t>(want.size()), 20s))
      << "after the outage forwarding must catch up and follow with backlog 0: "
      << json::serialize(last_);
  EXPECT_FALSE(last_.contains("retry")) << json::serialize(last_);
  EXPECT_EQ(sequenceDifference(names(forwarded()), names(want)), "")
      << "every event exactly once, in arrival order, after the outage";
  EXPECT_EQ(num(last_, "events_forwarded"), static_cast<std::int64_t>(want.size()));
  // Every retry of a batch carried the same Idempotency-Key as its final 200.
  auto all = arrivals();
  std::set<std::string> accepted_keys;
  for (const auto& a : all)
    if (a.status == 200) accepted_keys.insert(a.key);
  for (const auto& a : all) {
    if (a.status != 200) {
      EXPECT_TRUE(accepted_keys.contains(a.key)) << "a retried batch (" << a.status << ") has key "
                                                 << a.key << " that no accepted batch has";
    }
  }
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 3. kill -9 while catching up a 50,000-event backlog (rate-limited), then a restart: every
// event arrives at least once; what is sent again is at most about a second's worth, with
// the Idempotency-Keys it had the first time.
TEST_F(ForwardE2E, Kill9DuringCatchUpLosesNothing) {
  receiver_->start();
  const std::string yaml =
      "regions:\n" + usRegion(receiver_->url(), "    rate_limit: {events_per_second: 10000}\n",
                              "{max_events: 500, max_bytes: 4MiB}");
  ASSERT_NO_FATAL_FAILURE(startFollowing(yaml));
  ASSERT_EQ(num(op("forward_pause"), "code"), 200);
  const auto want = events("k", 50'000, nowMs() - 3'600'000);
  ASSERT_NO_FATAL_FAILURE(ingestAll(want));
  ASSERT_EQ(num(op("forward_resume"), "code"), 200);

  ASSERT_TRUE(
      receiver_->waitFor([](const sink::ReceiverStats& s) { return s.events >= 15'000; }, 30s))
      << "catching up did not start: " << json::serialize(forwardStatus());
  daemon_.kill9();
  const std::uint64_t before_kill = receiver_->stats().events;
  ASSERT_LT(before_kill, 50'000u) << "the kill must land during the catch-up";
  const auto keys_before = arrivals();

  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  ASSERT_TRUE(waitCaughtUp(50'000, 40s))
      << "after the restart forwarding must catch up: " << json::serialize(last_);

  auto got = names(forwarded());
  std::unordered_set<std::string> seen;
  std::vector<std::string> first_seen;
  std::size_t duplicates = 0;
  for (const auto& n : got) {
    if (seen.insert(n).second) {
      first_seen.push_back(n);
    } else {
      ++duplicates;
    }
  }
  EXPECT_EQ(sequenceDifference(first_seen, names(want)), "")
      << "every event at least once, first deliveries in arrival order";
  std::printf("kill -9 after %llu events received: %zu delivered again\n",
              static_cast<unsigned long long>(before_kill), duplicates);
  // The position is stored at least once a second: at 10,000 events/s that is at most
  // ~10,000 events (+ a batch and the burst) again, not a restart from the beginning.
  EXPECT_LE(duplicates, 15'000u) << "far more sent again than a second's worth";
  EXPECT_LT(duplicates, before_kill) << "forwarding restarted from scratch";
  // Batches sent again carry the keys they had before the kill.
  std::set<std::string> old_keys;
  for (const auto& a : keys_before) old_keys.insert(a.key);
  std::size_t repeated_batches = 0;
  {
    auto all = arrivals();
    for (std::size_t i = keys_before.size(); i < all.size(); ++i) {
      if (old_keys.contains(all[i].key)) ++repeated_batches;
    }
  }
  EXPECT_EQ(repeated_batches * 500, duplicates)
      << "every event sent again is in a batch with the Idempotency-Key it had before";
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 4. A late event — an event time hours old, stored after newer ones — is forwarded, in its
// arrival place.
TEST_F(ForwardE2E, ALateEventIsForwarded) {
  receiver_->start();
  ASSERT_NO_FATAL_FAILURE(startFollowing("regions:\n" + usRegion(receiver_->url())));
  const std::int64_t now = nowMs();
  std::vector<std::string> want = events("new-", 30, now);
  ingestAll(want);
  ASSERT_TRUE(waitCaughtUp(30, 10s)) << json::serialize(last_);
  const std::string late = makeEvent(now - 5 * 3'600'000, "late");
  ingestAll({late});
  want.push_back(late);
  auto after = events("newer-", 5, now + 100);
  ingestAll(after);
  want.insert(want.end(), after.begin(), after.end());
  ASSERT_TRUE(waitCaughtUp(36, 10s)) << json::serialize(last_);
  EXPECT_EQ(sequenceDifference(names(forwarded()), names(want)), "")
      << "the late event goes out in the place it arrived";
  EXPECT_EQ(num(last_.at("gaps").as_object(), "events"), 0) << json::serialize(last_);
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 5. A 400 pauses forwarding with the reason; nothing is skipped: after the receiver takes
// events again and a resume (audit-replayctl forward resume, the socket's
// forward_resume, then a reload), everything arrives in order.
TEST_F(ForwardE2E, A400PausesUntilResumedAndSkipsNothing) {
  receiver_->start();
  ASSERT_NO_FATAL_FAILURE(startFollowing("regions:\n" + usRegion(receiver_->url())));
  const std::int64_t now = nowMs();
  std::vector<std::string> want;

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round == 0   ? "resumed by audit-replayctl"
                 : round == 1 ? "resumed by forward_resume"
                              : "resumed by a reload (SIGHUP)");
    setMode({400, "", 0ms});
    const std::size_t refused_before = requestsAnswered(400);
    auto refused = events("r" + std::to_string(round) + "-", 60, now + round * 1000);
    ingestAll(refused);
    want.insert(want.end(), refused.begin(), refused.end());
    ASSERT_TRUE(waitForward([](const json::object& f) { return str(f, "state") == "paused"; }, 10s))
        << "a 400 must pause forwarding: " << json::serialize(last_);
    EXPECT_NE(str(last_, "reason").find("400"), std::string::npos)
        << "the reason names the 400: " << json::serialize(last_);
    const std::size_t refused_at_pause = requestsAnswered(400);
    EXPECT_EQ(refused_at_pause, refused_before + 1) << "a 400 is not retried";
    auto hook = daemon_.call({{"op", "webhook_status"}, {"region", "us"}});
    ASSERT_TRUE(hook && hook->contains("webhook") &&
                hook->at("webhook").as_object().contains("forward"))
        << (hook ? json::serialize(*hook) : "none");
    EXPECT_EQ(hook->at("webhook").at("forward").at("state").as_string(), "paused")
        << json::serialize(*hook);

    // Stored meanwhile, not sent.
    auto waiting = events("w" + std::to_string(round) + "-", 40, now + round * 1000 + 500);
    ingestAll(waiting);
    want.insert(want.end(), waiting.begin(), waiting.end());
    auto still = forwardStatus();
    EXPECT_EQ(str(still, "state"), "paused") << json::serialize(still);
    EXPECT_EQ(num(still, "backlog_events"), 100) << json::serialize(still);
    EXPECT_EQ(requestsAnswered(400), refused_at_pause) << "paused: nothing sent";

    setMode({200, "", 0ms});
    if (round == 0) {
      std::string out, err;
      auto resumed = ctl({"forward", "resume", "--region", "us"}, &out, &err);
      ASSERT_EQ(resumed.exit_code, 0) << out << err;
      EXPECT_NE(out.find("state:"), std::string::npos) << out;
    } else if (round == 1) {
      auto resumed = op("forward_resume");
      ASSERT_EQ(num(resumed, "code"), 200) << json::serialize(resumed);
    } else {
      daemon_.process().signal(SIGHUP);  // the webhook may have been fixed: a reload resumes
    }
    ASSERT_TRUE(waitCaughtUp(static_cast<std::int64_t>(want.size()), 10s))
        << "after the resume everything waiting goes out: " << json::serialize(last_);
    EXPECT_TRUE(last_.at("reason").is_null()) << json::serialize(last_);
  }
  EXPECT_EQ(sequenceDifference(names(forwarded()), names(want)), "")
      << "the refused batches are delivered after the resume, in order, once";
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 6. Retention removes events that were not forwarded yet: a gap, counted in the status with
// its event-time range and logged as a warning. The smallest honest setup: retention's
// minimum is 1m and a retention pass runs at start and then every 10 minutes, so the events
// are ingested 57 s old while forwarding is paused, the clock passes their cutoff (~3 s),
// and a restart runs the pass.
TEST_F(ForwardE2E, EventsRemovedByRetentionBeforeForwardingAreAGap) {
  receiver_->start();
  const std::string yaml = "retention: 1m\nregions:\n" + usRegion(receiver_->url()) +
                           "  eu:\n    webhook: {endpoint: \"" + receiver_->url() + "\"}\n";
  ASSERT_NO_FATAL_FAILURE(startFollowing(yaml));
  const std::int64_t t0 = nowMs();
  auto before = events("before-", 5, t0);
  ingestAll(before);
  ASSERT_TRUE(waitCaughtUp(5, 10s)) << json::serialize(last_);

  auto paused = op("forward_pause");
  ASSERT_EQ(num(paused, "code"), 200) << json::serialize(paused);
  ASSERT_EQ(str(paused.at("forward").as_object(), "state"), "paused") << json::serialize(paused);

  const std::int64_t gap_first = t0 - 57'000;
  auto doomed = events("doomed-", 25, gap_first);  // inside the retention window, for now
  const std::int64_t gap_last = gap_first + 24;
  ingestAll(doomed);
  // A probe in another region with the same age: retention removes both in one write.
  const std::string probe = makeEvent(gap_first, "probe");
  ingestAll({probe}, "eu");
  auto after = events("after-", 10, t0 + 10);
  ingestAll(after);

  // The retention pass at start removes what is older than a minute by then.
  ASSERT_TRUE(waitUntil([&] { return nowMs() > gap_last + 60'000 + 500; }, 10s));
  ASSERT_EQ(daemon_.stop().exit_code, 0);
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  ASSERT_TRUE(waitUntil(
      [&] {
        // A duplicate while the probe is still stored; stored anew once removed.
        return num(daemon_.ingest("eu", {probe}), "ingested") == 1;
      },
      10s))
      << "the retention pass at start did not remove the minute-old events";
  auto status = forwardStatus();
  EXPECT_EQ(str(status, "state"), "paused")
      << "a pause is kept across a restart: " << json::serialize(status);

  auto resumed = op("forward_resume");
  ASSERT_EQ(num(resumed, "code"), 200) << json::serialize(resumed);
  ASSERT_TRUE(waitCaughtUp(15, 10s)) << json::serialize(last_);
  std::vector<std::string> want = before;
  want.insert(want.end(), after.begin(), after.end());
  EXPECT_EQ(sequenceDifference(names(forwarded()), names(want)), "")
      << "the events after the gap are forwarded, the removed ones are not";
  const auto& gaps = last_.at("gaps").as_object();
  EXPECT_EQ(num(gaps, "events"), 25) << json::serialize(last_);
  EXPECT_EQ(str(gaps, "first_event_at"), isoMillis(gap_first)) << json::serialize(last_);
  EXPECT_EQ(str(gaps, "last_event_at"), isoMillis(gap_last)) << json::serialize(last_);
  EXPECT_EQ(num(last_, "events_forwarded"), 15) << json::serialize(last_);

  const std::string logs = daemon_.allLogs();
  const std::string warning =
      "gap of 25 events, removed by retention before they were forwarded "
      "(event times " +
      isoMillis(gap_first) + " .. " + isoMillis(gap_last) + ")";
  auto at = logs.find(warning);
  ASSERT_NE(at, std::string::npos) << "the log must warn of the gap with its times: " << warning;
  const auto line_start = logs.rfind('\n', at);
  const std::string line = logs.substr(line_start + 1, logs.find('\n', at) - line_start - 1);
  EXPECT_NE(line.find("warn"), std::string::npos) << "logged at warning level: " << line;
  EXPECT_NE(line.find("region=us"), std::string::npos) << line;
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 7. rate_limit 2,000 events/s while catching up a 13,000-event backlog: no 5 s window of the
// receiver's clock holds more than 10 % over the rate allows.
TEST_F(ForwardE2E, TheRateLimitHoldsOverEveryFiveSecondWindowWhileCatchingUp) {
  receiver_->start();
  ASSERT_NO_FATAL_FAILURE(startFollowing(
      "regions:\n" + usRegion(receiver_->url(), "    rate_limit: {events_per_second: 2000}\n",
                              "{max_events: 50, max_bytes: 1MiB}")));
  ASSERT_EQ(num(op("forward_pause"), "code"), 200);
  const auto want = events("rl", 13'000, nowMs() - 600'000);
  ASSERT_NO_FATAL_FAILURE(ingestAll(want));
  ASSERT_EQ(num(op("forward_resume"), "code"), 200);
  ASSERT_TRUE(waitCaughtUp(13'000, 30s)) << json::serialize(last_);

  auto all = arrivals();
  std::size_t total = 0;
  for (const auto& a : all) total += a.events;
  ASSERT_EQ(total, 13'000u) << "each event once";
  EXPECT_EQ(sequenceDifference(names(forwarded()), names(want)), "");
  std::size_t most = 0;
  for (std::size_t first = 0; first < all.size(); ++first) {
    std::size_t in_window = 0;
    for (std::size_t i = first; i < all.size() && all[i].at - all[first].at < 5s; ++i) {
      in_window += all[i].events;
    }
    EXPECT_LE(in_window, 11'000u) << "the 5 s from request " << first;
    most = std::max(most, in_window);
  }
  const double seconds = std::chrono::duration<double>(all.back().at - all.front().at).count();
  std::printf("forward rate_limit 2000/s: at most %zu events in a 5 s window, %.2f s in all\n",
              most, seconds);
  EXPECT_GE(all.back().at - all.front().at, 6'000ms) << "13,000 events at 2,000/s";
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 8. A replay job runs while forwarding catches up: both complete, the receiver gets the
// replayed range and every forwarded event, on separate connections.
TEST_F(ForwardE2E, AReplayRunsBesideForwardingCatchingUp) {
  receiver_->start();
  setMode({200, "", 20ms});  // each request takes a while: the two overlap
  ASSERT_NO_FATAL_FAILURE(startFollowing("regions:\n" + usRegion(receiver_->url())));
  ASSERT_EQ(num(op("forward_pause"), "code"), 200);
  const std::int64_t range_start = (nowMs() / 1000 - 3600) * 1000;
  const auto old_range = events("old-", 2'000, range_start);
  const auto fresh = events("fresh-", 6'000, nowMs());
  ingestAll(old_range);
  ingestAll(fresh);
  std::vector<std::string> want_forwarded = old_range;
  want_forwarded.insert(want_forwarded.end(), fresh.begin(), fresh.end());

  ASSERT_EQ(num(op("forward_resume"), "code"), 200);
  ASSERT_TRUE(
      receiver_->waitFor([](const sink::ReceiverStats& s) { return s.accepted >= 1; }, 10s));
  auto catching = forwardStatus();
  EXPECT_EQ(str(catching, "state"), "catching_up") << json::serialize(catching);
  EXPECT_GT(num(catching, "backlog_events"), 0) << json::serialize(catching);

  auto put = daemon_.call({{"op", "put_job"},
                           {"region", "us"},
                           {"start_at", formatRfc3339(range_start)},
                           {"end_at", formatRfc3339(range_start + 1'000)}});  // up to .999 of 1s
  ASSERT_TRUE(put);
  ASSERT_EQ(num(*put, "code"), 202) << json::serialize(*put);
  auto job = daemon_.waitJobEnded("us", 30s);
  ASSERT_TRUE(job) << "the replay did not end";
  EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
  ASSERT_TRUE(waitCaughtUp(8'000, 30s)) << json::serialize(last_);

  EXPECT_EQ(sequenceDifference(names(forwarded()), names(want_forwarded)), "")
      << "forwarding delivers everything, in arrival order, beside the replay";
  std::vector<std::string> replayed;
  for (const auto& r : receiver_->requests()) {
    if (r.status != 200) continue;
    auto key = r.headers.find("idempotency-key");
    if (key != r.headers.end() && key->second.rfind("forward-", 0) == 0) continue;
    std::istringstream body(r.body);
    for (std::string line; std::getline(body, line);)
      if (!line.empty()) replayed.push_back(line);
  }
  std::multiset<std::string> got(replayed.begin(), replayed.end());
  std::multiset<std::string> want(old_range.begin(), old_range.begin() + 2'000);
  EXPECT_EQ(got.size(), 2'000u) << "the replay's range: every event of its second once";
  EXPECT_TRUE(got == want) << "the replay delivers exactly its range";

  // They overlapped: a replay request arrived before forwarding's last.
  auto all = arrivals();
  Clock::time_point first_replay = Clock::time_point::max(), last_forward{};
  for (const auto& a : all) {
    if (a.key.rfind("forward-", 0) == 0) {
      last_forward = std::max(last_forward, a.at);
    } else {
      first_replay = std::min(first_replay, a.at);
    }
  }
  EXPECT_LT(first_replay, last_forward) << "the replay ran while forwarding caught up";
  EXPECT_GE(receiver_->stats().connections, 2u) << "replay and forward use their own connections";
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

// 9. What operators read: `audit-replayctl forward status [--json]`, the webhook status,
// /metrics, and 409 for a region that does not forward.
TEST_F(ForwardE2E, CliStatusMetricsAndWebhookStatusShowForwarding) {
  receiver_->start();
  const std::string http = httpYaml();
  ASSERT_NO_FATAL_FAILURE(startFollowing(http + "regions:\n" + usRegion(receiver_->url()) +
                                         "  eu:\n    webhook: {endpoint: \"" + receiver_->url() +
                                         "\"}\n"));
  const std::int64_t now = nowMs();
  ingestAll(events("m", 30, now));
  ASSERT_TRUE(waitCaughtUp(30, 10s)) << json::serialize(last_);

  std::string out, err;
  auto status = ctl({"forward", "status", "--region", "us", "--json"}, &out, &err);
  ASSERT_EQ(status.exit_code, 0) << out << err;
  boost::system::error_code ec;
  auto parsed = json::parse(out, ec);
  ASSERT_FALSE(ec) << "--json prints JSON: " << out;
  ASSERT_TRUE(parsed.is_object() && parsed.as_object().contains("forward")) << out;
  const auto& f = parsed.at("forward").as_object();
  EXPECT_EQ(str(f, "region"), "us") << out;
  EXPECT_EQ(str(f, "state"), "following") << out;
  EXPECT_TRUE(f.at("reason").is_null()) << out;
  EXPECT_EQ(str(f, "last_forwarded_at"), isoMillis(now + 29)) << out;
  EXPECT_EQ(num(f, "backlog_events"), 0) << out;
  EXPECT_EQ(num(f, "events_forwarded"), 30) << out;
  EXPECT_GE(num(f, "batches_forwarded"), 1) << out;
  EXPECT_TRUE(f.at("lag_seconds").is_number()) << out;
  EXPECT_EQ(num(f.at("gaps").as_object(), "events"), 0) << out;
  EXPECT_TRUE(f.contains("position")) << out;

  auto text = ctl({"forward", "status", "--region", "us"}, &out, &err);
  ASSERT_EQ(text.exit_code, 0) << out << err;
  for (const char* row :
       {"region:", "state:", "following", "backlog:", "forwarded:", "30 events", "gaps:", "none"}) {
    EXPECT_NE(out.find(row), std::string::npos) << "'" << row << "' in:\n" << out;
  }

  auto hook = daemon_.call({{"op", "webhook_status"}, {"region", "us"}});
  ASSERT_TRUE(hook && hook->contains("webhook") &&
              hook->at("webhook").as_object().contains("forward"))
      << (hook ? json::serialize(*hook) : "none");
  const auto& hf = hook->at("webhook").at("forward").as_object();
  EXPECT_EQ(str(hf, "state"), "following") << json::serialize(*hook);
  EXPECT_EQ(num(hf, "events_forwarded"), 30) << json::serialize(*hook);

  // A region without forward.enabled: status disabled, pause and resume 409.
  auto eu = forwardStatus("eu");
  EXPECT_EQ(str(eu, "state"), "disabled") << json::serialize(eu);
  EXPECT_EQ(num(op("forward_pause", "eu"), "code"), 409);
  EXPECT_EQ(num(op("forward_resume", "eu"), "code"), 409);
  auto refused = ctl({"forward", "pause", "--region", "eu"}, &out, &err);
  EXPECT_EQ(refused.exit_code, 1) << out << err;

  auto page =
      httpRequest(http_port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(page.status, 200) << page.head;
  const std::string& m = page.body;
  EXPECT_EQ(metricValue(m, "audit_replay_forward_state{region=\"us\",state=\"following\"}"), 1)
      << m;
  EXPECT_EQ(metricValue(m, "audit_replay_forward_state{region=\"us\",state=\"paused\"}"), 0) << m;
  EXPECT_EQ(metricValue(m, "audit_replay_forward_events_total{region=\"us\"}"), 30) << m;
  EXPECT_EQ(metricValue(m, "audit_replay_forward_backlog_events{region=\"us\"}"), 0) << m;
  EXPECT_EQ(metricValue(m, "audit_replay_forward_gap_events_total{region=\"us\"}"), 0) << m;
  EXPECT_GE(metricValue(m, "audit_replay_forward_lag_seconds{region=\"us\"}"), 0) << m;
  EXPECT_NEAR(
      metricValue(m, "audit_replay_forward_last_forwarded_timestamp_seconds{region=\"us\"}"),
      static_cast<double>(now + 29) / 1000.0, 0.002)
      << m;
  EXPECT_EQ(daemon_.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
