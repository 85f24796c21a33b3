// End-to-end: the Konnect-compatible HTTP API of the real daemon (SPEC §7), with the request
// shapes of Konnect's "Set up an audit log replay job" page and only the host changed.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/raw_http.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

TEST(HttpE2E, KonnectCurlShapesAgainstTheRealDaemon) {
  sink::Receiver receiver(sink::ReceiverOptions{});
  receiver.start();
  DaemonFixture d;
  std::ofstream(d.dir() / "tokens") << "# operators\nTOKEN-abc123\n";
  const std::uint16_t port = freePort();
  d.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port) +
                "\", tokens_file: tokens}\nregions:\n  us:\n    webhook: {endpoint: \"" +
                receiver.url() + "\"}\n");
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;
  ASSERT_TRUE(
      d.ingest("us", {makeEvent(start + 5, "a"), makeEvent(start + 6, "b")}).at("ok").as_bool());

  const std::string body = "{\"start_at\":\"" + isoMillis(start) + "\",\"end_at\":\"" +
                           isoMillis(start + 60'000) + "\"}";
  auto put = [&](const std::string& auth) {
    return httpRequest(port,
                       "PUT /v2/audit-log-replay-job HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/json\r\n" +
                           auth + "Content-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body);
  };
  auto unauthorized = put("");
  EXPECT_EQ(unauthorized.status, 401);
  EXPECT_NE(unauthorized.head.find("application/problem+json"), std::string::npos);
  EXPECT_EQ(put("Authorization: Bearer wrong\r\n").status, 401);

  auto accepted = put("Authorization: Bearer TOKEN-abc123\r\n");
  ASSERT_EQ(accepted.status, 202) << accepted.head << accepted.body;
  auto job = json::parse(accepted.body).as_object();
  EXPECT_EQ(job.at("status").as_string(), "accepted");
  EXPECT_TRUE(job.contains("created_at"));

  auto ended = d.waitJobEnded("us");
  ASSERT_TRUE(ended);
  auto get = httpRequest(port,
                         "GET /v2/audit-log-replay-job HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer TOKEN-abc123\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(json::parse(get.body).at("status").as_string(), "completed");
  EXPECT_EQ(receiver.stats().events, 2u);

  auto bad = httpRequest(port,
                         "PUT /v2/audit-log-replay-job?region=us HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer TOKEN-abc123\r\nContent-Length: 2\r\n"
                         "Connection: close\r\n\r\n{}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("start_at"), std::string::npos);
  auto unknown = httpRequest(port,
                             "GET /v2/audit-log-replay-job?region=mars HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer TOKEN-abc123\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(unknown.status, 404);
  auto health = httpRequest(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(health.status, 200);
  auto metrics = httpRequest(port,
                             "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer TOKEN-abc123\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("audit_replay_events_sent_total 2"), std::string::npos)
      << metrics.body;
  // No token or Authorization value in the daemon's log.
  EXPECT_EQ(d.log().find("TOKEN-abc123"), std::string::npos);
  EXPECT_EQ(d.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
