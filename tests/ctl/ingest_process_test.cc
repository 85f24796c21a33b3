// ingest against a fake daemon: the check pass, chunking, stdin, and how the daemon's
// rejections come back to file line numbers.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <fstream>

#include "fake_daemon.hpp"
#include "process.hpp"

namespace audit::ctl::test {
namespace {

namespace json = boost::json;

// Counts what it receives; rejects events whose "bad_on_daemon" is true.
FakeDaemon::Handler ingestHandler() {
  return [](const json::object& req) {
    const auto& lines = req.at("lines").as_array();
    json::array rejected;
    std::int64_t ingested = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto event = json::parse(lines[i].as_string()).as_object();
      if (event.contains("bad_on_daemon")) {
        // As the daemon answers: ingest_raw names the line in the body, ingest the index.
        if (const auto* raw = req.if_contains("raw_lines")) {
          rejected.push_back({{"line", raw->as_array().at(i)}, {"reason", "refused by policy"}});
        } else {
          rejected.push_back({{"index", i}, {"reason", "refused by policy"}});
        }
      } else {
        ++ingested;
      }
    }
    if (!rejected.empty() && !req.at("skip_invalid").as_bool()) {
      return json::object{
          {"ok", false}, {"code", 400}, {"error", "1 event is invalid"}, {"rejected", rejected}};
    }
    return okAnswer({{"ingested", ingested}, {"duplicates", 0}, {"rejected", rejected}});
  };
}

std::string writeFile(const FakeDaemon& daemon, const std::string& name, const std::string& text) {
  std::string path = daemon.dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string event(int i) {
  return R"({"rt":)" + std::to_string(1700000000000 + i) + R"(,"n":)" + std::to_string(i) + "}";
}

// The ingest requests in file order. The command sends over several connections at once,
// so the daemon may see a later request complete first; each request's first event's "n"
// (see event()) tells where it came from.
std::vector<json::object> requestsInFileOrder(const FakeDaemon& daemon) {
  auto requests = daemon.requests("ingest");
  auto first_n = [](const json::object& req) {
    const auto& lines = req.at("lines").as_array();
    if (lines.empty()) return std::int64_t{-1};
    const auto event = json::parse(lines.front().as_string()).as_object();
    return event.contains("n") ? event.at("n").to_number<std::int64_t>() : std::int64_t{-1};
  };
  std::stable_sort(requests.begin(), requests.end(),
                   [&](const auto& a, const auto& b) { return first_n(a) < first_n(b); });
  return requests;
}

std::vector<std::string> sentLines(const FakeDaemon& daemon) {
  std::vector<std::string> out;
  for (const auto& req : requestsInFileOrder(daemon)) {
    for (const auto& line : req.at("lines").as_array()) out.emplace_back(line.as_string());
  }
  return out;
}

TEST(CtlIngest, SendsTheFileInChunksOf5000Lines) {
  FakeDaemon daemon(ingestHandler());
  std::string text;
  std::vector<std::string> expected;
  for (int i = 0; i < 12001; ++i) {
    expected.push_back(event(i));
    text += expected.back() + (i % 1000 == 0 ? "\r\n\n" : "\n");  // CRLF and blank lines are fine
  }
  auto path = writeFile(daemon, "events.ndjson", text);
  auto r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto requests = requestsInFileOrder(daemon);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].at("lines").as_array().size(), 5000u);
  EXPECT_EQ(requests[1].at("lines").as_array().size(), 5000u);
  EXPECT_EQ(requests[2].at("lines").as_array().size(), 2001u);
  EXPECT_EQ(requests[0].at("region").as_string(), "us");
  EXPECT_EQ(requests[0].at("skip_invalid").as_bool(), false);
  EXPECT_EQ(sentLines(daemon), expected);
  EXPECT_EQ(
      r.out,
      path + ": sent 12,001 events to region us: 12,001 ingested, 0 duplicates, 0 rejected\n");
}

TEST(CtlIngest, ChunksStayUnder8MiB) {
  FakeDaemon daemon(ingestHandler());
  std::string padding(100'000, 'p');
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += R"({"rt":1,"i":)" + std::to_string(i) + R"(,"pad":")" + padding + "\"}\n";
  auto path = writeFile(daemon, "big.ndjson", text);  // ~20 MB
  auto r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto requests = daemon.requests("ingest");
  ASSERT_GE(requests.size(), 3u);
  std::size_t total = 0;
  for (const auto& req : requests) {
    std::size_t bytes = 0;
    for (const auto& line : req.at("lines").as_array()) bytes += line.as_string().size() + 3;
    EXPECT_LE(bytes, 8u << 20);
    total += req.at("lines").as_array().size();
  }
  EXPECT_EQ(total, 200u);
}

TEST(CtlIngest, BadLineSendsNothingAndNamesFileAndLine) {
  FakeDaemon daemon(ingestHandler());
  auto path = writeFile(
      daemon, "bad.ndjson",
      event(1) + "\n" + event(2) + "\n{\"no_time\":true}\n\n" + event(3) + "\nnot json\n");
  auto r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":3: no rt or event_ts field\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":6: invalid JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 of 5 events are invalid; nothing was sent"), std::string::npos) << r.err;
  EXPECT_TRUE(daemon.requests("ingest").empty());
}

TEST(CtlIngest, SkipInvalidSendsTheGoodLines) {
  FakeDaemon daemon(ingestHandler());
  auto path = writeFile(daemon, "mixed.ndjson", event(1) + "\n[]\n" + event(2) + "\n");
  auto r =
      runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", "--skip-invalid", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(path + ":2: not a JSON object"), std::string::npos) << r.err;
  EXPECT_EQ(sentLines(daemon), (std::vector<std::string>{event(1), event(2)}));
  EXPECT_EQ(daemon.requests("ingest").at(0).at("skip_invalid").as_bool(), true);
  EXPECT_NE(r.out.find("2 ingested, 0 duplicates, 1 rejected"), std::string::npos) << r.out;
}

TEST(CtlIngest, DaemonRejectionsPointAtFileLines) {
  FakeDaemon daemon(ingestHandler());
  auto path =
      writeFile(daemon, "policy.ndjson",
                event(1) + "\n\n" + R"({"rt":5,"bad_on_daemon":true})" + "\n" + event(2) + "\n");
  auto r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":3: rejected by the daemon: refused by policy"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("1 event is invalid (code 400)"), std::string::npos) << r.err;

  r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", "--skip-invalid",
              "--json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto answer = json::parse(r.out).as_object();
  EXPECT_EQ(answer.at("ingested").as_int64(), 2);
}

TEST(CtlIngest, ReadsStdinThroughASpoolFile) {
  FakeDaemon daemon(ingestHandler());
  std::string text;
  for (int i = 0; i < 7000; ++i) text += event(i) + "\n";
  auto r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", "-"}, text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sentLines(daemon).size(), 7000u);
  EXPECT_EQ(r.out.find("stdin: sent 7,000 events"), 0u) << r.out;

  r = runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", "-"},
             event(1) + "\n" + "{\"rt\":\"x\"}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("stdin:2: rt is not a number of milliseconds"), std::string::npos) << r.err;
}

TEST(CtlIngest, MissingFileIsAUsageError) {
  FakeDaemon daemon(ingestHandler());
  auto r =
      runCtl({"--socket", daemon.socketPath(), "ingest", "--region", "us", "/nonexistent.ndjson"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot open /nonexistent.ndjson: No such file or directory"),
            std::string::npos)
      << r.err;
}

TEST(CtlIngest, ShowsProgressOnATerminal) {
  FakeDaemon daemon(ingestHandler());
  std::string text;
  for (int i = 0; i < 100; ++i) text += event(i) + "\n";
  auto path = writeFile(daemon, "tty.ndjson", text);
  auto r = runCtlInPty({"--socket", daemon.socketPath(), "ingest", "--region", "us", path}, 100);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\r["), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checking"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sending"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sent 100 events"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace audit::ctl::test
