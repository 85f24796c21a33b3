// watch and replay --wait against a fake daemon whose job moves on with every poll,
// with pipes (plain lines) and in a pseudo-terminal (the progress bar redrawn in place).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "fake_daemon.hpp"
#include "process.hpp"

namespace audit::ctl::test {
namespace {

namespace json = boost::json;

struct Step {
  const char* status;
  std::uint64_t sent;
  std::uint64_t total;
};

// Answers get_job with the next step on every poll, then stays at the last one.
FakeDaemon::Handler scripted(std::vector<Step> steps, json::object final_error = {},
                             std::string id = "job-1") {
  auto polls = std::make_shared<std::size_t>(0);
  return [=](const json::object& req) {
    if (req.at("op").as_string() == "put_job") {
      return json::object{
          {"ok", true}, {"code", 202}, {"job", jobObject("us", "accepted", 0, 0, id)}};
    }
    const Step& step = steps[std::min(*polls, steps.size() - 1)];
    ++*polls;
    auto job = jobObject("us", step.status, step.sent, step.total, id);
    if (std::string_view(step.status) == "failed") job["error"] = final_error;
    return okAnswer({{"job", job}});
  };
}

const std::vector<Step> kToCompletion = {{"accepted", 0, 0},      {"pending", 0, 4000},
                                         {"running", 1000, 4000}, {"running", 2000, 4000},
                                         {"running", 3000, 4000}, {"completed", 4000, 4000}};

std::vector<std::string> watchArgs(const FakeDaemon& daemon, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--socket", daemon.socketPath(), "watch", "--region",
                                "us",       "--interval",        "20ms"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(CtlWatch, RunningToCompletedExits0) {
  FakeDaemon daemon(scripted(kToCompletion));
  auto r = runCtl(watchArgs(daemon));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // No terminal: plain lines (the first and the last state here), never a '\r'.
  EXPECT_EQ(r.out,
            "0/?  ETA --:--  accepted\n"
            "4,000/4,000  100%  completed\n"
            "completed: 4,000 events in 4 batches (2.4 MiB)\n");
  EXPECT_EQ(daemon.requests("get_job").size(), kToCompletion.size());
  EXPECT_EQ(daemon.requests("get_job").at(0), (json::object{{"op", "get_job"}, {"region", "us"}}));
}

TEST(CtlWatch, FailedJobExits1WithReasonAndCode) {
  FakeDaemon daemon(
      scripted({{"running", 1000, 4000}, {"failed", 2000, 4000}},
               {{"reason", "webhook answered 400 Bad Request"}, {"last_response_code", 400}}));
  auto r = runCtl(watchArgs(daemon));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("failed: webhook answered 400 Bad Request (last response code 400) after "
                       "2,000/4,000 events\n"),
            std::string::npos)
      << r.out;
}

TEST(CtlWatch, JsonPrintsTheAnswers) {
  FakeDaemon daemon(scripted(kToCompletion));
  auto r = runCtl(watchArgs(daemon, {"--json"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line, last;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(json::parse(line).is_object()) << line;
    last = line;
    ++count;
  }
  EXPECT_EQ(count, 2);
  EXPECT_EQ(json::parse(last).at("job").at("status").as_string(), "completed");
}

TEST(CtlWatch, KeepsAskingWhenTheDaemonRestarts) {
  auto inner = scripted(kToCompletion);
  auto calls = std::make_shared<int>(0);
  FakeDaemon daemon([=](const json::object& req) { return ++*calls == 3 ? hangUp() : inner(req); });
  auto r = runCtl(watchArgs(daemon));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("completed: 4,000 events"), std::string::npos) << r.out;
}

TEST(CtlWatch, UnknownRegionExits1) {
  FakeDaemon daemon([](const json::object&) { return errorAnswer(404, "no job for region us"); });
  auto r = runCtl(watchArgs(daemon));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no job for region us (code 404)"), std::string::npos) << r.err;
}

TEST(CtlWatch, ReplayWaitFollowsTheNewJob) {
  FakeDaemon daemon(scripted(kToCompletion, {}, "J1"));
  auto r = runCtl({"--socket", daemon.socketPath(), "replay", "--region", "us", "--since", "1h",
                   "--wait", "--interval", "20ms"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("job J1  region us  accepted"), 0u) << r.out;
  EXPECT_NE(r.out.find("completed: 4,000 events"), std::string::npos) << r.out;
  EXPECT_EQ(daemon.requests("put_job").size(), 1u);
}

TEST(CtlWatch, ReplayWaitNoticesAReplacedJob) {
  auto polls = std::make_shared<int>(0);
  FakeDaemon daemon([=](const json::object& req) {
    if (req.at("op").as_string() == "put_job") {
      return json::object{
          {"ok", true}, {"code", 202}, {"job", jobObject("us", "accepted", 0, 0, "J1")}};
    }
    return okAnswer({{"job", jobObject("us", "running", 1, 9, ++*polls < 2 ? "J1" : "J2")}});
  });
  auto r = runCtl({"--socket", daemon.socketPath(), "replay", "--region", "us", "--since", "1h",
                   "--wait", "--interval", "20ms"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the job of region us was replaced by job J2"), std::string::npos) << r.err;
}

TEST(CtlWatch, DrawsAProgressBarInPlaceOnATerminal) {
  FakeDaemon daemon(scripted(kToCompletion));
  auto r = runCtlInPty(watchArgs(daemon), 100);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Every poll redraws the same line: '\r', the bar, erase to the end of the line.
  std::size_t redraws = 0;
  for (auto at = r.out.find("\r["); at != std::string::npos; at = r.out.find("\r[", at + 1))
    ++redraws;
  EXPECT_EQ(redraws, kToCompletion.size()) << r.out;
  EXPECT_NE(r.out.find("]  2,000/4,000  50%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\x1b[K"), std::string::npos);
  // The last drawing is a full bar.
  auto last = r.out.rfind("\r[");
  ASSERT_NE(last, std::string::npos);
  auto close = r.out.find("]  4,000/4,000  100%  completed", last);
  ASSERT_NE(close, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(last + 2, close - last - 2).find_first_not_of('#'), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("completed: 4,000 events in 4 batches"), std::string::npos) << r.out;
}

TEST(CtlWatch, FitsANarrowTerminal) {
  FakeDaemon daemon(scripted(kToCompletion));
  auto r = runCtlInPty(watchArgs(daemon), 50);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Each drawn line fits in 49 columns.
  for (auto at = r.out.find('\r'); at != std::string::npos; at = r.out.find('\r', at + 1)) {
    auto end = r.out.find_first_of("\r\x1b\n", at + 1);
    if (end == std::string::npos) end = r.out.size();
    EXPECT_LE(end - at - 1, 49u) << r.out.substr(at + 1, end - at - 1);
  }
}

}  // namespace
}  // namespace audit::ctl::test
