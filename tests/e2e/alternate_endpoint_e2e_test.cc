// End-to-end: a replay request naming its own webhook, allowed only by the region's
// webhook.alternate_endpoints; its authorization never shown and never logged.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"
#include "tests/e2e/raw_http.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;

constexpr const char* kToken = "Bearer ALT-SECRET-7f3a9c";

TEST(AlternateEndpointE2E, AllowedByPrefixRefusedOtherwiseAndTheTokenNeverShows) {
  sink::Receiver regional(sink::ReceiverOptions{});
  regional.start();
  // The forensic receiver fails the first attempt: the retry is the job's, not the region's.
  sink::Receiver forensic(sink::ReceiverOptions{}, [](const sink::ReceivedRequest&, std::size_t n) {
    sink::Reply reply;
    if (n == 0) reply.status = 503;
    return reply;
  });
  forensic.start();
  DaemonFixture d;
  std::ofstream(d.dir() / "tokens") << "TOKEN-abc123\n";
  const std::uint16_t port = freePort();
  const std::string allowed_prefix =
      "http://127.0.0.1:" + std::to_string(forensic.port()) + "/forensic/";
  d.writeConfig("http: {listen: \"127.0.0.1:" + std::to_string(port) +
                "\", tokens_file: tokens}\nregions:\n"
                "  us:\n    webhook:\n      endpoint: \"" +
                regional.url() + "\"\n      authorization: \"Bearer regional-secret\"\n" +
                "      alternate_endpoints: [\"" + allowed_prefix + "\"]\n" +
                "    retry: {initial_backoff: 10ms, max_backoff: 50ms}\n"
                "  eu:\n    webhook: {endpoint: \"" +
                regional.url() + "\"}\n");
  ASSERT_TRUE(d.start()) << d.log();
  const std::int64_t start = (nowMs() / 1000 - 3600) * 1000;
  std::vector<std::string> events;
  for (int i = 0; i < 20; ++i) events.push_back(makeEvent(start + i, "alt" + std::to_string(i)));
  ASSERT_TRUE(d.ingest("us", events).at("ok").as_bool());

  auto put = [&](const std::string& region, const std::string& endpoint) {
    return d.call({{"op", "put_job"},
                   {"region", region},
                   {"start_at", isoMillis(start)},
                   {"end_at", isoMillis(start + 60'000)},
                   {"webhook", {{"endpoint", endpoint}, {"authorization", kToken}}}});
  };

  // Refused on the socket: not under the prefix, and a region with no list at all.
  auto refused = put("us", regional.url());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("code").as_int64(), 403);
  EXPECT_NE(json::serialize(*refused).find("not in webhook.alternate_endpoints"),
            std::string::npos);
  auto lookalike = put("us", "http://127.0.0.1:" + std::to_string(forensic.port()) + "/forensics");
  EXPECT_EQ(lookalike->at("code").as_int64(), 403);
  auto no_list = put("eu", allowed_prefix + "in");
  EXPECT_EQ(no_list->at("code").as_int64(), 403);
  // Allowed by the prefix but not a usable URL (credentials in it): 400, password hidden.
  auto with_credentials = d.call({{"op", "put_job"},
                                  {"region", "us"},
                                  {"start_at", isoMillis(start)},
                                  {"end_at", isoMillis(start + 60'000)},
                                  {"webhook", {{"endpoint", "http://u:pw-9x@127.0.0.1:1/x"}}}});
  ASSERT_TRUE(with_credentials);
  EXPECT_EQ(with_credentials->at("code").as_int64(), 403);  // not under the prefix first
  EXPECT_EQ(json::serialize(*with_credentials).find("pw-9x"), std::string::npos);
  auto not_a_url = put("us", allowed_prefix + "a b");
  EXPECT_EQ(not_a_url->at("code").as_int64(), 400) << json::serialize(*not_a_url);

  // Refused over HTTP: 403 problem+json.
  const std::string body = "{\"start_at\":\"" + isoMillis(start) + "\",\"end_at\":\"" +
                           isoMillis(start + 60'000) + "\",\"webhook\":{\"endpoint\":\"" +
                           regional.url() + "\",\"authorization\":\"" + kToken + "\"}}";
  auto http = httpRequest(port,
                          "PUT /v2/audit-log-replay-job?region=us HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer TOKEN-abc123\r\n"
                          "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_EQ(http.status, 403) << http.head << http.body;
  EXPECT_NE(http.head.find("application/problem+json"), std::string::npos) << http.head;
  EXPECT_NE(http.body.find("alternate_endpoints"), std::string::npos) << http.body;
  EXPECT_EQ(http.body.find("ALT-SECRET"), std::string::npos);

  // Refused through the spool directory too: the result says 403, the request is rejected.
  {
    const std::string request = "{\"region\":\"us\",\"start_at\":\"" + isoMillis(start) +
                                "\",\"end_at\":\"" + isoMillis(start + 60'000) +
                                "\",\"webhook\":{\"endpoint\":\"" + regional.url() +
                                "\",\"authorization\":\"" + kToken + "\"}}";
    std::ofstream(d.spool() / "alt.json.tmp") << request;
    std::filesystem::rename(d.spool() / "alt.json.tmp", d.spool() / "alt.json");
    ASSERT_TRUE(waitUntil(
        [&] { return std::filesystem::exists(d.spool() / "rejected" / "alt.json"); }, 10s))
        << d.log();
    std::ifstream in(d.spool() / "alt.result.json");
    std::string result((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(json::parse(result).at("code").as_int64(), 403) << result;
    EXPECT_EQ(result.find("ALT-SECRET"), std::string::npos) << result;
  }

  // Allowed: the events go to the job's endpoint with its authorization.
  auto accepted = put("us", allowed_prefix + "in");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->at("code").as_int64(), 202) << json::serialize(*accepted);
  EXPECT_EQ(accepted->at("job").at("webhook").at("endpoint").as_string(), allowed_prefix + "in");
  auto job = d.waitJobEnded("us");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->at("status").as_string(), "completed") << d.log();
  EXPECT_EQ(job->at("webhook").at("endpoint").as_string(), allowed_prefix + "in");
  EXPECT_EQ(json::serialize(*job).find("ALT-SECRET"), std::string::npos);
  EXPECT_EQ(forensic.acceptedEvents().size(), events.size());
  EXPECT_EQ(regional.stats().requests, 0u);
  auto reqs = forensic.requests();
  ASSERT_EQ(reqs.size(), 2u);  // one 503, one retry
  for (const auto& r : reqs) EXPECT_EQ(r.headers.at("authorization"), kToken);

  // The region's webhook status saw none of it (the 503 was the job's).
  auto status = d.call({{"op", "webhook_status"}, {"region", "us"}});
  ASSERT_TRUE(status);
  const auto& hook = status->at("webhook").as_object();
  EXPECT_EQ(hook.at("webhook_status").as_string(), "active") << json::serialize(hook);
  EXPECT_TRUE(!hook.contains("last_response_code") || hook.at("last_response_code").is_null())
      << json::serialize(hook);

  // After a restart the job still names its endpoint, never the authorization.
  EXPECT_EQ(d.stop().exit_code, 0);
  ASSERT_TRUE(d.start()) << d.log();
  auto again = d.call({{"op", "get_job"}, {"region", "us"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at("job").at("webhook").at("endpoint").as_string(), allowed_prefix + "in");
  EXPECT_EQ(json::serialize(*again).find("ALT-SECRET"), std::string::npos);
  EXPECT_EQ(d.stop().exit_code, 0);

  const std::string logs = d.allLogs();
  EXPECT_NE(logs.find("endpoint=" + allowed_prefix + "in"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("ALT-SECRET"), std::string::npos) << logs;
}

}  // namespace
}  // namespace audit::e2e
