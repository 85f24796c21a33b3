#pragma once
// What every command gets: where to print, the socket, --json, and the clock; plus the
// request helper that turns transport failures and refusals into messages and exit codes
// the same way for all of them.

#include <boost/json/object.hpp>
#include <memory>
#include <ostream>
#include <string>

#include "common/clock.hpp"
#include "ctl/args.hpp"
#include "ctl/client.hpp"
#include "ctl/exit_code.hpp"

namespace audit::ctl {

struct Context {
  std::ostream& out;
  std::ostream& err;
  int out_fd = 1;  // for isatty() and the terminal width
  int err_fd = 2;
  int in_fd = 0;
  std::string socket_path{};
  bool json = false;
  ClockPtr clock = std::make_shared<RealClock>();
};

/** Prints "audit-replayctl: <message>" on stderr. */
void printError(const Context& ctx, std::string_view message);

/** Prints the error and "Try 'audit-replayctl COMMAND --help'."; @return 2. */
int usageError(const Context& ctx, std::string_view command, std::string_view message);

/** Prints `object` as one line of JSON on stdout. */
void printJson(const Context& ctx, const boost::json::object& object);

/**
 * Connects to the daemon, or prints "cannot reach audit-replayd at PATH: <why> — is it
 * running?" and returns nullptr (the caller exits 3).
 */
std::unique_ptr<ControlClient> connectOrReport(const Context& ctx);

/** Prints an ok:false answer: its error and code on stderr, and on stdout with --json. */
void reportRefusal(const Context& ctx, const boost::json::object& response);

/** True when the answer says {"ok":true}. */
bool isOk(const boost::json::object& response);

enum class CallStatus { Ok, Refused, Unreachable };

/**
 * One request. Ok: `response` holds {"ok":true,…}. Refused: the daemon's error was printed
 * (and, with --json, its answer on stdout). Unreachable: the broken connection was
 * reported. Never prints a successful answer; the command decides how.
 */
CallStatus request(const Context& ctx, ControlClient& client, const boost::json::object& req,
                   boost::json::object* response);

/** Ok → 0, Refused → 1, Unreachable → 3. */
int exitCodeOf(CallStatus status);

/** Commands, each returning its exit code. Defined in ctl/commands_*.cc and ctl/watch.cc. */
int runReplay(const Context& ctx, const ParsedArgs& args);
int runStatus(const Context& ctx, const ParsedArgs& args);
int runWatch(const Context& ctx, const ParsedArgs& args);
int runCancel(const Context& ctx, const ParsedArgs& args);
int runWebhookStatus(const Context& ctx, const ParsedArgs& args);
int runStats(const Context& ctx, const ParsedArgs& args);
int runPing(const Context& ctx, const ParsedArgs& args);
int runJwks(const Context& ctx, const ParsedArgs& args);
int runIngest(const Context& ctx, const ParsedArgs& args);
int runVerify(const Context& ctx, const ParsedArgs& args);
int runExport(const Context& ctx, const ParsedArgs& args);
int runWebhook(const Context& ctx, const ParsedArgs& args);
int runForward(const Context& ctx, const ParsedArgs& args);

}  // namespace audit::ctl
