// The audit-replay-sink program, run as a child process and driven over HTTP(S).

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/fakes/temp_dir.hpp"
#include "tests/fakes/test_certs.hpp"
#include "tests/sink/test_client.hpp"

extern char** environ;

namespace audit::sink {
namespace {

using audit::testing::ClientOptions;
using audit::testing::TempDir;
using audit::testing::TestClient;
using namespace std::chrono_literals;

constexpr auto kWait = 10s;

/** The sink program with its stdout on a pipe; killed if a test leaves it running. */
class SinkProcess {
 public:
  explicit SinkProcess(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> argv_strings{AUDIT_BINARY_DIR "/sink/audit-replay-sink"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
    if (spawned != 0) throw std::runtime_error("cannot run " + argv_strings[0]);
  }

  ~SinkProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }

  /** The next line of stdout (without '\n'), or nothing at EOF or after `within`. */
  std::optional<std::string> readLine(std::chrono::milliseconds within) {
    const auto until = std::chrono::steady_clock::now() + within;
    for (;;) {
      if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return line;
      }
      if (!fill(until)) return std::nullopt;
    }
  }

  /** Everything left on stdout up to EOF (the program's exit), or what came by `within`. */
  std::string readToEnd(std::chrono::milliseconds within) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (fill(until)) {
    }
    return std::exchange(pending_, {});
  }

  /** Waits for the exit (after EOF on stdout); @return the exit code, -1 if killed. */
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void signal(int number) { ::kill(pid_, number); }

 private:
  /** Reads what is available by `until`; false at EOF or on the deadline. */
  bool fill(std::chrono::steady_clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{out_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[4096];
    const auto got = ::read(out_, chunk, sizeof chunk);
    if (got <= 0) return false;
    pending_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string pending_;
};

/** Port of "listening on http(s)://127.0.0.1:PORT". */
std::uint16_t portOf(const std::string& line) {
  return static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(SinkProgram, ReportsBatchesFailsFirstServesStatsAndSummarisesOnSigterm) {
  TempDir dir;
  SinkProcess sink(
      {"--listen", "127.0.0.1:0", "--out", (dir / "events.ndjson").string(), "--fail-first", "1"});
  const auto listening = sink.readLine(kWait);
  ASSERT_TRUE(listening.has_value());
  ASSERT_EQ(listening->rfind("listening on http://127.0.0.1:", 0), 0u) << *listening;
  ClientOptions options;
  options.port = portOf(*listening);
  TestClient client(options);

  EXPECT_EQ(client.post("/audit", "a\nb").status, 503);
  EXPECT_EQ(client.post("/audit", "a\nb", /*gzip=*/true).status, 200);
  const auto stats = client.get("/stats");
  EXPECT_EQ(stats.status, 200);
  EXPECT_NE(stats.body.find(R"("requests":2,"events":2,)"), std::string::npos) << stats.body;
  EXPECT_EQ(sink.readLine(kWait), "batch 1: 2 events, 3 bytes, answered 503");
  const auto second = sink.readLine(kWait);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->rfind("batch 2: 2 events, 3 bytes (gzip ", 0), 0u) << *second;

  sink.signal(SIGTERM);
  const std::string rest = sink.readToEnd(kWait);
  EXPECT_EQ(sink.wait(), 0);
  EXPECT_EQ(rest.rfind("stopped by SIGTERM: 2 requests, 2 events accepted", 0), 0u) << rest;
  EXPECT_EQ(readFile(dir / "events.ndjson"), "a\nb\n");  // the 503'd copy is not stored
}

TEST(SinkProgram, PrintsEventsAndQuietDropsBatchLines) {
  SinkProcess sink({"--listen", "127.0.0.1:0", "--print", "--quiet", "--status", "204"});
  const auto listening = sink.readLine(kWait);
  ASSERT_TRUE(listening.has_value());
  ClientOptions options;
  options.port = portOf(*listening);

  EXPECT_EQ(TestClient(options).post("/audit", "x\ny").status, 204);
  EXPECT_EQ(sink.readLine(kWait), "x");
  EXPECT_EQ(sink.readLine(kWait), "y");
  sink.signal(SIGINT);
  EXPECT_EQ(sink.readToEnd(kWait).rfind("stopped by SIGINT: 1 requests, 2 events", 0), 0u);
  EXPECT_EQ(sink.wait(), 0);
}

TEST(SinkProgram, ServesHttpsWithTheGivenCertificate) {
  TempDir dir;
  const auto pki = audit::testing::makeTestPki(dir.path());
  SinkProcess sink({"--listen", "127.0.0.1:0", "--tls-cert", pki.cert_chain_file.string(),
                    "--tls-key", pki.key_file.string(), "--quiet"});
  const auto listening = sink.readLine(kWait);
  ASSERT_TRUE(listening.has_value());
  ASSERT_EQ(listening->rfind("listening on https://127.0.0.1:", 0), 0u) << *listening;
  ClientOptions options;
  options.port = portOf(*listening);
  options.tls = true;
  options.ca_file = pki.ca_file;

  EXPECT_EQ(TestClient(options).post("/audit", "a", /*gzip=*/true).status, 200);
  sink.signal(SIGTERM);
  EXPECT_NE(sink.readToEnd(kWait).find("1 requests, 1 events"), std::string::npos);
  EXPECT_EQ(sink.wait(), 0);
}

TEST(SinkProgram, BadArgumentsExitWithUsage) {
  SinkProcess sink({"--listen", "nonsense"});
  EXPECT_EQ(sink.readToEnd(kWait), "");  // the usage goes to stderr
  EXPECT_EQ(sink.wait(), 2);
}

}  // namespace
}  // namespace audit::sink
