#pragma once
// Command-line parsing: global options, the command, and its options, checked against a
// table of what each command accepts. Parsing never exits or prints; the caller turns an
// error into exit code 2 with a hint to --help.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace audit::ctl {

struct OptionSpec {
  std::string_view name{};  // "--region"
  bool takes_value = false;
  bool required = false;
};

struct CommandSpec {
  std::string_view name{};  // "replay"
  std::string_view summary{};
  std::vector<OptionSpec> options{};
  std::size_t min_positional = 0;
  std::size_t max_positional = 0;
  std::string_view positional_name{};  // "FILE|-"
  bool needs_daemon = true;
};

/** Every command, in the order --help lists them. */
const std::vector<CommandSpec>& commandSpecs();
const CommandSpec* findCommand(std::string_view name);
/** The command `name` is likely a typo of ("stauts" → "status"), or nullopt. */
std::optional<std::string> closestCommand(std::string_view name);

struct ParsedArgs {
  std::string command;  // empty with --help/--version alone
  std::optional<std::string> socket;
  std::optional<std::string> config;
  bool help = false;
  bool version = false;
  /** Options of the command by name ("--region" → "us"); flags map to "". */
  std::map<std::string, std::string, std::less<>> options;
  std::vector<std::string> positional;

  bool has(std::string_view name) const { return options.find(name) != options.end(); }
  /** The option's value, or nullopt when absent. */
  std::optional<std::string> value(std::string_view name) const;
};

struct ParseResult {
  std::optional<ParsedArgs> args;
  std::string error;    // set when !args: "unknown option --regoin for replay"
  std::string command;  // the command, when known, so the error can point to its --help
};

/**
 * Parses argv[1..]. Global options (--socket, --config, --help, --version) may come before
 * or after the command; "--name=value" and "--name value" are both accepted; "--" ends
 * options; "-" is a positional (stdin). An option given twice is an error.
 */
ParseResult parseArgs(std::span<const std::string> argv);

}  // namespace audit::ctl
