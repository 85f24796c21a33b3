#include "ctl/cli.hpp"

#include <unistd.h>

#include <filesystem>

#include "config/config.hpp"

namespace audit::ctl {

namespace {

using Runner = int (*)(const Context&, const ParsedArgs&);

Runner runnerOf(std::string_view command) {
  static const std::pair<std::string_view, Runner> kRunners[] = {
      {"replay", runReplay},
      {"status", runStatus},
      {"watch", runWatch},
      {"cancel", runCancel},
      {"webhook-status", runWebhookStatus},
      {"stats", runStats},
      {"ping", runPing},
      {"jwks", runJwks},
      {"ingest", runIngest},
      {"verify", runVerify},
      {"export", runExport},
      {"webhook", runWebhook},
      {"forward", runForward},
  };
  for (const auto& [name, runner] : kRunners) {
    if (name == command) return runner;
  }
  return nullptr;
}

}  // namespace

Expected<std::string> resolveSocketPath(const ParsedArgs& args, std::string_view default_config) {
  if (args.socket) return *args.socket;
  std::filesystem::path config_file;
  if (args.config) {
    config_file = *args.config;
  } else {
    // Absent, or not readable (/etc/audit-replay is the service group's): the package's socket.
    if (::access(std::string(default_config).c_str(), R_OK) != 0) {
      return std::string(kFallbackSocket);
    }
    config_file = default_config;
  }
  config::LoadResult loaded = config::loadConfigFile(config_file);
  if (!loaded.ok()) {
    std::string errors;
    for (const auto& e : loaded.errors) errors += (errors.empty() ? "" : "\n") + e.toString();
    if (errors.empty()) errors = config_file.string() + ": cannot be loaded";
    return Failure{std::move(errors)};
  }
  return loaded.config->control.socket.string();
}

int run(std::span<const std::string> argv, Context ctx) {
  ParseResult parsed = parseArgs(argv);
  if (!parsed.args) return usageError(ctx, parsed.command, parsed.error);
  const ParsedArgs& args = *parsed.args;

  if (args.help) {
    ctx.out << (args.command.empty() ? globalHelp() : commandHelp(args.command)) << std::flush;
    return kExitOk;
  }
  if (args.version) {
    ctx.out << "audit-replayctl " << AUDIT_REPLAY_VERSION << '\n' << std::flush;
    return kExitOk;
  }
  ctx.json = args.has("--json");
  const CommandSpec* spec = findCommand(args.command);
  if (spec->needs_daemon) {
    auto socket = resolveSocketPath(args);
    if (!socket) {
      printError(ctx, "cannot load the configuration:");
      ctx.err << socket.message() << '\n' << std::flush;
      return kExitUsage;
    }
    ctx.socket_path = *socket;
  }
  Runner runner = runnerOf(args.command);
  return runner(ctx, args);
}

}  // namespace audit::ctl
