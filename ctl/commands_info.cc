// webhook-status, stats, ping and jwks: read-only questions to the daemon.

#include <boost/json/serialize.hpp>

#include "ctl/context.hpp"
#include "ctl/job_view.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

const json::object* objectMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// Asks each region of `stats` on its own: for a daemon whose webhook_status needs a region.
CallStatus webhooksByRegion(const Context& ctx, ControlClient& client,
                            std::vector<json::object>* webhooks) {
  json::object stats_response;
  auto status =
      request(ctx, client, {{"op", protocol::toString(protocol::Op::Stats)}}, &stats_response);
  if (status != CallStatus::Ok) return status;
  const json::object* stats = objectMember(stats_response, "stats");
  const json::object* regions = stats != nullptr ? objectMember(*stats, "regions") : nullptr;
  if (regions == nullptr) return CallStatus::Ok;
  for (const auto& entry : *regions) {
    json::object response;
    status =
        request(ctx, client,
                {{"op", protocol::toString(protocol::Op::WebhookStatus)}, {"region", entry.key()}},
                &response);
    if (status != CallStatus::Ok) return status;
    if (const json::object* w = objectMember(response, "webhook")) webhooks->push_back(*w);
  }
  return CallStatus::Ok;
}

}  // namespace

int runWebhookStatus(const Context& ctx, const ParsedArgs& args) {
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  EpochMillis now = ctx.clock->nowMillis();
  json::object response;

  if (auto region = args.value("--region")) {
    auto status = request(
        ctx, *client,
        {{"op", protocol::toString(protocol::Op::WebhookStatus)}, {"region", *region}}, &response);
    if (status != CallStatus::Ok) return exitCodeOf(status);
    if (ctx.json) {
      printJson(ctx, response);
    } else if (const json::object* w = objectMember(response, "webhook")) {
      ctx.out << formatWebhookDetails(*w, now) << std::flush;
    }
    return kExitOk;
  }

  // Without a region the daemon lists all; if it insists on a region (a 400), ask per
  // region from stats instead, and answer --json in the listing's shape either way.
  std::vector<json::object> webhooks;
  auto listed = client->call(json::object{{"op", protocol::toString(protocol::Op::WebhookStatus)}});
  if (!listed) {
    printError(ctx,
               "lost connection to audit-replayd at " + ctx.socket_path + ": " + listed.message());
    return kExitUnreachable;
  }
  response = std::move(*listed);
  const json::value* list = response.if_contains("webhooks");
  if (isOk(response) && list != nullptr && list->is_array()) {
    for (const auto& w : list->get_array()) {
      if (w.is_object()) webhooks.push_back(w.get_object());
    }
  } else {
    auto status = webhooksByRegion(ctx, *client, &webhooks);
    if (status != CallStatus::Ok) return exitCodeOf(status);
    json::array array;
    for (const auto& w : webhooks) array.push_back(w);
    response = json::object{{"ok", true}, {"code", 200}, {"webhooks", std::move(array)}};
  }
  if (ctx.json) {
    printJson(ctx, response);
  } else if (webhooks.empty()) {
    ctx.out << "no regions configured\n" << std::flush;
  } else {
    ctx.out << formatWebhookTable(webhooks, now) << std::flush;
  }
  return kExitOk;
}

int runStats(const Context& ctx, const ParsedArgs&) {
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  auto status = request(ctx, *client, {{"op", protocol::toString(protocol::Op::Stats)}}, &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
  } else if (const json::object* stats = objectMember(response, "stats")) {
    ctx.out << formatStats(*stats) << std::flush;
  }
  return kExitOk;
}

int runPing(const Context& ctx, const ParsedArgs&) {
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  auto status = request(ctx, *client, {{"op", protocol::toString(protocol::Op::Ping)}}, &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
  } else {
    ctx.out << "audit-replayd at " << ctx.socket_path << " is up\n" << std::flush;
  }
  return kExitOk;
}

int runJwks(const Context& ctx, const ParsedArgs&) {
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  auto status = request(ctx, *client, {{"op", protocol::toString(protocol::Op::Jwks)}}, &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
    return kExitOk;
  }
  // The key set as a file `verify --jwks` reads: {"keys":[…]}, whether the daemon nests it
  // under "jwks" or answers with "keys" directly.
  if (const json::object* jwks = objectMember(response, "jwks")) {
    ctx.out << json::serialize(*jwks) << '\n' << std::flush;
  } else if (const json::value* keys = response.if_contains("keys")) {
    ctx.out << json::serialize(json::object{{"keys", *keys}}) << '\n' << std::flush;
  } else {
    ctx.out << R"({"keys":[]})" << '\n' << std::flush;
  }
  return kExitOk;
}

}  // namespace audit::ctl
