#pragma once
// The program as a function: arguments in, exit code out, output to the context's streams.
// main() only builds the context; tests call run() directly for everything that needs no
// terminal or process of its own.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"
#include "ctl/args.hpp"
#include "ctl/context.hpp"

namespace audit::ctl {

/** Read when neither --socket nor --config is given, if it exists. */
inline constexpr std::string_view kDefaultConfigPath = "/etc/audit-replay/config.yaml";
/** Used when the default config is absent or cannot be read (a user outside the service's
 *  group): the packaged daemon's socket. */
inline constexpr std::string_view kFallbackSocket = "/run/audit-replay/control.sock";

/** Runs one invocation; `argv` excludes the program name. */
int run(std::span<const std::string> argv, Context ctx);

/**
 * The control socket: --socket; else control.socket of --config (or of the default config
 * file when it exists); else ./var/run/control.sock. a failure (every config
 * error, one per line) when the config does not load.
 */
Expected<std::string> resolveSocketPath(const ParsedArgs& args,
                                        std::string_view default_config = kDefaultConfigPath);

std::string globalHelp();
/** A command's usage, options and examples. */
std::string commandHelp(std::string_view command);

}  // namespace audit::ctl
