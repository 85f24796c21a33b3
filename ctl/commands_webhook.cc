// webhook show|set|reset: a region's webhook settings as the daemon uses them, changed over
// the control socket (stored by the daemon as the region's override of the config file,
// kept across restarts until reset).

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/expected.hpp"
#include "ctl/context.hpp"
#include "ctl/exit_code.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace json = boost::json;

namespace {

std::optional<bool> parseBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::string formatWebhook(const json::object& w) {
  auto text = [&](std::string_view key) -> std::string {
    const auto* v = w.if_contains(key);
    if (v == nullptr || v->is_null()) return "-";
    if (v->is_string()) return std::string(v->get_string());
    return json::serialize(*v);
  };
  std::string out;
  out += "region:                 " + text("region") + "\n";
  out += "endpoint:               " + text("endpoint") + "\n";
  out += "enabled:                " + text("enabled") + "\n";
  out += "log_format:             " + text("log_format") + "\n";
  out += "skip_ssl_verification:  " + text("skip_ssl_verification") + "\n";
  out += "updated_at:             " + text("updated_at") + "\n";
  const auto* overridden = w.if_contains("overridden");
  const bool changed = overridden != nullptr && overridden->is_bool() && overridden->get_bool();
  out += std::string("source:                 ") +
         (changed ? "changed over the API (webhook reset drops it)" : "configuration file") + "\n";
  return out;
}

// The first line of a file, without its line end: the authorization value, never typed on
// a command line where `ps` would show it.
Expected<std::string> readFirstLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Failure{"cannot read " + path + ": " + std::strerror(errno)};
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

int runWebhook(const Context& ctx, const ParsedArgs& args) {
  const std::string action = args.positional.empty() ? std::string() : args.positional.front();
  if (action != "show" && action != "set" && action != "reset") {
    return usageError(ctx, "webhook", "expected show, set or reset, got '" + action + "'");
  }
  json::object req;
  if (auto region = args.value("--region")) req["region"] = *region;
  if (action == "show") {
    req["op"] = protocol::toString(protocol::Op::GetWebhook);
  } else if (action == "reset") {
    req["op"] = protocol::toString(protocol::Op::ResetWebhook);
  } else {
    json::object changes;
    if (auto v = args.value("--endpoint")) changes["endpoint"] = *v;
    for (const auto& [option, key] :
         {std::pair{"--enabled", "enabled"},
          std::pair{"--skip-ssl-verification", "skip_ssl_verification"}}) {
      if (auto v = args.value(option)) {
        auto b = parseBool(*v);
        if (!b) return usageError(ctx, "webhook", std::string(option) + " takes true or false");
        changes[key] = *b;
      }
    }
    if (auto v = args.value("--log-format")) changes["log_format"] = *v;
    if (auto file = args.value("--authorization-file")) {
      auto value = readFirstLine(*file);
      if (!value) return usageError(ctx, "webhook", value.message());
      changes["authorization"] = *value;
    }
    if (changes.empty()) {
      return usageError(ctx, "webhook",
                        "set needs at least one of --endpoint, --enabled, --log-format, "
                        "--skip-ssl-verification, --authorization-file");
    }
    req["op"] = protocol::toString(protocol::Op::PatchWebhook);
    req["changes"] = std::move(changes);
  }
  auto client = connectOrReport(ctx);
  if (!client) return kExitUnreachable;
  json::object response;
  auto status = request(ctx, *client, req, &response);
  if (status != CallStatus::Ok) return exitCodeOf(status);
  if (ctx.json) {
    printJson(ctx, response);
  } else if (const auto* w = response.if_contains("webhook"); w != nullptr && w->is_object()) {
    ctx.out << formatWebhook(w->get_object()) << std::flush;
  }
  return kExitOk;
}

}  // namespace audit::ctl
