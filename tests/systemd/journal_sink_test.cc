// The journald sink on the wire. sd_journal_sendv(3) always writes to
// /run/systemd/journal/socket, so each case runs in a forked child with a private mount
// namespace and an empty tmpfs on /run, where the child binds that socket itself and passes
// what journald would have received back to the test. Skipped where namespaces are not allowed.

#include "daemon/journal_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "spdlog/logger.h"
#include "tests/systemd/process_util.hpp"

namespace audit::daemon::systemd {
namespace {

using namespace std::chrono_literals;
using audit::test::Clock;

constexpr int kSkipExit = 77;
constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// ---- the log-line convention ----------------------------------------------------------------

TEST(FindLogToken, FindsKeyValueTokens) {
  const std::string_view line = "webhook answered 413 region=us job=9b2c-77: lower max_bytes";
  EXPECT_EQ(findLogToken(line, "region"), "us");
  EXPECT_EQ(findLogToken(line, "job"), "9b2c-77");
}

TEST(FindLogToken, KeyOnlyAtTheStartOfAWord) {
  EXPECT_EQ(findLogToken("subregion=eu region=us", "region"), "us");
  EXPECT_EQ(findLogToken("subregion=eu", "region"), std::nullopt);
  EXPECT_EQ(findLogToken("jobs=3", "job"), std::nullopt);
}

TEST(FindLogToken, ValueEndsAtPunctuationAndQuotesAreDropped) {
  EXPECT_EQ(findLogToken("(region=eu, job=1)", "region"), "eu");
  EXPECT_EQ(findLogToken("(region=eu, job=1)", "job"), "1");
  EXPECT_EQ(findLogToken("region=\"us east\" done", "region"), "us east");
  EXPECT_EQ(findLogToken("region=", "region"), std::nullopt);
  EXPECT_EQ(findLogToken("region= job=1", "region"), std::nullopt);
  EXPECT_EQ(findLogToken("no tokens here", "region"), std::nullopt);
}

TEST(FindLogFields, LiftsEveryKnownTokenOnceInTableOrder) {
  const std::string_view line =
      "webhook delivery attempt 2 failed region=us job=9b2c endpoint=\"https://siem:8443/a\" "
      "attempt=2 status_code=503: webhook answered 503 (last_response_code=500) request_id=r-1";
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& field : findLogFields(line)) {
    got.emplace_back(std::string(field.name->journal), std::string(field.value));
  }
  const std::vector<std::pair<std::string, std::string>> want{{"REGION", "us"},
                                                              {"JOB_ID", "9b2c"},
                                                              {"ATTEMPT", "2"},
                                                              {"STATUS_CODE", "503"},
                                                              {"ENDPOINT", "https://siem:8443/a"},
                                                              {"REQUEST_ID", "r-1"}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(findLogFields("nothing to lift").empty());
  ASSERT_EQ(findLogFields("job failed code=400").size(), 1u);
  EXPECT_EQ(findLogFields("job failed code=400").front().name->json, "status_code");
}

TEST(LevelName, MatchesTheConfiguration) {
  EXPECT_EQ(levelName(spdlog::level::trace), "trace");
  EXPECT_EQ(levelName(spdlog::level::debug), "debug");
  EXPECT_EQ(levelName(spdlog::level::info), "info");
  EXPECT_EQ(levelName(spdlog::level::warn), "warn");
  EXPECT_EQ(levelName(spdlog::level::err), "error");
  EXPECT_EQ(levelName(spdlog::level::critical), "critical");
}

TEST(FindLogToken, FirstTokenWins) {
  EXPECT_EQ(findLogToken("region=us moved to region=eu", "region"), "us");
}

// ---- the journal's native protocol ----------------------------------------------------------

using Fields = std::multimap<std::string, std::string>;

/** Decodes one datagram: "NAME=value\n", or "NAME\n" + little-endian u64 size + bytes + "\n". */
Fields parseNative(const std::string& datagram) {
  Fields fields;
  std::size_t pos = 0;
  while (pos < datagram.size()) {
    const auto nl = datagram.find('\n', pos);
    if (nl == std::string::npos) break;
    const auto eq = datagram.find('=', pos);
    if (eq != std::string::npos && eq < nl) {
      fields.emplace(datagram.substr(pos, eq - pos), datagram.substr(eq + 1, nl - eq - 1));
      pos = nl + 1;
      continue;
    }
    const std::string name = datagram.substr(pos, nl - pos);
    std::uint64_t size = 0;
    if (nl + 1 + 8 > datagram.size()) break;
    for (int i = 7; i >= 0; --i) {
      size = (size << 8) | static_cast<unsigned char>(datagram[nl + 1 + static_cast<unsigned>(i)]);
    }
    fields.emplace(name, datagram.substr(nl + 9, size));
    pos = nl + 9 + size + 1;
  }
  return fields;
}

std::string field(const Fields& fields, const std::string& name) {
  const auto it = fields.find(name);
  return it == fields.end() ? "<absent>" : it->second;
}

struct ChildOutput {
  bool skipped = false;
  std::vector<std::string> datagrams;  // what journald received
  std::string stderr_text;             // what the child wrote to stderr
};

bool writeAll(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

enum class Journald {
  Listening,  // a datagram socket bound at the journal's path: records are collected
  Stopped,    // the socket file is left behind by a journald that is gone: sends are refused
};

/**
 * Runs `log` in a child whose /run is a private tmpfs holding the journal socket as `journald`
 * says, and collects `expected` datagrams.
 */
ChildOutput runWithPrivateRun(Journald journald, int expected, const std::function<void()>& log) {
  int data_pipe[2];
  int err_pipe[2];
  if (::pipe(data_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(data_pipe[0]);
    ::close(err_pipe[0]);
    ::dup2(err_pipe[1], STDERR_FILENO);
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(kSkipExit);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(kSkipExit);
    if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
      ::_exit(kSkipExit);
    }
    if (::mkdir("/run/systemd", 0755) != 0 || ::mkdir("/run/systemd/journal", 0755) != 0) {
      ::_exit(10);
    }
    int journal = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    const auto addr = audit::test::unixAddress(kJournalSocket);
    if (::bind(journal, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::_exit(11);
    }
    if (journald == Journald::Stopped) ::close(journal);
    log();
    const auto deadline = Clock::now() + 10s;
    for (int i = 0; i < expected; ++i) {
      pollfd p{journal, POLLIN, 0};
      if (::poll(&p, 1, audit::test::msLeft(deadline)) != 1) ::_exit(12);
      std::string buf(256 * 1024, '\0');
      const ssize_t n = ::recv(journal, buf.data(), buf.size(), 0);
      if (n < 0) ::_exit(13);
      const auto size = static_cast<std::uint32_t>(n);
      if (!writeAll(data_pipe[1], &size, sizeof(size)) ||
          !writeAll(data_pipe[1], buf.data(), size)) {
        ::_exit(14);
      }
    }
    ::_exit(0);
  }
  ::close(data_pipe[1]);
  ::close(err_pipe[1]);

  // Drain both pipes until the child closes them, so a chatty child cannot block on a full pipe.
  std::string data;
  ChildOutput out;
  const auto deadline = Clock::now() + 30s;
  pollfd fds[2] = {{data_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && ::poll(fds, 2, audit::test::msLeft(deadline)) > 0) {
    for (auto& p : fds) {
      if (p.fd < 0 || p.revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(p.fd, buf, sizeof(buf));
      if (n <= 0) {
        ::close(p.fd);
        p.fd = -1;
        --open_fds;
        continue;
      }
      (p.fd == data_pipe[0] ? data : out.stderr_text).append(buf, static_cast<std::size_t>(n));
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }

  const auto status = audit::test::waitForExit(pid, deadline);
  if (!status) {
    audit::test::killAndReap(pid);
    throw std::runtime_error("the logging child did not finish");
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == kSkipExit) {
    out.skipped = true;
    return out;
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error("logging child failed: " + audit::test::describeStatus(*status) +
                             "; stderr: " + out.stderr_text);
  }
  for (std::size_t pos = 0; pos + 4 <= data.size();) {
    std::uint32_t size = 0;
    std::memcpy(&size, data.data() + pos, sizeof(size));
    out.datagrams.push_back(data.substr(pos + 4, size));
    pos += 4 + size;
  }
  return out;
}

#define SKIP_IF_NO_NAMESPACES(out) \
  if ((out).skipped) GTEST_SKIP() << "no private mount namespace here (needs CAP_SYS_ADMIN)"

TEST(JournalSink, SendsMessagePriorityIdentifierAndStructuredFields) {
  const auto out = runWithPrivateRun(Journald::Listening, 2, [] {
    spdlog::logger logger("test", makeJournalSink());
    logger.warn("webhook answered 413 region=us job=9b2c: lower batch.max_bytes");
    logger.error("store failed: IO error");
  });
  SKIP_IF_NO_NAMESPACES(out);
  ASSERT_EQ(out.datagrams.size(), 2u);

  const auto first = parseNative(out.datagrams[0]);
  EXPECT_EQ(field(first, "MESSAGE"),
            "webhook answered 413 region=us job=9b2c: lower batch.max_bytes");
  EXPECT_EQ(field(first, "PRIORITY"), "4");
  EXPECT_EQ(field(first, "SYSLOG_IDENTIFIER"), "audit-replayd");
  EXPECT_EQ(field(first, "REGION"), "us");
  EXPECT_EQ(field(first, "JOB_ID"), "9b2c");

  const auto second = parseNative(out.datagrams[1]);
  EXPECT_EQ(field(second, "MESSAGE"), "store failed: IO error");
  EXPECT_EQ(field(second, "PRIORITY"), "3");
  EXPECT_EQ(second.count("REGION"), 0u);
  EXPECT_EQ(second.count("JOB_ID"), 0u);
}

TEST(JournalSink, MapsEveryLevel) {
  const auto out = runWithPrivateRun(Journald::Listening, 5, [] {
    spdlog::logger logger("test", makeJournalSink());
    logger.set_level(spdlog::level::trace);
    logger.trace("t");
    logger.debug("d");
    logger.info("i");
    logger.critical("c");
    logger.log(spdlog::level::warn, "w");
  });
  SKIP_IF_NO_NAMESPACES(out);
  ASSERT_EQ(out.datagrams.size(), 5u);
  const std::vector<std::string> expected = {"7", "7", "6", "2", "4"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(field(parseNative(out.datagrams[i]), "PRIORITY"), expected[i]) << "record " << i;
  }
}

TEST(JournalSink, DeliveryAttemptFieldsAreJournalFields) {
  const auto out = runWithPrivateRun(Journald::Listening, 1, [] {
    spdlog::logger logger("test", makeJournalSink());
    logger.warn(
        "webhook delivery attempt 2 failed region=us job=9b2c endpoint=\"http://siem:9000/a\" "
        "attempt=2 status_code=503: webhook answered 503; retrying in 1s");
  });
  SKIP_IF_NO_NAMESPACES(out);
  ASSERT_EQ(out.datagrams.size(), 1u);
  const auto fields = parseNative(out.datagrams[0]);
  EXPECT_EQ(field(fields, "REGION"), "us");
  EXPECT_EQ(field(fields, "JOB_ID"), "9b2c");
  EXPECT_EQ(field(fields, "ATTEMPT"), "2");
  EXPECT_EQ(field(fields, "STATUS_CODE"), "503");
  EXPECT_EQ(field(fields, "ENDPOINT"), "http://siem:9000/a");
  EXPECT_EQ(fields.count("REQUEST_ID"), 0u);
}

TEST(JournalSink, MultiLineMessageArrivesWhole) {
  const auto out = runWithPrivateRun(Journald::Listening, 1, [] {
    spdlog::logger logger("test", makeJournalSink());
    logger.error("reload refused region=eu:\nconfig.yaml:3:7: retention: bad duration");
  });
  SKIP_IF_NO_NAMESPACES(out);
  ASSERT_EQ(out.datagrams.size(), 1u);
  const auto fields = parseNative(out.datagrams[0]);
  EXPECT_EQ(field(fields, "MESSAGE"),
            "reload refused region=eu:\nconfig.yaml:3:7: retention: bad duration");
  EXPECT_EQ(field(fields, "REGION"), "eu");
}

TEST(JournalSink, CarriesTheCallSite) {
  const auto out = runWithPrivateRun(Journald::Listening, 1, [] {
    spdlog::logger logger("test", makeJournalSink());
    logger.log(spdlog::source_loc{"job.cc", 42, "onBatchDelivered"}, spdlog::level::info, "x");
  });
  SKIP_IF_NO_NAMESPACES(out);
  ASSERT_EQ(out.datagrams.size(), 1u);
  const auto fields = parseNative(out.datagrams[0]);
  EXPECT_EQ(field(fields, "CODE_FILE"), "job.cc");
  EXPECT_EQ(field(fields, "CODE_LINE"), "42");
  EXPECT_EQ(field(fields, "CODE_FUNC"), "onBatchDelivered");
}

TEST(JournalSink, FallsBackToStderrWhenJournaldRefuses) {
  // (With no socket file at all, libsystemd drops records silently by design: there is no
  // journal on the host. A stale socket is a journald that is stopping or restarting.)
  const auto out = runWithPrivateRun(Journald::Stopped, 0, [] {
    spdlog::logger logger("test", makeJournalSink());
    logger.warn("journald is away region=us");
  });
  SKIP_IF_NO_NAMESPACES(out);
  EXPECT_EQ(out.stderr_text, "<4>journald is away region=us\n");
}

}  // namespace
}  // namespace audit::daemon::systemd
