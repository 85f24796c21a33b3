#include "ctl/args.hpp"

#include <algorithm>

namespace audit::ctl {

namespace {

constexpr bool kValue = true;
constexpr bool kFlag = false;
constexpr bool kRequired = true;

// Listed per command for completeness; parseArgs accepts --json anywhere.
const OptionSpec kJson{"--json", kFlag};

// Edit distance (insertions, deletions, substitutions, adjacent swaps) for typo hints.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string unknownCommand(std::string_view name) {
  std::string message = "unknown command '" + std::string(name) + "'";
  if (auto suggestion = closestCommand(name)) message += "; did you mean '" + *suggestion + "'?";
  return message;
}

}  // namespace

std::optional<std::string> closestCommand(std::string_view name) {
  const CommandSpec* best = nullptr;
  std::size_t best_distance = 0;
  for (const auto& spec : commandSpecs()) {
    const std::size_t distance = editDistance(name, spec.name);
    if (best == nullptr || distance < best_distance) {
      best = &spec;
      best_distance = distance;
    }
  }
  // Close enough to be a typo: at most 2 edits, and fewer than half the word's letters;
  // a prefix of one command only ("web" for webhook-status) counts too.
  if (best != nullptr && best_distance <= 2 && best_distance * 2 < name.size()) {
    return std::string(best->name);
  }
  const CommandSpec* prefixed = nullptr;
  for (const auto& spec : commandSpecs()) {
    if (name.size() >= 2 && spec.name.starts_with(name)) {
      if (prefixed != nullptr) return std::nullopt;
      prefixed = &spec;
    }
  }
  if (prefixed != nullptr) return std::string(prefixed->name);
  return std::nullopt;
}

const std::vector<CommandSpec>& commandSpecs() {
  static const std::vector<CommandSpec> specs = {
      {.name = "replay",
       .summary = "create a replay job for a region's time range",
       .options = {{"--region", kValue, kRequired},
                   {"--start", kValue},
                   {"--end", kValue},
                   {"--since", kValue},
                   {"--until", kValue},
                   {"--wait", kFlag},
                   {"--interval", kValue},
                   kJson}},
      {.name = "status",
       .summary = "show the replay jobs, or one region's job in detail",
       .options = {{"--region", kValue}, kJson}},
      {.name = "watch",
       .summary = "follow a region's job with a live progress bar until it ends",
       .options = {{"--region", kValue, kRequired}, {"--interval", kValue}, kJson}},
      {.name = "cancel",
       .summary = "cancel a region's job",
       .options = {{"--region", kValue, kRequired}, kJson}},
      {.name = "webhook-status",
       .summary = "show the webhook status of one or all regions",
       .options = {{"--region", kValue}, kJson}},
      {.name = "webhook",
       .summary = "show, change or reset a region's webhook settings",
       .options = {{"--region", kValue},
                   {"--endpoint", kValue},
                   {"--enabled", kValue},
                   {"--log-format", kValue},
                   {"--skip-ssl-verification", kValue},
                   {"--authorization-file", kValue},
                   kJson},
       .min_positional = 1,
       .max_positional = 1,
       .positional_name = "show|set|reset"},
      {.name = "forward",
       .summary = "show, pause or resume a region's forwarding",
       .options = {{"--region", kValue}, kJson},
       .min_positional = 1,
       .max_positional = 1,
       .positional_name = "status|pause|resume"},
      {.name = "stats", .summary = "show the daemon's counters", .options = {kJson}},
      {.name = "ping", .summary = "check that the daemon answers", .options = {kJson}},
      {.name = "jwks", .summary = "print the public signing keys (JWKS)", .options = {kJson}},
      {.name = "ingest",
       .summary = "store NDJSON events from a file or stdin",
       .options = {{"--region", kValue, kRequired}, {"--skip-invalid", kFlag}, kJson},
       .min_positional = 1,
       .max_positional = 1,
       .positional_name = "FILE|-"},
      {.name = "export",
       .summary = "write a range as the webhook would receive it, to a file or stdout",
       .options = {{"--region", kValue, kRequired},
                   {"--start", kValue},
                   {"--end", kValue},
                   {"--since", kValue},
                   {"--until", kValue},
                   {"--format", kValue},
                   {"--gzip", kFlag},
                   {"-o", kValue},
                   kJson}},
      {.name = "verify",
       .summary = "check the Ed25519 signatures of delivered events",
       .options = {{"--jwks", kValue, kRequired}, {"--format", kValue}, kJson},
       .min_positional = 1,
       .max_positional = 1,
       .positional_name = "EVENTS|-",
       .needs_daemon = false},
      {.name = "help",
       .summary = "show help for a command",
       .max_positional = 1,
       .positional_name = "COMMAND",
       .needs_daemon = false},
  };
  return specs;
}

const CommandSpec* findCommand(std::string_view name) {
  for (const auto& spec : commandSpecs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

ParseResult parseArgs(std::span<const std::string> argv) {
  ParsedArgs out;
  const CommandSpec* spec = nullptr;
  bool options_ended = false;
  auto fail = [&out](std::string message) {
    return ParseResult{std::nullopt, std::move(message), out.command == "help" ? "" : out.command};
  };

  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    bool looks_like_option = !options_ended && arg.size() > 1 && arg[0] == '-';
    if (!looks_like_option) {
      if (spec == nullptr) {
        spec = findCommand(arg);
        if (spec == nullptr) return fail(unknownCommand(arg));
        out.command = arg;
      } else {
        out.positional.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.starts_with("--")) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    // Takes the option's value from "--name=value" or the next argument.
    auto takeValue = [&](std::string& value) -> bool {
      if (inline_value) {
        value = *inline_value;
        return true;
      }
      if (i + 1 >= argv.size() || argv[i + 1].starts_with("--")) return false;
      value = argv[++i];
      return true;
    };

    if (name == "--socket" || name == "--config") {
      auto& slot = name == "--socket" ? out.socket : out.config;
      if (slot) return fail(name + " given twice");
      std::string value;
      if (!takeValue(value) || value.empty()) return fail(name + " needs a value");
      slot = std::move(value);
      continue;
    }
    if (name == "--json") {
      // Global, so a script can put it anywhere.
      if (inline_value) return fail("--json takes no value");
      out.options.insert_or_assign("--json", "");
      continue;
    }
    if (spec == nullptr) {
      return fail("unknown option " + name + " (a command's options follow the command)");
    }
    const OptionSpec* option = nullptr;
    for (const auto& candidate : spec->options) {
      if (candidate.name == name) option = &candidate;
    }
    if (option == nullptr) {
      return fail("unknown option " + name + " for " + std::string(spec->name));
    }
    if (out.has(name)) return fail(name + " given twice");
    std::string value;
    if (option->takes_value) {
      if (!takeValue(value) || value.empty()) return fail(name + " needs a value");
    } else if (inline_value) {
      return fail(name + " takes no value");
    }
    out.options.emplace(name, std::move(value));
  }

  if (out.socket && out.config) return fail("give either --socket or --config, not both");
  if (out.command == "help") {
    // "help replay" is "replay --help".
    out.help = true;
    out.command = out.positional.empty() ? "" : out.positional.front();
    out.positional.clear();
    if (!out.command.empty() && findCommand(out.command) == nullptr) {
      std::string unknown = std::move(out.command);
      out.command.clear();
      return fail(unknownCommand(unknown));
    }
    return ParseResult{std::move(out), {}, {}};
  }
  if (out.help || out.version) return ParseResult{std::move(out), {}, {}};
  if (spec == nullptr) return fail("no command given");

  if (out.positional.size() > spec->max_positional) {
    return fail("unexpected argument '" + out.positional[spec->max_positional] + "' for " +
                std::string(spec->name));
  }
  if (out.positional.size() < spec->min_positional) {
    return fail(std::string(spec->name) + " needs " + std::string(spec->positional_name));
  }
  for (const auto& option : spec->options) {
    if (option.required && !out.has(option.name)) {
      return fail(std::string(spec->name) + " needs " + std::string(option.name));
    }
  }
  return ParseResult{std::move(out), {}, {}};
}

}  // namespace audit::ctl
