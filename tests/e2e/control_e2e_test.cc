// End-to-end: the control socket and the spool directory under good, bad and hostile input.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <random>
#include <thread>

#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

class ControlE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_.start();
    daemon_.writeConfig("regions:\n  us:\n    webhook: {endpoint: \"" + receiver_.url() + "\"}\n");
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
  }
  void TearDown() override { EXPECT_EQ(daemon_.stop().exit_code, 0) << daemon_.log(); }

  bool pingWorks() {
    auto pong = daemon_.call({{"op", "ping"}});
    return pong && pong->at("ok").as_bool();
  }

  sink::Receiver receiver_{sink::ReceiverOptions{}};
  DaemonFixture daemon_;
};

TEST_F(ControlE2E, MalformedLinesAnswer400AndTheConnectionStaysUsable) {
  ControlClient c(daemon_.socket());
  const std::vector<std::string> bad_lines{"{",
                                           "not json",
                                           "[1,2,3]",
                                           "\"op\"",
                                           "{\"op\":42}",
                                           "{\"op\":null}",
                                           "\xff\xfe{\"op\":\"ping\"}",
                                           std::string(200, '[')};
  for (const std::string& bad : bad_lines) {
    auto line = c.roundTrip(bad);
    ASSERT_TRUE(line) << bad;
    auto answer = json::parse(*line).as_object();
    EXPECT_FALSE(answer.at("ok").as_bool());
    EXPECT_EQ(answer.at("code").as_int64(), 400) << *line;
  }
  auto pong = c.call({{"op", "ping"}});
  ASSERT_TRUE(pong);
  EXPECT_TRUE(pong->at("ok").as_bool());
}

TEST_F(ControlE2E, SeveralRequestsOnOneConnectionAnswerInOrder) {
  ControlClient c(daemon_.socket());
  c.sendRaw("{\"op\":\"ping\"}\n{\"op\":\"list_jobs\"}\n{\"op\":\"stats\"}\n");
  auto a = c.roundTrip("{\"op\":\"ping\"}");
  ASSERT_TRUE(a);
  EXPECT_NE(a->find("\"ok\":true"), std::string::npos);
}

TEST_F(ControlE2E, OversizedLineAnswers413AndCloses) {
  ControlClient c(daemon_.socket());
  std::string huge =
      "{\"op\":\"ingest\",\"region\":\"us\",\"lines\":[\"" + std::string(17u << 20, 'a');
  auto line = c.roundTrip(huge, std::chrono::seconds(30));
  ASSERT_TRUE(line);
  EXPECT_EQ(json::parse(*line).at("code").as_int64(), 413);
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_TRUE(pingWorks());
}

TEST_F(ControlE2E, RandomBytesAndDroppedConnectionsDoNotStopTheDaemon) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    ControlClient c(daemon_.socket());
    std::string junk(rng() % 4096, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    c.sendRaw(junk);
    if (i % 2 == 0) c.sendRaw("\n");
  }
  EXPECT_TRUE(pingWorks());
}

TEST_F(ControlE2E, ManyConcurrentClients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&] {
      ControlClient c(daemon_.socket());
      for (int i = 0; i < 50; ++i) {
        auto pong = c.call({{"op", "ping"}});
        if (pong && pong->at("ok").as_bool()) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 16 * 50);
}

TEST_F(ControlE2E, IngestIsAtomicUnlessSkipInvalid) {
  const std::int64_t t = nowMs() - 60'000;
  json::array lines{json::value(makeEvent(t, "good")), json::value("{\"no_time\":1}"),
                    json::value("  " + makeEvent(t + 1, "padded") + "  "), json::value(42)};
  auto refused = daemon_.call({{"op", "ingest"}, {"region", "us"}, {"lines", lines}});
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->at("ok").as_bool());
  EXPECT_EQ(refused->at("code").as_int64(), 400);
  EXPECT_EQ(refused->at("rejected").as_array().size(), 2u);
  EXPECT_EQ(refused->at("ingested").as_int64(), 0);

  auto skipped =
      daemon_.call({{"op", "ingest"}, {"region", "us"}, {"lines", lines}, {"skip_invalid", true}});
  EXPECT_TRUE(skipped->at("ok").as_bool());
  EXPECT_EQ(skipped->at("ingested").as_int64(), 2);
  auto rejected = skipped->at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].at("index").as_int64(), 1);
  EXPECT_EQ(rejected[1].at("index").as_int64(), 3);

  auto again =
      daemon_.call({{"op", "ingest"}, {"region", "us"}, {"lines", lines}, {"skip_invalid", true}});
  EXPECT_EQ(again->at("ingested").as_int64(), 0);
  EXPECT_EQ(again->at("duplicates").as_int64(), 2);

  json::array objects{json::object{{"rt", t + 5}, {"name", "as object"}}};
  auto as_objects = daemon_.call({{"op", "ingest"}, {"region", "us"}, {"events", objects}});
  EXPECT_EQ(as_objects->at("ingested").as_int64(), 1) << json::serialize(*as_objects);
}

TEST_F(ControlE2E, SocketHasTheConfiguredMode) {
  struct stat st {};
  ASSERT_EQ(::stat(daemon_.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

// ---- spool -----------------------------------------------------------------------------

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(ControlE2E, SpoolAcceptsRejectsAndIgnores) {
  const std::int64_t now = nowMs();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(daemon_.spool() / (name + ".tmp")) << text;
    fs::rename(daemon_.spool() / (name + ".tmp"), daemon_.spool() / name);
  };
  std::ofstream(daemon_.spool() / "partial.json.tmp") << "{\"region\":";
  std::ofstream(daemon_.spool() / "notes.txt") << "hello";
  write("good.json", "{\"region\":\"us\",\"start_at\":\"" + isoMillis(now - 60'000) +
                         "\",\"end_at\":\"" + isoMillis(now) + "\"}");
  write("bad-range.json", "{\"region\":\"us\",\"start_at\":\"" + isoMillis(now) +
                              "\",\"end_at\":\"" + isoMillis(now - 60'000) + "\"}");
  write("garbage.json", "{{{{ not json");

  ASSERT_TRUE(waitUntil(
      [&] {
        return fs::exists(daemon_.spool() / "done" / "good.json") &&
               fs::exists(daemon_.spool() / "rejected" / "bad-range.json") &&
               fs::exists(daemon_.spool() / "rejected" / "garbage.json");
      },
      10s))
      << daemon_.log();
  auto good = json::parse(slurp(daemon_.spool() / "good.result.json"));
  EXPECT_EQ(good.at("code").as_int64(), 202);
  auto bad = json::parse(slurp(daemon_.spool() / "bad-range.result.json"));
  EXPECT_EQ(bad.at("code").as_int64(), 400);
  EXPECT_NE(std::string(bad.at("error").as_string()).find("end_at"), std::string::npos);
  auto garbage = json::parse(slurp(daemon_.spool() / "garbage.result.json"));
  EXPECT_EQ(garbage.at("code").as_int64(), 400);
  EXPECT_TRUE(fs::exists(daemon_.spool() / "partial.json.tmp"));
  EXPECT_TRUE(fs::exists(daemon_.spool() / "notes.txt"));
  EXPECT_FALSE(fs::exists(daemon_.spool() / "partial.result.json"));
  EXPECT_TRUE(pingWorks());
}

// ---- spool: hostile writers and unusable folders --------------------------------------

class SpoolHostileE2E : public ControlE2E {
 protected:
  void write(const std::string& name, const std::string& text) {
    std::ofstream(daemon_.spool() / (name + ".tmp")) << text;
    fs::rename(daemon_.spool() / (name + ".tmp"), daemon_.spool() / name);
  }
  std::string goodRequest() {
    const std::int64_t now = nowMs();
    return "{\"region\":\"us\",\"start_at\":\"" + isoMillis(now - 60'000) + "\",\"end_at\":\"" +
           isoMillis(now) + "\"}";
  }
  // Drops a bad request and waits until it is filed: proves at least one later poll ran.
  void waitForLaterPolls(int polls) {
    for (int i = 0; i < polls; ++i) {
      const std::string name = "later-" + std::to_string(i) + ".json";
      write(name, "not json");
      ASSERT_TRUE(waitUntil([&] { return fs::exists(daemon_.spool() / "rejected" / name); }, 10s))
          << daemon_.log();
    }
  }
  std::string jobId() {
    auto job = daemon_.call({{"op", "get_job"}, {"region", "us"}});
    if (!job || !job->at("ok").as_bool()) return {};
    auto* id = job->at("job").as_object().if_contains("id");
    return id != nullptr && id->is_string() ? std::string(id->as_string()) : std::string();
  }
  static std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
};

TEST_F(SpoolHostileE2E, ARequestThatCannotBeFiledAwayRunsOnce) {
  fs::remove_all(daemon_.spool() / "done");
  std::ofstream(daemon_.spool() / "done") << "not a folder";
  write("once.json", goodRequest());
  ASSERT_TRUE(waitUntil([&] { return fs::exists(daemon_.spool() / "once.result.json"); }, 10s))
      << daemon_.log();
  auto result = json::parse(slurp(daemon_.spool() / "once.result.json")).as_object();
  ASSERT_EQ(result.at("code").as_int64(), 202) << daemon_.log();
  const std::string id(result.at("job").at("id").as_string());
  waitForLaterPolls(3);
  // Not run again: the job is still the one it created, the request was never re-answered.
  EXPECT_EQ(jobId(), id);
  auto again = json::parse(slurp(daemon_.spool() / "once.result.json")).as_object();
  EXPECT_EQ(std::string(again.at("job").at("id").as_string()), id);
  EXPECT_FALSE(fs::exists(daemon_.spool() / "rejected" / "once.json"));
  EXPECT_FALSE(fs::exists(daemon_.spool() / "once.json"));
  EXPECT_TRUE(fs::exists(daemon_.spool() / ".claimed" / "once.json"));
  EXPECT_EQ(count(daemon_.log(), "spool request once.json"), 1u) << daemon_.log();
  fs::remove(daemon_.spool() / "done");  // the fixture's stop is clean either way
}

TEST_F(SpoolHostileE2E, ANameTooLongForItsResultIsRejectedUnrun) {
  const std::string name = std::string(244, 'n') + ".json";  // 249 bytes: legal
  ASSERT_EQ(name.size(), 249u);                              // NAME.result.json: 256 bytes
  write(name, goodRequest());
  ASSERT_TRUE(waitUntil([&] { return fs::exists(daemon_.spool() / "rejected" / name); }, 10s))
      << daemon_.log();
  waitForLaterPolls(2);
  auto job = daemon_.call({{"op", "get_job"}, {"region", "us"}});
  ASSERT_TRUE(job);
  // No job was created: the region still has none.
  EXPECT_EQ(job->at("job").at("status").as_string(), "unconfigured") << json::serialize(*job);
  EXPECT_EQ(count(daemon_.log(), "spool request " + name), 1u) << daemon_.log();
}

TEST_F(SpoolHostileE2E, LinksAreNeverFollowedNorRead) {
  const fs::path outside = daemon_.dir() / "outside";
  fs::create_directories(outside);
  std::ofstream(outside / "victim") << "precious";
  std::ofstream(outside / "victim2") << "precious";
  std::ofstream(outside / "request.json") << goodRequest();
  // The old predictable temp name, the result name, and a request that is a link.
  fs::create_symlink(outside / "victim", daemon_.spool() / ".good.result.json.tmp");
  fs::create_symlink(outside / "victim2", daemon_.spool() / "good.result.json");
  fs::create_symlink(outside / "request.json", daemon_.spool() / "link.json");
  write("good.json", goodRequest());
  ASSERT_TRUE(waitUntil(
      [&] {
        return fs::exists(daemon_.spool() / "done" / "good.json") &&
               fs::is_symlink(daemon_.spool() / "rejected" / "link.json");
      },
      10s))
      << daemon_.log();
  EXPECT_EQ(slurp(outside / "victim"), "precious");
  EXPECT_EQ(slurp(outside / "victim2"), "precious");
  EXPECT_FALSE(fs::is_symlink(daemon_.spool() / "good.result.json"));
  EXPECT_EQ(json::parse(slurp(daemon_.spool() / "good.result.json")).at("code").as_int64(), 202);
  auto link = json::parse(slurp(daemon_.spool() / "link.result.json"));
  EXPECT_EQ(link.at("code").as_int64(), 400);
  EXPECT_NE(std::string(link.at("error").as_string()).find("not a regular file"),
            std::string::npos);
  // No temp file is left behind.
  for (const auto& e : fs::directory_iterator(daemon_.spool())) {
    const std::string n = e.path().filename().string();
    EXPECT_TRUE(n.find(".result-") == std::string::npos) << n;
  }
}

TEST_F(SpoolHostileE2E, AFifoIsRefusedAndDoesNotHangTheDaemon) {
  ASSERT_EQ(::mkfifo((daemon_.spool() / "pipe.json").c_str(), 0644), 0);
  write("good.json", goodRequest());
  ASSERT_TRUE(waitUntil(
      [&] {
        return fs::exists(daemon_.spool() / "done" / "good.json") &&
               fs::is_fifo(daemon_.spool() / "rejected" / "pipe.json");
      },
      10s))
      << daemon_.log();
  EXPECT_TRUE(pingWorks());
}

TEST_F(SpoolHostileE2E, ControlCharactersInANameCannotForgeALogLine) {
  const std::string forged = "[info] spool request forged.json accepted";
  const std::string name = "x\n" + forged + "\x1b[2K.json";
  write(name, "not json");
  // The file is moved before the line about it is logged: wait for both.
  const std::string escaped = "x\\n" + forged + "\\x1b[2K.json";
  ASSERT_TRUE(waitUntil(
      [&] {
        return fs::exists(daemon_.spool() / "rejected" / name) &&
               daemon_.log().find(escaped) != std::string::npos;
      },
      10s))
      << "the name is logged escaped: " << daemon_.log();
  const std::string log = daemon_.log();
  EXPECT_EQ(log.find("\n" + forged), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace audit::e2e
