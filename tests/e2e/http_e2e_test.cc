// End-to-end: the Konnect-compatible HTTP API of the real daemon (docs/http-api.md), with the
// request shapes of Konnect's "Set up an audit log replay job" page and only the host changed.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <ctime>
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

/** One request with Connection: close; `extra` holds further header lines. */
HttpAnswer call(std::uint16_t port, const std::string& method, const std::string& target,
                const std::string& token, const std::string& body = {},
                const std::string& host = "127.0.0.1", const std::string& extra = {}) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += extra + "Connection: close\r\n\r\n" + body;
  return httpRequest(port, request);
}

/** The problem's body with its instance checked and replaced by "I" (it is random). */
json::object problemOf(const HttpAnswer& answer, const std::string& daemon_log) {
  EXPECT_NE(answer.head.find("Content-Type: application/problem+json"), std::string::npos)
      << answer.head;
  json::object problem = json::parse(answer.body).as_object();
  const std::string instance(problem.at("instance").as_string());
  const std::string prefix = "audit-replay:trace:";
  EXPECT_EQ(instance.rfind(prefix, 0), 0u) << instance;
  // The daemon logged the request under the same id.
  EXPECT_NE(daemon_log.find("request_id=" + instance.substr(prefix.size())), std::string::npos)
      << instance;
  problem["instance"] = "I";
  return problem;
}

class KonnectFidelityE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    us_.start();
    eu_.start();
    std::ofstream(d_.dir() / "tokens") << "ADMIN-1\nVIEWER-1 viewer\nINGEST-1 ingest\n";
    port_ = freePort();
    d_.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port_) +
                   "\", tokens_file: tokens}\nregions:\n  eu:\n    webhook: {endpoint: \"" +
                   eu_.url() + "\"}\n  us:\n    webhook: {endpoint: \"" + us_.url() + "\"}\n");
    ASSERT_TRUE(d_.start()) << d_.log();
  }

  /** The daemon's log once it has written the line of the last request. */
  std::string logWith(const std::string& text) {
    waitUntil([&] { return d_.log().find(text) != std::string::npos; }, 10s);
    return d_.log();
  }
  json::object problem(const HttpAnswer& answer) {
    const json::object raw = json::parse(answer.body).as_object();
    const std::string instance(raw.at("instance").as_string());
    return problemOf(answer, logWith(instance.substr(instance.rfind(':') + 1)));
  }

  sink::Receiver us_{sink::ReceiverOptions{}};
  sink::Receiver eu_{sink::ReceiverOptions{}};
  DaemonFixture d_;
  std::uint16_t port_ = 0;
};

TEST_F(KonnectFidelityE2E, StatusWithoutRegionListsEveryRegion) {
  auto status = call(port_, "GET", "/v2/audit-log-webhook/status", "ADMIN-1");
  ASSERT_EQ(status.status, 200) << status.body;
  const auto regions = json::parse(status.body).at("regions").as_array();
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].at("region").as_string(), "eu");
  EXPECT_EQ(regions[1].at("region").as_string(), "us");
  auto one = call(port_, "GET", "/v2/audit-log-webhook/status?region=us", "ADMIN-1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body).at("region").as_string(), "us");
}

TEST_F(KonnectFidelityE2E, AJobNeverCreatedIsUnconfiguredWithZeroTimes) {
  auto get = call(port_, "GET", "/v2/audit-log-replay-job?region=us", "VIEWER-1");
  ASSERT_EQ(get.status, 200) << get.body;
  const auto job = json::parse(get.body).as_object();
  EXPECT_EQ(job.at("status").as_string(), "unconfigured");
  for (const char* field : {"start_at", "end_at", "created_at", "updated_at"}) {
    EXPECT_EQ(job.at(field).as_string(), "0001-01-01T00:00:00Z") << field;
  }
  auto unknown = call(port_, "GET", "/v2/audit-log-replay-job?region=mars", "ADMIN-1");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(problem(unknown),
            json::parse(R"({"status":404,"title":"Not Found",)"
                        R"("detail":"region mars is not configured","instance":"I"})"));
  // The CLI says so in words.
  std::string out, err;
  auto ctl = runProgram({binaryPath("ctl/audit-replayctl").string(), "--socket",
                         d_.socket().string(), "status", "--region", "eu"},
                        &out, &err);
  EXPECT_EQ(ctl.exit_code, 0) << err;
  EXPECT_EQ(out, "region eu: no job yet\n");
}

TEST_F(KonnectFidelityE2E, BadRequestNamesEveryBadFieldAndTimesAreShownInUtc) {
  auto empty = call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "ADMIN-1", "{}");
  ASSERT_EQ(empty.status, 400);
  EXPECT_EQ(
      problem(empty),
      json::parse(R"({"status":400,"title":"Bad Request",)"
                  R"("detail":"start_at is required; end_at is required","instance":"I",)"
                  R"("invalid_parameters":[{"field":"start_at","reason":"start_at is required"},)"
                  R"({"field":"end_at","reason":"end_at is required"}]})"));
  // docs/http-api.md's example, answered as the page shows it.
  auto documented = call(port_, "PUT", "/v2/audit-log-replay-job", "ADMIN-1",
                         R"({"start_at":"2023-03-27T20:00:00Z"})", "us.audit.example");
  ASSERT_EQ(documented.status, 400);
  EXPECT_EQ(
      problem(documented),
      json::parse(
          R"J({"status":400,"title":"Bad Request","detail":"start_at is more than 7d ago (the look-back limit is the retention); end_at is required","instance":"I","invalid_parameters":[{"field":"start_at","reason":"start_at is more than 7d ago (the look-back limit is the retention)"},{"field":"end_at","reason":"end_at is required"}]})J"));
  auto future = call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "ADMIN-1",
                     R"({"start_at":"2001-01-01T00:00:00Z","end_at":"2999-01-01T00:00:00Z"})");
  ASSERT_EQ(future.status, 400);
  const auto params = json::parse(future.body).at("invalid_parameters").as_array();
  ASSERT_EQ(params.size(), 2u) << future.body;
  EXPECT_EQ(params[0].at("field").as_string(), "start_at");
  EXPECT_EQ(params[1].at("field").as_string(), "end_at");

  // +02:00 and fractions are shown normalised to UTC.
  const std::int64_t hour = (nowMs() / 3'600'000 - 1) * 3'600'000;
  const std::string start = isoMillis(hour);  // ….000Z
  const std::time_t t = static_cast<std::time_t>(hour / 1000 + 2 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char plus2[40];
  std::strftime(plus2, sizeof plus2, "%Y-%m-%dT%H:%M:%S+02:00", &tm);
  const std::string body =
      std::string(R"({"start_at":")") + plus2 + R"(","end_at":")" + isoMillis(hour + 1500) + "\"}";
  auto put = call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "ADMIN-1", body);
  ASSERT_EQ(put.status, 202) << put.body;
  const auto job = json::parse(put.body).as_object();
  EXPECT_EQ(job.at("start_at").as_string(), start.substr(0, 19) + "Z");
  EXPECT_EQ(job.at("end_at").as_string(), isoMillis(hour + 1500));
  ASSERT_TRUE(d_.waitJobEnded("us"));
}

TEST_F(KonnectFidelityE2E, ARunningJobIsAResourceConflict) {
  us_.setScript([](const sink::ReceivedRequest&, std::size_t) {
    sink::Reply r;
    r.status = 503;
    return r;
  });
  const std::int64_t start = nowMs() - 600'000;
  ASSERT_TRUE(d_.ingest("us", {makeEvent(start + 1, "a")}).at("ok").as_bool());
  const std::string body =
      "{\"start_at\":\"" + isoMillis(start) + "\",\"end_at\":\"" + isoMillis(start + 1000) + "\"}";
  ASSERT_EQ(call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "ADMIN-1", body).status, 202);
  ASSERT_TRUE(waitUntil(
      [&] {
        auto j = call(port_, "GET", "/v2/audit-log-replay-job?region=us", "ADMIN-1");
        return json::parse(j.body).at("status").as_string() == "running";
      },
      20s));
  auto conflict = call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "ADMIN-1", body);
  ASSERT_EQ(conflict.status, 409);
  EXPECT_EQ(problem(conflict),
            json::parse(R"({"status":409,"title":"Resource Conflict",)"
                        R"("detail":"A replay job is currently running","instance":"I"})"));
  // Cancelled after the job recorded the webhook's 503 (its retry state says so): the job
  // shows 503, in the API and the log. The receiver counting the request is not enough: the
  // job may not have read the answer yet.
  ASSERT_TRUE(waitUntil(
      [&] {
        auto retry = d_.retryState("us");
        return retry && retry->at("last_response_code") == 503;
      },
      20s))
      << d_.log();
  auto cancel = call(port_, "DELETE", "/v2/audit-log-replay-job?region=us", "ADMIN-1");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  const auto error = json::parse(cancel.body).at("error").as_object();
  EXPECT_EQ(error.at("reason").as_string(), "canceled");
  EXPECT_EQ(error.at("last_response_code").as_int64(), 503);
  EXPECT_NE(logWith("reason=\"canceled\"").find("reason=\"canceled\" last_response_code=503"),
            std::string::npos)
      << d_.log();
}

TEST_F(KonnectFidelityE2E, RolesAnswer403) {
  const std::string body = R"({"start_at":"x","end_at":"y"})";
  auto viewer = call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "VIEWER-1", body);
  ASSERT_EQ(viewer.status, 403);
  EXPECT_EQ(
      problem(viewer),
      json::parse(R"({"status":403,"title":"Forbidden",)"
                  R"("detail":"a token with role viewer may not PUT /v2/audit-log-replay-job",)"
                  R"("instance":"I"})"));
  EXPECT_EQ(
      call(port_, "PATCH", "/v2/audit-log-webhook?region=us", "VIEWER-1", R"({"enabled":false})")
          .status,
      403);
  EXPECT_EQ(call(port_, "DELETE", "/v2/audit-log-replay-job?region=us", "VIEWER-1").status, 403);
  EXPECT_EQ(call(port_, "GET", "/v2/audit-log-webhook?region=us", "VIEWER-1").status, 200);
  auto ingest = call(port_, "GET", "/v2/audit-log-replay-job?region=us", "INGEST-1");
  ASSERT_EQ(ingest.status, 403);
  EXPECT_EQ(json::parse(ingest.body).at("detail").as_string(),
            "a token with role ingest may not GET /v2/audit-log-replay-job");
  EXPECT_EQ(call(port_, "PUT", "/v2/audit-log-replay-job?region=us", "INGEST-1", body).status, 403);
  EXPECT_EQ(call(port_, "GET", "/metrics", "INGEST-1").status, 403);
  EXPECT_EQ(call(port_, "GET", "/metrics", "VIEWER-1").status, 200);
}

TEST_F(KonnectFidelityE2E, RegionFromTheHostsFirstLabel) {
  // Konnect's us.api.konghq.com style: only the host changed.
  auto us = call(port_, "GET", "/v2/audit-log-webhook/status", "ADMIN-1", {},
                 "us.audit.example:" + std::to_string(port_));
  ASSERT_EQ(us.status, 200);
  EXPECT_EQ(json::parse(us.body).at("region").as_string(), "us");
  auto eu = call(port_, "GET", "/v2/audit-log-replay-job", "ADMIN-1", {}, "eu.audit.example");
  ASSERT_EQ(eu.status, 200);
  EXPECT_EQ(json::parse(eu.body).at("region").as_string(), "eu");
  // ?region wins over the host.
  auto query =
      call(port_, "GET", "/v2/audit-log-replay-job?region=us", "ADMIN-1", {}, "eu.audit.example");
  EXPECT_EQ(json::parse(query.body).at("region").as_string(), "us");
  // Neither: several regions, so the choices are named.
  auto neither = call(port_, "GET", "/v2/audit-log-replay-job", "ADMIN-1", {}, "audit.example");
  ASSERT_EQ(neither.status, 400);
  const std::string reason =
      "region is required: several regions are configured (eu, us); add ?region=R or use a host "
      "name whose first label is the region";
  EXPECT_EQ(problem(neither),
            json::parse(R"({"status":400,"title":"Bad Request","detail":")" + reason +
                        R"(","instance":"I","invalid_parameters":[{"field":"region","reason":")" +
                        reason + "\"}]}"));
}

TEST_F(KonnectFidelityE2E, HeadHealthz) {
  auto head = call(port_, "HEAD", "/healthz", "");
  EXPECT_EQ(head.status, 200) << head.head;
  EXPECT_NE(head.head.find("Content-Length: 15"), std::string::npos) << head.head;
  EXPECT_TRUE(head.body.empty());
}

TEST_F(KonnectFidelityE2E, PatchedWebhookPersistsAcrossARestartUntilReset) {
  auto before = call(port_, "GET", "/v2/audit-log-webhook?region=us", "ADMIN-1");
  ASSERT_EQ(before.status, 200) << before.body;
  auto view = json::parse(before.body).as_object();
  EXPECT_EQ(view.at("endpoint").as_string(), us_.url());
  EXPECT_EQ(view.at("enabled").as_bool(), true);
  EXPECT_EQ(view.at("log_format").as_string(), "json");
  EXPECT_EQ(view.at("skip_ssl_verification").as_bool(), false);
  EXPECT_TRUE(view.at("updated_at").is_string());

  // A bad value: 400 naming each bad field, nothing changed.
  auto bad = call(port_, "PATCH", "/v2/audit-log-webhook?region=us", "ADMIN-1",
                  R"({"log_format":"xml","enabled":"yes","endpoint":"https://u:pw@h/"})");
  ASSERT_EQ(bad.status, 400);
  const auto bad_problem = problem(bad);
  EXPECT_EQ(bad_problem.at("invalid_parameters"),
            json::parse(R"([{"field":"log_format","reason":"log_format must be json, cef or cps"},)"
                        R"({"field":"enabled","reason":"enabled must be true or false"},)"
                        R"({"field":"endpoint","reason":"endpoint: the URL must not hold )"
                        R"(credentials; use webhook.authorization or authorization_file"}])"));
  EXPECT_EQ(bad.body.find("pw@"), std::string::npos);

  // Send us's events to eu's receiver, in CEF, with a new authorization.
  auto patched = call(port_, "PATCH", "/v2/audit-log-webhook?region=us", "ADMIN-1",
                      "{\"endpoint\":\"" + eu_.url() +
                          "\",\"log_format\":\"cef\",\"authorization\":\"Bearer PATCHED-SECRET\"}");
  ASSERT_EQ(patched.status, 200) << patched.body;
  view = json::parse(patched.body).as_object();
  EXPECT_EQ(view.at("endpoint").as_string(), eu_.url());
  EXPECT_EQ(view.at("log_format").as_string(), "cef");
  EXPECT_FALSE(view.contains("authorization"));

  // Kept across a restart.
  ASSERT_EQ(d_.stop().exit_code, 0);
  ASSERT_TRUE(d_.start()) << d_.log();
  auto after = call(port_, "GET", "/v2/audit-log-webhook?region=us", "ADMIN-1");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(json::parse(after.body).at("endpoint").as_string(), eu_.url());
  EXPECT_EQ(json::parse(after.body).at("log_format").as_string(), "cef");

  // And in force: a replay of region us reaches eu's receiver, in CEF.
  const std::int64_t start = nowMs() - 600'000;
  ASSERT_TRUE(d_.ingest("us", {makeEvent(start + 1, "patched")}).at("ok").as_bool());
  d_.call({{"op", "put_job"},
           {"region", "us"},
           {"start_at", isoMillis(start)},
           {"end_at", isoMillis(start + 1000)}});
  auto job = d_.waitJobEnded("us");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->at("status").as_string(), "completed") << d_.log();
  const auto delivered = eu_.acceptedEvents();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_NE(delivered[0].find("konghq.com CEF:0|"), std::string::npos) << delivered[0];
  EXPECT_EQ(us_.acceptedEvents().size(), 0u);
  EXPECT_EQ(d_.allLogs().find("PATCHED-SECRET"), std::string::npos);

  // Reset: the file's settings again, also after a restart.
  std::string out, err;
  auto reset = runProgram({binaryPath("ctl/audit-replayctl").string(), "--socket",
                           d_.socket().string(), "webhook", "reset", "--region", "us"},
                          &out, &err);
  ASSERT_EQ(reset.exit_code, 0) << err;
  EXPECT_NE(out.find("endpoint:               " + us_.url()), std::string::npos) << out;
  EXPECT_NE(out.find("source:                 configuration file"), std::string::npos) << out;
  ASSERT_EQ(d_.stop().exit_code, 0);
  ASSERT_TRUE(d_.start()) << d_.log();
  auto reverted = call(port_, "GET", "/v2/audit-log-webhook?region=us", "ADMIN-1");
  EXPECT_EQ(json::parse(reverted.body).at("endpoint").as_string(), us_.url());
  EXPECT_EQ(json::parse(reverted.body).at("log_format").as_string(), "json");

  // audit-replayctl webhook set/show over the socket.
  auto set =
      runProgram({binaryPath("ctl/audit-replayctl").string(), "--socket", d_.socket().string(),
                  "webhook", "set", "--region", "eu", "--enabled", "false", "--json"},
                 &out, &err);
  ASSERT_EQ(set.exit_code, 0) << err;
  EXPECT_EQ(json::parse(out).at("webhook").at("enabled").as_bool(), false);
  auto refused = d_.call({{"op", "put_job"},
                          {"region", "eu"},
                          {"start_at", isoMillis(start)},
                          {"end_at", isoMillis(start + 1000)}});
  EXPECT_EQ(refused->at("code").as_int64(), 400);
  EXPECT_EQ(refused->at("error").as_string(), "webhook for region eu is not enabled");
  EXPECT_EQ(d_.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
