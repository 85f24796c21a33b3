// End-to-end hardening: the control socket's connection cap, idle timeout and budget for
// unfinished lines; an acceptor that pauses (one log line per episode) instead of spinning
// when the daemon runs out of descriptors; unauthenticated HTTP connections that cannot
// starve authenticated ones; a webhook echoing its secret that cannot put it anywhere.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <fstream>
#include <memory>

#include "tests/e2e/fault_webhook.hpp"
#include "tests/e2e/raw_http.hpp"
#include "tests/fakes/sanitizer.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

// config.yaml with the fixture's paths and `control_extra` added to the control section.
void writeConfigWithControl(DaemonFixture& d, const std::string& control_extra,
                            const std::string& rest) {
  std::ofstream out(d.configFile());
  out << "data_dir: data\n"
         "log: {level: debug, format: text}\n"
         "control:\n"
         "  socket: run/control.sock\n"
         "  spool_dir: spool\n"
         "  poll_interval: 50ms\n"
      << control_extra << rest;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool pings(ControlClient& c) {
  auto pong = c.call({{"op", "ping"}}, 10s);
  return pong && pong->at("ok").as_bool();
}

class HardeningE2E : public ::testing::Test {
 protected:
  void SetUp() override { receiver_.start(); }
  void TearDown() override {
    if (daemon_.launched() && daemon_.process().running()) {
      EXPECT_EQ(daemon_.stop().exit_code, 0) << daemon_.log();
    }
  }
  bool start(const std::string& control_extra, const std::string& rest = "") {
    writeConfigWithControl(daemon_, control_extra, rest + usRegionYaml(receiver_.url()));
    return daemon_.start();
  }
  sink::Receiver receiver_{sink::ReceiverOptions{}};
  DaemonFixture daemon_;
};

TEST_F(HardeningE2E, ConnectionsOverTheCapAre503AndRoomComesBack) {
  ASSERT_TRUE(start("  max_connections: 4\n")) << daemon_.log();
  std::vector<std::unique_ptr<ControlClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<ControlClient>(daemon_.socket()));
    ASSERT_TRUE(pings(*held.back())) << i;
  }
  ControlClient extra(daemon_.socket());
  auto line = extra.roundTrip("{\"op\":\"ping\"}", 10s);
  ASSERT_TRUE(line);
  EXPECT_EQ(json::parse(*line).at("code").as_int64(), 503) << *line;
  EXPECT_TRUE(extra.closedByPeer());
  for (auto& c : held) EXPECT_TRUE(pings(*c));  // the served ones are unaffected

  held.pop_back();
  EXPECT_TRUE(waitUntil(
      [&] {
        ControlClient again(daemon_.socket());
        return pings(again);
      },
      10s));
  EXPECT_EQ(count(daemon_.log(), "refusing more with 503"), 1u) << daemon_.log();
}

TEST_F(HardeningE2E, AnIdleConnectionIsClosedABusyOneIsNot) {
  ASSERT_TRUE(start("  idle_timeout: 300ms\n")) << daemon_.log();
  ControlClient idle(daemon_.socket());
  ControlClient busy(daemon_.socket());
  // `busy` asks something every ~50 ms, well inside the 300 ms; `idle` says nothing.
  bool idle_closed = false;
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!idle_closed && std::chrono::steady_clock::now() < end) {
    ASSERT_TRUE(pings(busy));
    idle_closed = idle.closedByPeer(50ms);
  }
  EXPECT_TRUE(idle_closed);
  EXPECT_TRUE(pings(busy));
}

TEST_F(HardeningE2E, UnfinishedLinesShareOneMemoryBudget) {
  ASSERT_TRUE(start("  max_buffered: 32MiB\n")) << daemon_.log();
  const std::string partial = "{\"op\":\"ping\",\"pad\":\"" + std::string((15u << 20), 'a');
  ControlClient a(daemon_.socket());
  ControlClient b(daemon_.socket());
  a.sendRaw(partial);  // returns once the daemon has taken all but a socket buffer's worth
  b.sendRaw(partial);
  ControlClient c(daemon_.socket());
  auto line = c.roundTrip(std::string(4u << 20, 'c'), 30s);
  ASSERT_TRUE(line) << daemon_.log();
  EXPECT_EQ(json::parse(*line).at("code").as_int64(), 503) << *line;
  EXPECT_TRUE(c.closedByPeer());
  // Finishing a held line works; once the others go, a new client is served.
  auto finished = a.roundTrip("\"}", 30s);
  ASSERT_TRUE(finished);
  EXPECT_EQ(json::parse(*finished).at("code").as_int64(), 200) << *finished;
  ControlClient d(daemon_.socket());
  EXPECT_TRUE(pings(d));
}

/** The daemon's peak resident memory (VmHWM), in bytes. */
std::size_t peakResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// One socket `ingest` of 400,000 tiny events (a 15 MB line) peaked at about 16 times its
// size: a copy of every event, and RocksDB's lookup answers for all of them at once. The
// events are now read where the request holds them and looked up a chunk at a time.
TEST_F(HardeningE2E, AnIngestOfManySmallEventsTakesAFewTimesItsSize) {
  if (::audit::test::kUnderSanitizer) {
    GTEST_SKIP() << "the sanitizer's own memory would be measured (runs in the normal build)";
  }
  ASSERT_TRUE(start("")) << daemon_.log();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  json::array lines;
  for (int i = 0; i < 400'000; ++i) {
    lines.emplace_back("{\"rt\":" + std::to_string(now_ms - 3'600'000 + i % 1000) +
                       ",\"i\":" + std::to_string(i) + "}");
  }
  const std::string request = json::serialize(
      json::object{{"op", "ingest"}, {"region", "us"}, {"lines", std::move(lines)}});
  const pid_t pid = daemon_.process().pid();
  const std::size_t before = peakResidentBytes(pid);
  ControlClient c(daemon_.socket());
  auto answer = c.roundTrip(request, 120s);
  ASSERT_TRUE(answer) << daemon_.log();
  EXPECT_EQ(json::parse(*answer).at("ingested").to_number<std::uint64_t>(), 400'000u)
      << answer->substr(0, 200);
  const std::size_t grown = peakResidentBytes(pid) - before;
  // Measured: about 10.5 times the line (RocksDB's memtable included); 16 times before.
  // Each event also gets an arrival entry for forwarding (36 bytes, about as much as one of
  // these 37-byte events): 13.4 times since.
  EXPECT_LT(grown, 15 * request.size())
      << "peak grew by " << grown << " bytes for a " << request.size() << "-byte request";
}

// RLIMIT_NOFILE of the running daemon lowered with `prlimit --pid` to a few above what it
// has open; idle HTTP connections take the rest, so the control acceptor gets EMFILE. It
// must pause (one warning, not a flood), keep the daemon and its store working, and serve
// the waiting client once descriptors are free again.
TEST_F(HardeningE2E, OutOfDescriptorsPausesAcceptsAndRecovers) {
  if (::audit::test::kUnderSanitizer) {
    GTEST_SKIP() << "out of descriptors, the sanitizer runtime cannot check calls (runs in the "
                    "normal build)";
  }
  const std::uint16_t port = freePort();
  std::ofstream(daemon_.dir() / "tokens") << "TOKEN-limits-1\n";
  fs::permissions(daemon_.dir() / "tokens", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(start(
      "", "http: {listen: \"127.0.0.1:" + std::to_string(port) + "\", tokens_file: tokens}\n"))
      << daemon_.log();
  const std::string pid = std::to_string(daemon_.process().pid());
  std::size_t open_now = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + pid + "/fd")) ++open_now;
  rlimit mine{};
  ::getrlimit(RLIMIT_NOFILE, &mine);  // the daemon inherited it
  auto setSoftLimit = [&](std::size_t soft) {
    std::string out;
    return runProgram({"/usr/bin/prlimit", "--pid", pid, "--nofile=" + std::to_string(soft) + ":"},
                      &out)
               .exit_code == 0;
  };
  ASSERT_TRUE(setSoftLimit(open_now + 8));

  std::vector<int> http;
  for (int i = 0; i < 30; ++i) {
    int fd = connectTo(port);
    if (fd >= 0) http.push_back(fd);
  }
  // The HTTP acceptor logs every 100ms while out of descriptors: a clock in the log.
  ASSERT_TRUE(waitUntil([&] { return count(daemon_.log(), "http: accept failed") >= 1; }, 20s))
      << daemon_.log();
  ControlClient waiting(daemon_.socket());  // queued by the kernel, not yet accepted
  waiting.sendRaw("{\"op\":\"ping\"}\n");
  ASSERT_TRUE(waitUntil([&] { return count(daemon_.log(), "http: accept failed") >= 10; }, 20s))
      << daemon_.log();
  const std::string during = daemon_.log();
  EXPECT_EQ(count(during, "control socket: accept failed"), 1u) << during;
  RecordProperty("http_accept_warnings_during",
                 std::to_string(count(during, "http: accept failed")));

  for (int fd : http) ::close(fd);
  ASSERT_TRUE(setSoftLimit(static_cast<std::size_t>(mine.rlim_cur)));
  auto line = waiting.roundTrip("{\"op\":\"ping\"}", 20s);  // answers the queued ping first
  ASSERT_TRUE(line) << daemon_.log();
  EXPECT_NE(line->find("\"ok\":true"), std::string::npos);
  EXPECT_NE(daemon_.log().find("control socket: accepting again"), std::string::npos);
  // The store still takes writes, and says so.
  auto ingested = daemon_.ingest("us", {makeEvent(nowMs() - 1000, "after-emfile")});
  EXPECT_TRUE(ingested.at("ok").as_bool()) << json::serialize(ingested);
  auto health = daemon_.call({{"op", "health"}});
  ASSERT_TRUE(health);
  EXPECT_TRUE(health->at("ok").as_bool()) << json::serialize(*health);
  ControlClient fresh(daemon_.socket());
  EXPECT_TRUE(pings(fresh));
}

// 300 keep-alive connections from one address that never show a valid token must not take
// the listener's 256 places: authenticated requests from the same address still get in.
TEST_F(HardeningE2E, UnauthenticatedConnectionsCannotStarveAuthenticatedOnes) {
  const std::uint16_t port = freePort();
  const std::string token = "TOKEN-limits-2";
  std::ofstream(daemon_.dir() / "tokens") << token << "\n";
  fs::permissions(daemon_.dir() / "tokens", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(start(
      "", "http: {listen: \"127.0.0.1:" + std::to_string(port) + "\", tokens_file: tokens}\n"))
      << daemon_.log();
  std::vector<int> crowd;
  for (int i = 0; i < 300; ++i) {
    int fd = connectTo(port);
    if (fd < 0) continue;
    crowd.push_back(fd);
    // A request without a token on a kept-alive connection (answered 401), then silence.
    sendSome(fd, "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  int ok = 0;
  std::string last;
  for (int i = 0; i < 45; ++i) {
    auto answer = httpRequest(port,
                              "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\n"
                              "Authorization: Bearer " +
                                  token + "\r\nConnection: close\r\n\r\n");
    if (answer.status == 200) {
      ++ok;  // no job yet ("unconfigured"): the normal authorised answer
    } else {
      last = answer.head;
    }
  }
  EXPECT_EQ(ok, 45) << last;
  for (int fd : crowd) ::close(fd);
}

// A webhook that echoes the Authorization header (and a configured header) in its 401 body:
// the job fails, and the secret is in none of the job, the webhook status or the log.
TEST_F(HardeningE2E, ASecretEchoedByTheWebhookIsRedactedEverywhere) {
  const std::string secret = "Zx9-echoed-SECRET-4242";
  const std::string header_secret = "hdr-SECRET-77aa";
  sink::Receiver echo(sink::ReceiverOptions{}, [](const sink::ReceivedRequest& req, std::size_t) {
    sink::Reply reply;
    reply.status = 401;
    reply.body = "bad credentials: Authorization=" + req.headers.at("authorization") +
                 " X-Key=" + req.headers.at("x-key");
    return reply;
  });
  echo.start();
  RegionSettings region;
  region.webhook_extra =
      "authorization: \"Bearer " + secret + "\", headers: {X-Key: \"" + header_secret + "\"}";
  writeConfigWithControl(daemon_, "", usRegionYaml(echo.url(), region));
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t t = nowMs() - 60'000;
  ASSERT_TRUE(daemon_.ingest("us", {makeEvent(t, "one")}).at("ok").as_bool());
  auto put = daemon_.call({{"op", "put_job"},
                           {"region", "us"},
                           {"start_at", isoMillis(t - 1000)},
                           {"end_at", isoMillis(t + 1000)}});
  ASSERT_TRUE(put && put->at("ok").as_bool()) << daemon_.log();
  auto job = daemon_.waitJobEnded("us");
  ASSERT_TRUE(job);
  const std::string job_text = json::serialize(*job);
  EXPECT_NE(job_text.find("\"failed\""), std::string::npos) << job_text;
  EXPECT_NE(job_text.find("[redacted]"), std::string::npos) << job_text;
  auto status = daemon_.call({{"op", "webhook_status"}, {"region", "us"}});
  ASSERT_TRUE(status);
  const std::string status_text = json::serialize(*status);
  for (const std::string& text : {job_text, status_text, daemon_.log()}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
    EXPECT_EQ(text.find(header_secret), std::string::npos) << text;
  }
  EXPECT_GE(echo.stats().requests, 1u);
}

// Reads from `fd` until `head_end` ("\r\n\r\n") and a Content-Length body are in, or EOF.
std::string readOneAnswer(int fd) {
  std::string in;
  char buf[4096];
  for (;;) {
    const auto head = in.find("\r\n\r\n");
    if (head != std::string::npos) {
      const auto cl = in.find("Content-Length: ");
      const std::size_t length = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      if (in.size() >= head + 4 + length) return in;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) return in;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return in;
    in.append(buf, static_cast<std::size_t>(n));
  }
}

// A kept-alive connection that never showed a valid token is closed after 5 s idle; one that
// did stays for the 30 s idle timeout.
TEST_F(HardeningE2E, UnprovenKeepAliveConnectionsIdleOnlyBriefly) {
  const std::uint16_t port = freePort();
  const std::string token = "TOKEN-limits-3";
  std::ofstream(daemon_.dir() / "tokens") << token << "\n";
  fs::permissions(daemon_.dir() / "tokens", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(start(
      "", "http: {listen: \"127.0.0.1:" + std::to_string(port) + "\", tokens_file: tokens}\n"))
      << daemon_.log();
  const std::string request = "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\n";
  int unproven = connectTo(port);
  int proven = connectTo(port);
  ASSERT_GE(unproven, 0);
  ASSERT_GE(proven, 0);
  sendSome(unproven, request + "\r\n");
  sendSome(proven, request + "Authorization: Bearer " + token + "\r\n\r\n");
  EXPECT_NE(readOneAnswer(unproven).find(" 401 "), std::string::npos);
  EXPECT_NE(readOneAnswer(proven).find(" 200 "), std::string::npos);
  const auto idle_from = std::chrono::steady_clock::now();
  char c;
  pollfd p{unproven, POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 15'000), 0);
  EXPECT_LE(::recv(unproven, &c, 1, 0), 0);  // closed by the daemon
  const auto idled = std::chrono::steady_clock::now() - idle_from;
  EXPECT_GE(idled, 4500ms);
  EXPECT_LT(idled, 12s);
  // The proven one, idle just as long, is still served.
  sendSome(proven, request + "Authorization: Bearer " + token + "\r\n\r\n");
  EXPECT_NE(readOneAnswer(proven).find(" 200 "), std::string::npos);
  ::close(unproven);
  ::close(proven);
}

// The limits on connections without a token are configuration keys (defaults: 5 s, 32).
class UnauthenticatedLimitsE2E : public HardeningE2E {
 protected:
  bool startWith(const std::string& limits) {
    port_ = freePort();
    std::ofstream(daemon_.dir() / "tokens") << "TOKEN-limits-4\n";
    fs::permissions(daemon_.dir() / "tokens", fs::perms::owner_read | fs::perms::owner_write);
    return start("", "http: {listen: \"127.0.0.1:" + std::to_string(port_) +
                         "\", tokens_file: tokens, " + limits + "}\n");
  }
  /** A connection that made one request without a token (answered 401), or -1. */
  int unauthenticatedConnection() const {
    int fd = connectTo(port_);
    if (fd < 0) return -1;
    sendSome(fd, "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\n\r\n");
    if (readOneAnswer(fd).find(" 401 ") == std::string::npos) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  static bool closedByDaemonWithin(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    char c;
    return ::poll(&p, 1, ms) > 0 && ::recv(fd, &c, 1, 0) <= 0;
  }
  std::uint16_t port_ = 0;
};

TEST_F(UnauthenticatedLimitsE2E, ItsIdleTimeIsConfigurable) {
  ASSERT_TRUE(startWith("unauthenticated_idle_timeout: 500ms")) << daemon_.log();
  int fd = unauthenticatedConnection();
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(closedByDaemonWithin(fd, 3'000));  // the default keeps it 5 s
  ::close(fd);
}

TEST_F(UnauthenticatedLimitsE2E, ItsSharePerAddressIsConfigurable) {
  ASSERT_TRUE(startWith("max_unauthenticated_per_client: 2")) << daemon_.log();
  int a = unauthenticatedConnection();
  int b = unauthenticatedConnection();
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  int c = unauthenticatedConnection();  // the address's third: its oldest idle one goes
  ASSERT_GE(c, 0);
  EXPECT_TRUE(closedByDaemonWithin(a, 3'000));  // well inside the default 5 s idle time
  EXPECT_FALSE(closedByDaemonWithin(b, 0));
  ::close(a);
  ::close(b);
  ::close(c);
}

// A job sends exactly what it counted when it entered `pending`: events ingested into its
// range while it runs — behind its read position and ahead of it — are not part of it, even
// when a reload makes it reopen its reader at the checkpoint.
TEST_F(HardeningE2E, AJobSendsWhatItCountedLaterArrivalsAreNotPartOfIt) {
  FaultyWebhook hook(
      [](const Arrival&) { return answer(200, {}, {}, std::chrono::milliseconds(100)); });
  RegionSettings region;
  region.max_events = 50;
  writeConfigWithControl(daemon_, "", usRegionYaml(hook.url(), region));
  ASSERT_TRUE(daemon_.start()) << daemon_.log();
  const std::int64_t start = nowMs() - 3'600'000;
  const auto events = rangeEvents(start, 1000, "snap-");  // start … start+999
  ASSERT_TRUE(ingestAll(daemon_, events));
  ASSERT_EQ(putJob(daemon_, start, start + 10'000).at("code").as_int64(), 202);
  ASSERT_TRUE(
      hook.receiver().waitFor([](const sink::ReceiverStats& s) { return s.accepted >= 3; }, 20s));
  std::vector<std::string> later;
  for (int i = 0; i < 20; ++i) later.push_back(makeEvent(start + i, "behind-" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) {
    later.push_back(makeEvent(start + 5'000 + i, "ahead-" + std::to_string(i)));
  }
  ASSERT_TRUE(ingestAll(daemon_, later));
  daemon_.process().signal(SIGHUP);  // a reload: the job reopens its reader at the checkpoint
  auto job = daemon_.waitJobEnded("us", 60s);
  ASSERT_TRUE(job) << daemon_.log();
  EXPECT_EQ(std::string(job->at("status").as_string()), "completed") << json::serialize(*job);
  const auto& progress = job->at("progress").as_object();
  EXPECT_EQ(progress.at("events_sent").as_int64(), 1000) << json::serialize(*job);
  EXPECT_EQ(progress.at("events_total").as_int64(), 1000) << json::serialize(*job);
  EXPECT_TRUE(nothingMissing(hook.receiver().acceptedEvents(), events));  // and nothing else
  EXPECT_NE(daemon_.log().find("reload"), std::string::npos) << daemon_.log();
  // The later arrivals are stored: the next job over the range has them.
  auto again = daemon_.call({{"op", "put_job"},
                             {"region", "us"},
                             {"start_at", isoMillis(start)},
                             {"end_at", isoMillis(start + 10'000)}});
  ASSERT_TRUE(again && again->at("ok").as_bool());
  auto second = daemon_.waitJobEnded("us", 60s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->at("progress").at("events_sent").as_int64(), 1040) << json::serialize(*second);
}

}  // namespace
}  // namespace audit::e2e
