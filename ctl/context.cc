#include "ctl/context.hpp"

#include <boost/json/serialize.hpp>
#include <cerrno>

#include "ctl/job_view.hpp"

namespace audit::ctl {

void printError(const Context& ctx, std::string_view message) {
  ctx.err << "audit-replayctl: " << message << '\n' << std::flush;
}

int usageError(const Context& ctx, std::string_view command, std::string_view message) {
  printError(ctx, message);
  ctx.err << "Try 'audit-replayctl " << command << (command.empty() ? "" : " ") << "--help'.\n"
          << std::flush;
  return kExitUsage;
}

void printJson(const Context& ctx, const boost::json::object& object) {
  ctx.out << boost::json::serialize(object) << '\n' << std::flush;
}

std::unique_ptr<ControlClient> connectOrReport(const Context& ctx) {
  auto client = std::make_unique<ControlClient>(ctx.socket_path);
  if (auto connected = client->connect(); !connected) {
    const int code = client->connectErrno();
    if (code == EACCES || code == EPERM) {
      // The socket (0660) and /run/audit-replay belong to the service's group.
      printError(ctx, "cannot open " + ctx.socket_path +
                          ": permission denied: add yourself to group audit-replay "
                          "(sudo adduser $USER audit-replay, then log in again)");
    } else {
      printError(ctx, "cannot reach audit-replayd at " + ctx.socket_path + ": " +
                          connected.message() + " \u2014 is it running?");
    }
    return nullptr;
  }
  return client;
}

CallStatus request(const Context& ctx, ControlClient& client, const boost::json::object& req,
                   boost::json::object* response) {
  auto answer = client.call(req);
  if (!answer) {
    printError(ctx,
               "lost connection to audit-replayd at " + ctx.socket_path + ": " + answer.message());
    return CallStatus::Unreachable;
  }
  *response = std::move(*answer);
  if (isOk(*response)) return CallStatus::Ok;
  reportRefusal(ctx, *response);
  return CallStatus::Refused;
}

bool isOk(const boost::json::object& response) {
  const boost::json::value* ok = response.if_contains("ok");
  return ok != nullptr && ok->is_bool() && ok->get_bool();
}

void reportRefusal(const Context& ctx, const boost::json::object& response) {
  if (ctx.json) printJson(ctx, response);
  std::string message = stringField(response, "error");
  std::string code = stringField(response, "code");
  printError(ctx, (message.empty() ? std::string("request refused") : message) +
                      (code.empty() ? "" : " (code " + code + ")"));
}

int exitCodeOf(CallStatus status) {
  switch (status) {
    case CallStatus::Ok:
      return kExitOk;
    case CallStatus::Refused:
      return kExitFailed;
    case CallStatus::Unreachable:
      return kExitUnreachable;
  }
  return kExitFailed;
}

}  // namespace audit::ctl
