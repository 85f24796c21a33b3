#include "ctl/args.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "common/rfc3339.hpp"
#include "ctl/cli.hpp"
#include "ctl/time_range.hpp"

namespace audit::ctl {
namespace {

ParseResult parse(std::vector<std::string> args) {
  return parseArgs(args);
}

TEST(Args, ParsesCommandOptionsAndGlobals) {
  auto r = parse(
      {"--socket", "/run/x.sock", "replay", "--region=us", "--since", "2h", "--wait", "--json"});
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_EQ(r.args->command, "replay");
  EXPECT_EQ(r.args->socket, "/run/x.sock");
  EXPECT_EQ(r.args->value("--region"), "us");
  EXPECT_EQ(r.args->value("--since"), "2h");
  EXPECT_TRUE(r.args->has("--wait"));
  EXPECT_TRUE(r.args->has("--json"));
  EXPECT_FALSE(r.args->has("--until"));
}

TEST(Args, UnknownCommandSuggestsTheClosestOne) {
  EXPECT_EQ(closestCommand("stauts"), "status");
  EXPECT_EQ(closestCommand("replya"), "replay");
  EXPECT_EQ(closestCommand("cancle"), "cancel");
  EXPECT_EQ(closestCommand("webhook-stats"), "webhook-status");
  EXPECT_EQ(closestCommand("webhok"), "webhook");
  EXPECT_EQ(closestCommand("pnig"), "ping");
  EXPECT_EQ(closestCommand("frobnicate"), std::nullopt);
  EXPECT_EQ(closestCommand("x"), std::nullopt);
  auto r = parse({"wacth", "--region", "us"});
  ASSERT_FALSE(r.args);
  EXPECT_EQ(r.error, "unknown command 'wacth'; did you mean 'watch'?");
  r = parse({"help", "ingets"});
  ASSERT_FALSE(r.args);
  EXPECT_EQ(r.error, "unknown command 'ingets'; did you mean 'ingest'?");
  r = parse({"frobnicate"});
  EXPECT_EQ(r.error, "unknown command 'frobnicate'");
}

TEST(Args, AcceptsGlobalOptionsAfterTheCommand) {
  auto r = parse({"--json", "stats", "--config", "/etc/a.yaml"});
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_EQ(r.args->config, "/etc/a.yaml");
  EXPECT_TRUE(r.args->has("--json"));
}

TEST(Args, TakesDashAsAPositional) {
  auto r = parse({"ingest", "--region", "us", "-"});
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_EQ(r.args->positional, std::vector<std::string>{"-"});
}

TEST(Args, DoubleDashEndsOptions) {
  auto r = parse({"ingest", "--region", "us", "--", "--odd-name.ndjson"});
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_EQ(r.args->positional, std::vector<std::string>{"--odd-name.ndjson"});
}

TEST(Args, ReportsUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const Case cases[] = {
      {{}, "no command given"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"replay", "--regoin", "us"}, "unknown option --regoin for replay"},
      {{"replay", "--region"}, "--region needs a value"},
      {{"replay", "--region", "--wait"}, "--region needs a value"},
      {{"replay", "--since", "2h"}, "replay needs --region"},
      {{"status", "--region", "us", "--region", "eu"}, "--region given twice"},
      {{"stats", "extra"}, "unexpected argument 'extra' for stats"},
      {{"ingest", "--region", "us"}, "ingest needs FILE|-"},
      {{"replay", "--region", "us", "--wait=yes"}, "--wait takes no value"},
      {{"--socket", "a", "--config", "b", "stats"}, "give either --socket or --config, not both"},
      {{"--region", "us", "status"},
       "unknown option --region (a command's options follow the command)"},
      {{"help", "nope"}, "unknown command 'nope'"},
  };
  for (const auto& c : cases) {
    auto r = parseArgs(c.args);
    EXPECT_FALSE(r.args) << c.error;
    EXPECT_EQ(r.error, c.error);
  }
}

TEST(Args, HelpNeedsNothingElse) {
  auto r = parse({"replay", "--help"});
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_TRUE(r.args->help);
  EXPECT_EQ(r.args->command, "replay");
  r = parse({"help", "ingest"});
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_TRUE(r.args->help);
  EXPECT_EQ(r.args->command, "ingest");
}

// In-process runs: usage errors never reach the socket.
struct Ran {
  int code;
  std::string out;
  std::string err;
};
Ran runArgs(std::vector<std::string> args) {
  std::ostringstream out, err;
  Context ctx{.out = out, .err = err};
  int code = run(args, ctx);
  return {code, out.str(), err.str()};
}

TEST(Cli, UsageErrorsExit2WithAHint) {
  auto r = runArgs(
      {"replay", "--region", "us", "--start", "yesterday", "--end", "2026-11-21T00:00:00Z"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad --start 'yesterday'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Try 'audit-replayctl replay --help'."), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  r = runArgs({"bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Try 'audit-replayctl --help'."), std::string::npos) << r.err;

  r = runArgs({"watch", "--region", "us", "--interval", "0s"});
  EXPECT_EQ(r.code, 2);
  r = runArgs({"verify", "--jwks", "k.json", "--format", "xml", "e.ndjson"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad --format 'xml'"), std::string::npos) << r.err;
}

TEST(Cli, HelpAndVersionExit0) {
  auto r = runArgs({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* command : {"replay", "status", "watch", "cancel", "webhook-status", "stats",
                              "jwks", "ingest", "verify"}) {
    EXPECT_NE(r.out.find(command), std::string::npos) << command;
    auto page = runArgs({command, "--help"});
    EXPECT_EQ(page.code, 0);
    EXPECT_NE(page.out.find("Usage: audit-replayctl "), std::string::npos) << command;
    EXPECT_NE(page.out.find("Example"), std::string::npos) << command;
    EXPECT_NE(page.out.find("Exit codes"), std::string::npos) << command;
  }
  r = runArgs({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("audit-replayctl ") + AUDIT_REPLAY_VERSION + "\n");
}

TEST(Cli, SocketComesFromOptionElseFallback) {
  auto r = parseArgs(std::vector<std::string>{"--socket", "/run/a.sock", "stats"});
  EXPECT_EQ(resolveSocketPath(*r.args, "/nonexistent/config.yaml").value(), "/run/a.sock");
  r = parseArgs(std::vector<std::string>{"stats"});
  EXPECT_EQ(resolveSocketPath(*r.args, "/nonexistent/config.yaml").value(),
            "/run/audit-replay/control.sock");
}

constexpr EpochMillis kNow = 1'795'000'000'500;  // 2026-11-18T...:20.500Z

ParsedArgs replayArgs(std::vector<std::string> extra) {
  std::vector<std::string> args{"replay", "--region", "us"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = parseArgs(args);
  EXPECT_TRUE(r.args) << r.error;
  return *r.args;
}

TEST(TimeRange, PassesStartAndEndThroughUnchanged) {
  auto range = resolveTimeRange(
      replayArgs({"--start", "2026-11-20T21:00:00+01:00", "--end", "2026-11-21T20:00:00Z"}), kNow);
  ASSERT_TRUE(range) << range.message();
  EXPECT_EQ(range->start_at, "2026-11-20T21:00:00+01:00");
  EXPECT_EQ(range->end_at, "2026-11-21T20:00:00Z");
}

TEST(TimeRange, SinceIsADurationBeforeNowInWholeSeconds) {
  auto range = resolveTimeRange(replayArgs({"--since", "2h"}), kNow);
  ASSERT_TRUE(range) << range.message();
  EXPECT_EQ(range->start_at, formatRfc3339(kNow - 500 - 7'200'000));
  EXPECT_EQ(range->end_at, formatRfc3339(kNow - 500));
  EXPECT_EQ(range->end_at.find('.'), std::string::npos);
}

TEST(TimeRange, UntilTakesADurationOrATime) {
  auto range = resolveTimeRange(replayArgs({"--since", "1d", "--until", "12h"}), kNow);
  ASSERT_TRUE(range) << range.message();
  EXPECT_EQ(range->end_at, formatRfc3339(kNow - 500 - 43'200'000));
  range = resolveTimeRange(
      replayArgs({"--since", "2026-11-01T00:00:00Z", "--until", "2026-11-02T00:00:00Z"}), kNow);
  ASSERT_TRUE(range) << range.message();
  EXPECT_EQ(range->start_at, "2026-11-01T00:00:00Z");
  EXPECT_EQ(range->end_at, "2026-11-02T00:00:00Z");
}

TEST(TimeRange, RefusesBadCombinationsAndTimes) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const Case cases[] = {
      {{}, "replay needs --start and --end, or --since"},
      {{"--start", "2026-11-20T20:00:00Z"}, "replay needs --start and --end, or --since"},
      {{"--since", "2h", "--start", "2026-11-20T20:00:00Z"},
       "give either --start/--end or --since/--until, not both"},
      {{"--until", "1h"}, "--until needs --since"},
      {{"--since", "2 hours"},
       "bad --since '2 hours': expected a duration like 2h or an RFC 3339 time"},
      {{"--since", "1h", "--until", "2h"}, "--until is before --since"},
      {{"--since", "1h", "--until", "later"},
       "bad --until 'later': expected a duration like 30m or an RFC 3339 time"},
      {{"--start", "2026-11-20 20:00:00", "--end", "2026-11-21T20:00:00Z"},
       "bad --start '2026-11-20 20:00:00': expected RFC 3339 with a zone, e.g. "
       "2026-11-20T20:00:00Z"},
      {{"--start", "2026-11-20T20:00:00Z", "--end", "2026-11-21T20:00:00"},
       "bad --end '2026-11-21T20:00:00': expected RFC 3339 with a zone, e.g. 2026-11-21T20:00:00Z"},
      {{"--start", "2026-11-21T20:00:00Z", "--end", "2026-11-20T20:00:00Z"},
       "--end is before --start"},
  };
  for (const auto& c : cases) {
    auto range = resolveTimeRange(replayArgs(c.args), kNow);
    ASSERT_FALSE(range) << c.error;
    EXPECT_EQ(range.message(), c.error);
  }
}

TEST(TimeRange, AWholeSecondEndCoversItsSecond) {
  // The end's second includes .500, so this one-instant range is valid (docs/http-api.md).
  auto range = resolveTimeRange(
      replayArgs({"--start", "2026-11-20T20:00:00.500Z", "--end", "2026-11-20T20:00:00Z"}), kNow);
  EXPECT_TRUE(range) << range.message();
}

}  // namespace
}  // namespace audit::ctl
