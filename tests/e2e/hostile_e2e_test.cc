// End-to-end hostile input and secrets: thousands of bad connections to the HTTP API
// (docs/http-api.md) leave the daemon answering; webhook Authorization values, configured header
// values and API bearer tokens never appear in anything the daemon writes (docs/formats.md).

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/e2e/fault_webhook.hpp"
#include "tests/e2e/raw_http.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

HttpAnswer get(std::uint16_t port, const std::string& target, const std::string& token = "") {
  return httpRequest(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                               (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
                               "Connection: close\r\n\r\n");
}

std::size_t openFds(pid_t pid) {
  std::size_t n = 0;
  if (DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (::readdir(dir) != nullptr) ++n;
    ::closedir(dir);
  }
  return n;
}

std::int64_t metricValue(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stoll(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(HostileHttpE2E, TwoThousandBadConnectionsLeaveTheDaemonAnswering) {
  sink::Receiver receiver{sink::ReceiverOptions{}};
  receiver.start();
  DaemonFixture d;
  const std::string token = "TOKEN-hostile-4b1d";
  std::ofstream(d.dir() / "tokens") << token << "\n";
  fs::permissions(d.dir() / "tokens", fs::perms::owner_read | fs::perms::owner_write);
  const std::uint16_t port = freePort();
  d.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port) +
                "\", tokens_file: tokens}\n" + usRegionYaml(receiver.url()));
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_EQ(get(port, "/healthz").status, 200);
  const std::size_t fds_before = openFds(d.process().pid());

  std::mt19937 rng(2024);
  auto junk = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  const std::string huge_header =
      "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\nX-Huge: " + std::string(64 * 1024, 'a');
  constexpr int kConnections = 2000;
  constexpr int kWave = 100;  // open at once, below the server's 256-connection limit
  int connected = 0;
  for (int wave = 0; wave < kConnections / kWave; ++wave) {
    std::vector<int> fds;
    for (int i = 0; i < kWave; ++i) {
      int fd = connectTo(port);
      if (fd < 0) continue;
      ++connected;
      switch ((wave * kWave + i) % 8) {
        case 0:  // connect and go
          break;
        case 1:
          sendSome(fd, junk(1 + rng() % 4096));
          break;
        case 2:
          sendSome(fd, huge_header);
          break;
        case 3:  // half a request
          sendSome(fd, "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\nAuthor");
          break;
        case 4:  // a whole request, the answer never read, then junk on the same connection
          sendSome(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + junk(512));
          break;
        case 5:  // a body promised and not sent
          sendSome(fd,
                   "PUT /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       token + "\r\nContent-Length: 60000\r\n\r\n{\"start_at\":");
          break;
        case 6: {  // an abortive close (RST)
          sendSome(fd, "GET /metrics HTTP/1.1\r\n");
          linger l{1, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
          break;
        }
        default:  // binary junk with what looks like an end of header in it
          sendSome(fd, junk(100) + "\r\n\r\n" + junk(100) + "\r\n\r\n");
          break;
      }
      fds.push_back(fd);
    }
    for (int fd : fds) ::close(fd);
  }
  EXPECT_EQ(connected, kConnections);

  // Still answering on both front ends, and every dropped connection was let go. The daemon
  // learns of the closed connections as it reads them: on a loaded machine the last waves
  // may still hold the server's connection limit for a moment, so wait for the answer.
  EXPECT_TRUE(waitUntil([&] { return get(port, "/healthz").status == 200; }, 20s));
  auto pong = d.call({{"op", "ping"}});
  ASSERT_TRUE(pong);
  EXPECT_TRUE(pong->at("ok").as_bool());
  std::int64_t open_connections = -1;
  EXPECT_TRUE(waitUntil(
      [&] {
        auto metrics = get(port, "/metrics", token);
        // The connection asking counts itself.
        open_connections = metricValue(metrics.body, "audit_replay_http_open_connections");
        return metrics.status == 200 && open_connections <= 1;
      },
      20s))
      << "open connections: " << open_connections;
  std::size_t fds_after = 0;
  EXPECT_TRUE(waitUntil(
      [&] {
        fds_after = openFds(d.process().pid());
        return fds_after <= fds_before + 2;
      },
      20s))
      << "daemon fds before " << fds_before << ", after " << fds_after;
  // For the record: what the server made of the flood.
  std::string answered;
  std::istringstream metrics(get(port, "/metrics", token).body);
  for (std::string line; std::getline(metrics, line);) {
    if (line.rfind("audit_replay_http_requests_total{", 0) == 0 ||
        line.rfind("audit_replay_http_rejected_connections_total ", 0) == 0)
      answered += line + "; ";
  }
  RecordProperty("http_metrics", answered);
  auto job = get(port, "/v2/audit-log-replay-job", token);
  EXPECT_EQ(job.status, 200) << job.head;  // no job yet: "unconfigured", a normal answer
  EXPECT_EQ(d.stop().exit_code, 0) << d.log();
}

TEST(SecretsE2E, AuthorizationValuesAndTokensNeverAppearInTheDaemonsOutput) {
  const std::string inline_auth = "Bearer INLINE-secret-d00d5e";
  const std::string file_auth = "Bearer AUTHFILE-secret-55aa77";
  const std::string header_secret = "HDR-secret-beef01";
  const std::string token_a = "TOKEN-sec-7f3a91c2";
  const std::string token_b = "TOKEN-ops-22c8e0aa";
  const std::vector<std::string> secrets{"INLINE-secret-d00d5e", "AUTHFILE-secret-55aa77",
                                         header_secret, token_a, token_b,
                                         // a wrong token one character short of a real one
                                         "TOKEN-sec-7f3a91c"};

  // The eu webhook refuses the first batch with 401 so the failure paths log too.
  FaultyWebhook us_hook;
  FaultyWebhook eu_hook([](const Arrival& a) {
    if (a.n == 0) return answer(401, "bad credentials");
    return answer(200);
  });
  DaemonFixture d;
  std::ofstream(d.dir() / "tokens") << "# operators\n" << token_a << "\n" << token_b << "\n";
  std::ofstream(d.dir() / "eu.auth") << file_auth << "\n";
  for (const char* f : {"tokens", "eu.auth"})
    fs::permissions(d.dir() / f, fs::perms::owner_read | fs::perms::owner_write);
  const std::uint16_t port = freePort();
  d.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port) +
                "\", tokens_file: tokens}\n"
                "regions:\n"
                "  us:\n"
                "    webhook: {endpoint: \"" +
                us_hook.url() + "\", authorization: \"" + inline_auth +
                "\", headers: {X-Api-Key: \"" + header_secret +
                "\"}}\n"
                "    batch: {max_events: 100}\n"
                "    retry: {initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 3}\n"
                "  eu:\n"
                "    webhook: {endpoint: \"" +
                eu_hook.url() +
                "\", authorization_file: eu.auth}\n"
                "    batch: {max_events: 100}\n"
                "    retry: {initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 3}\n");
  ASSERT_TRUE(d.start()) << d.log();

  const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;
  auto events = rangeEvents(start, 500, "secret-");
  ASSERT_TRUE(ingestAll(d, events, "us"));
  ASSERT_TRUE(ingestAll(d, events, "eu"));
  const std::string body =
      "{\"start_at\":\"" + isoMillis(start) + "\",\"end_at\":\"" + isoMillis(start + 499) + "\"}";
  auto put = [&](const std::string& region, const std::string& token) {
    return httpRequest(port, "PUT /v2/audit-log-replay-job?region=" + region +
                                 " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 "Authorization: Bearer " +
                                 token + "\r\nContent-Length: " + std::to_string(body.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body);
  };
  EXPECT_EQ(put("us", "TOKEN-sec-7f3a91c").status, 401);  // the near miss
  EXPECT_EQ(put("us", token_a).status, 202);
  EXPECT_EQ(put("eu", token_b).status, 202);
  auto us = d.waitJobEnded("us");
  auto eu = d.waitJobEnded("eu");
  ASSERT_TRUE(us && eu);
  EXPECT_EQ(us->at("status").as_string(), "completed") << json::serialize(*us);
  EXPECT_EQ(eu->at("status").as_string(), "failed") << json::serialize(*eu);  // the 401
  EXPECT_EQ(put("eu", token_b).status, 202);
  eu = d.waitJobEnded("eu");
  ASSERT_TRUE(eu);
  EXPECT_EQ(eu->at("status").as_string(), "completed") << json::serialize(*eu);
  EXPECT_TRUE(nothingMissing(us_hook.receiver().acceptedEvents(), events));
  EXPECT_TRUE(nothingMissing(eu_hook.receiver().acceptedEvents(), events));

  // The secrets were sent where they belong.
  auto us_requests = us_hook.receiver().requests();
  ASSERT_FALSE(us_requests.empty());
  EXPECT_EQ(us_requests.front().headers.at("authorization"), inline_auth);
  EXPECT_EQ(us_requests.front().headers.at("x-api-key"), header_secret);
  EXPECT_EQ(eu_hook.receiver().requests().front().headers.at("authorization"), file_auth);

  // Everything an operator sees: the API and socket answers, the CLI, a reload, the log.
  std::string seen;
  for (const char* target :
       {"/v2/audit-log-replay-job?region=us", "/v2/audit-log-replay-job?region=eu",
        "/v2/audit-log-webhook/status?region=us", "/v2/audit-log-webhook/status?region=eu",
        "/metrics"}) {
    auto a = get(port, target, token_a);
    EXPECT_EQ(a.status, 200) << target;
    seen += a.head + a.body;
  }
  for (const char* op : {"stats", "list_jobs", "webhook_status"})
    seen += json::serialize(d.call({{"op", op}}).value_or(json::object{}));
  for (std::vector<std::string> args :
       {std::vector<std::string>{"status", "--json"}, {"status"}, {"webhook-status"}, {"stats"}}) {
    std::vector<std::string> argv{binaryPath("ctl/audit-replayctl").string(), "--socket",
                                  d.socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, err;
    auto r = runProgram(argv, &out, &err);
    EXPECT_EQ(r.exit_code, 0) << err;
    seen += out + err;
  }
  std::ofstream(d.dir() / "tokens") << token_b << "\n";
  d.process().signal(SIGHUP);
  ASSERT_TRUE(
      waitUntil([&] { return d.log().find("configuration reloaded") != std::string::npos; }, 10s))
      << d.log();
  EXPECT_EQ(get(port, "/metrics", token_a).status, 401);  // the reload took token_a away
  EXPECT_EQ(d.stop().exit_code, 0);
  const std::string log = d.allLogs();
  EXPECT_NE(log.find("job completed"), std::string::npos) << "the log was captured";
  for (const auto& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the daemon's log:\n" << log;
    EXPECT_EQ(seen.find(secret), std::string::npos) << secret << " in an answer or CLI output";
  }

  // The control socket: created with the configured mode (0660), owned by the daemon's
  // user. control.socket has no owner or group setting (systemd's User=/Group= decide).
  ASSERT_TRUE(d.start()) << d.log();
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(d.stop().exit_code, 0);
  for (const auto& secret : secrets)
    EXPECT_EQ(d.allLogs().find(secret), std::string::npos) << secret;
}

}  // namespace
}  // namespace audit::e2e
