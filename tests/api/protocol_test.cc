// The protocol codec alone, over a fake engine (tests/fakes/fake_engine.hpp): the socket
// protocol's JSON is decoded into the engine's typed requests, every JSON type is checked
// before the engine is asked, and results and refusals are encoded as docs/cli.md shows them.

#include "api/protocol.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "tests/fakes/fake_engine.hpp"

namespace audit::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

class ProtocolCodec : public ::testing::Test {
 protected:
  json::object execute(std::string_view request) {
    auto answer =
        asio::co_spawn(io_, protocol_.execute(json::parse(request).as_object()), asio::use_future);
    io_.run();
    io_.restart();
    return answer.get();
  }

  static jobs::JobRecord acceptedJob() {
    jobs::JobRecord job;
    job.id = "0123456789abcdef0123456789abcdef";
    job.region = "us";
    job.start_at = "2026-11-20T20:00:00Z";
    job.end_at = "2026-11-21T20:00:00Z";
    return job;
  }

  asio::io_context io_;
  fakes::FakeEngine engine_;
  Protocol protocol_{engine_};
};

TEST_F(ProtocolCodec, APutJobBecomesATypedRequestAndItsJobA202) {
  engine_.put_job_answer = acceptedJob();
  const json::object answer =
      execute(R"({"op":"put_job","region":"us","start_at":"2026-11-20T20:00:00Z",)"
              R"("end_at":"2026-11-21T20:00:00Z","webhook":{"endpoint":"https://siem.example/in",)"
              R"("authorization":"Bearer s3cret"}})");

  ASSERT_EQ(engine_.put_jobs.size(), 1u);
  const jobs::ReplayRequest& asked = engine_.put_jobs.front();
  EXPECT_EQ(asked.region, "us");
  EXPECT_EQ(asked.start_at, "2026-11-20T20:00:00Z");
  EXPECT_EQ(asked.end_at, "2026-11-21T20:00:00Z");
  ASSERT_TRUE(asked.webhook);
  EXPECT_EQ(asked.webhook->endpoint, "https://siem.example/in");
  EXPECT_EQ(asked.webhook->authorization, "Bearer s3cret");

  EXPECT_EQ(answer.at("ok"), true);
  EXPECT_EQ(answer.at("code"), 202);
  EXPECT_EQ(answer.at("job").at("id"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(answer.at("job").at("status"), "accepted");
}

TEST_F(ProtocolCodec, AWrongJsonTypeIsA400ThatNeverReachesTheEngine) {
  const json::object answer =
      execute(R"({"op":"put_job","region":"us","start_at":5,"end_at":"2026-11-21T20:00:00Z"})");
  EXPECT_EQ(engine_.calls, 0);
  EXPECT_EQ(answer.at("ok"), false);
  EXPECT_EQ(answer.at("code"), 400);
  EXPECT_EQ(answer.at("error"), "start_at must be an RFC 3339 string");
  const json::array& fields = answer.at("invalid_parameters").as_array();
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].at("field"), "start_at");

  EXPECT_EQ(execute(R"({"op":"get_job","region":7})").at("code"), 400);
  EXPECT_EQ(execute(R"({"op":"ingest","region":"us","lines":"{}"})").at("error"),
            "lines must be an array");
  EXPECT_EQ(engine_.calls, 0);
}

TEST_F(ProtocolCodec, AnEngineRefusalIsEncodedWithItsCodeAndReason) {
  engine_.cancel_job_answer =
      jobs::Refusal{409, "the replay job of region us already completed", {}};
  const json::object answer = execute(R"({"op":"cancel_job","region":"us"})");
  ASSERT_EQ(engine_.cancel_jobs.size(), 1u);
  EXPECT_EQ(engine_.cancel_jobs.front(), "us");
  EXPECT_EQ(answer, (json::object{{"ok", false},
                                  {"code", 409},
                                  {"error", "the replay job of region us already completed"}}));
}

TEST_F(ProtocolCodec, IngestHandsTheEngineEachLineAndEachObjectAsText) {
  engine_.ingest_answer = source::IngestReport{};
  engine_.ingest_answer->ingested = 2;
  const json::object lines =
      execute(R"({"op":"ingest","region":"us","lines":["{\"rt\":1}","{\"rt\":2}"]})");
  EXPECT_EQ(lines.at("code"), 200);
  EXPECT_EQ(lines.at("ingested"), 2);
  const json::object objects =
      execute(R"({"op":"ingest","region":"us","events":[{"rt":3},{"rt":4,"a":"b"}]})");
  EXPECT_EQ(objects.at("code"), 200);
  ASSERT_EQ(engine_.ingested.size(), 2u);
  EXPECT_EQ(engine_.ingested[0], (std::vector<std::string>{R"({"rt":1})", R"({"rt":2})"}));
  EXPECT_EQ(engine_.ingested[1], (std::vector<std::string>{R"({"rt":3})", R"({"rt":4,"a":"b"})"}));
}

TEST_F(ProtocolCodec, WhileTheEngineStopsOnlyPingIsServed) {
  engine_.is_stopping = true;
  const json::object refused = execute(R"({"op":"get_job","region":"us"})");
  EXPECT_EQ(refused.at("code"), 503);
  EXPECT_EQ(refused.at("error"), "audit-replayd is shutting down");
  EXPECT_EQ(engine_.calls, 0);
  EXPECT_EQ(execute(R"({"op":"ping"})").at("ok"), true);
}

TEST_F(ProtocolCodec, AnUnknownOrMissingOpIsA400) {
  EXPECT_EQ(execute(R"({"region":"us"})").at("error"), "op is required");
  const json::object unknown = execute(R"({"op":"dance"})");
  EXPECT_EQ(unknown.at("code"), 400);
  EXPECT_NE(std::string(unknown.at("error").as_string()).find("unknown op \"dance\""),
            std::string::npos);
  EXPECT_EQ(engine_.calls, 0);
}

TEST_F(ProtocolCodec, ForwardOpsReachTheEngineTypedAndAnswerTheForwardObject) {
  jobs::ForwardStatus status;
  status.region = "us";
  status.state = jobs::ForwardState::Retrying;
  status.reason = "webhook answered 503";
  status.record.position = "1200";
  status.record.last_forwarded_at = 1'700'000'000'123;
  status.record.events_forwarded = 1200;
  status.record.batches_forwarded = 2;
  status.record.gap_events = 5;
  status.record.gap_first_at = 1'699'999'000'000;
  status.record.gap_last_at = 1'699'999'001'000;
  status.backlog_events = 300;
  status.lag_seconds = 2.5;
  status.retry = jobs::RetryState{3, 503, 1'700'000'100'000, "webhook answered 503"};
  engine_.forward_answer = status;

  const json::object answer = execute(R"({"op":"forward_status","region":"us"})");
  const json::object paused = execute(R"({"op":"forward_pause","region":"us"})");
  const json::object resumed = execute(R"({"op":"forward_resume"})");

  ASSERT_EQ(engine_.forward_calls.size(), 3u);
  EXPECT_EQ(engine_.forward_calls[0], (std::pair<std::string, jobs::RegionName>{"status", "us"}));
  EXPECT_EQ(engine_.forward_calls[1], (std::pair<std::string, jobs::RegionName>{"pause", "us"}));
  EXPECT_EQ(engine_.forward_calls[2],
            (std::pair<std::string, jobs::RegionName>{"resume", std::nullopt}));
  EXPECT_EQ(paused.at("code"), 200);
  EXPECT_EQ(resumed.at("code"), 200);

  EXPECT_EQ(answer.at("ok"), true);
  const json::object& forward = answer.at("forward").as_object();
  EXPECT_EQ(forward.at("state"), "retrying");
  EXPECT_EQ(forward.at("reason"), "webhook answered 503");
  EXPECT_EQ(forward.at("last_forwarded_at"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(forward.at("lag_seconds").as_double(), 2.5);
  EXPECT_EQ(forward.at("backlog_events"), 300);
  EXPECT_EQ(forward.at("events_forwarded"), 1200);
  EXPECT_EQ(forward.at("gaps").at("events"), 5);
  EXPECT_EQ(forward.at("gaps").at("first_event_at"), "2023-11-14T21:56:40.000Z");
  EXPECT_EQ(forward.at("position"), "1200");
  EXPECT_EQ(forward.at("retry").at("attempt"), 3);
}

TEST_F(ProtocolCodec, AForwardOpsRefusalIsEncodedAndABadRegionNeverReachesTheEngine) {
  engine_.forward_answer = jobs::Refusal{409, "region eu does not forward", {}};
  const json::object refused = execute(R"({"op":"forward_pause","region":"eu"})");
  EXPECT_EQ(refused.at("ok"), false);
  EXPECT_EQ(refused.at("code"), 409);
  EXPECT_EQ(refused.at("error"), "region eu does not forward");

  const int calls = engine_.calls;
  EXPECT_EQ(execute(R"({"op":"forward_resume","region":["us"]})").at("code"), 400);
  EXPECT_EQ(engine_.calls, calls);
}

}  // namespace
}  // namespace audit::api
