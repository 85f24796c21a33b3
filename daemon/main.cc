// audit-replayd: replays stored audit-log events to each region's webhook.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"
#include "daemon/memory.hpp"
#include "signing/jwks.hpp"
#include "signing/signer.hpp"

namespace {

constexpr const char* kUsage = R"(usage: audit-replayd [--config FILE] [--once] [--check-config]

Replays time ranges of stored audit-log events to each region's webhook.

options:
  --config FILE    YAML configuration (default: /etc/audit-replay/config.yaml; a missing
                   file is an error)
  --check-config   validate the configuration, print the result, exit 0 (valid) or 2
  --once           submit the config's jobs: and spooled requests, wait until they end,
                   exit 0 if all completed, 1 otherwise
  --version        print the version
  --help           this text

exit codes: 0 clean stop; 1 --once with a failed job; 2 configuration error;
            3 the store cannot be opened (locked, corrupt, no permission)
signals:    SIGTERM/SIGINT stop (jobs resume at the next start); SIGHUP reloads the config
)";

constexpr const char* kDefaultConfigFile = "/etc/audit-replay/config.yaml";

int usageError(const std::string& message) {
  std::fprintf(stderr, "audit-replayd: %s\n%s", message.c_str(), kUsage);
  return audit::daemon::kExitConfig;
}

}  // namespace

int main(int argc, char** argv) {
  audit::daemon::tuneAllocator();
  using namespace audit;
  daemon::DaemonOptions options;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("audit-replayd %s\n", AUDIT_REPLAY_VERSION);
      return 0;
    } else if (arg == "--config" || arg == "-c") {
      if (i + 1 >= argc) return usageError("--config needs a file");
      options.config_file = argv[++i];
    } else if (arg.starts_with("--config=")) {
      options.config_file = std::string(arg.substr(9));
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--once") {
      options.once = true;
    } else {
      return usageError("unknown argument " + std::string(arg));
    }
  }

  // Never a silent start on built-in paths: without --config the packaged file is read,
  // and a missing file is a configuration error like any other.
  if (options.config_file.empty()) options.config_file = kDefaultConfigFile;
  options.config_file = std::filesystem::absolute(options.config_file);
  config::LoadResult loaded = config::loadConfigFile(options.config_file);
  jobs::SigningKeys keys = jobs::loadSigningKeys(loaded, options.config_file.string());
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) {
      std::fprintf(stderr, "%s\n", config::redactUrlPasswords(e.toString()).c_str());
    }
    std::fprintf(stderr, "audit-replayd: %zu configuration error(s); nothing started\n",
                 loaded.errors.size());
    return daemon::kExitConfig;
  }
  if (check_only) {
    const config::Config& c = *loaded.config;
    std::printf("%s: configuration OK: %zu region(s), %zu job(s), data_dir %s%s\n",
                options.config_file.c_str(), c.regions.size(), c.jobs.size(), c.data_dir.c_str(),
                c.http ? (", http " + c.http->listen).c_str() : "");
    for (const auto& [name, region] : c.regions) {
      // The endpoint as configured, but a password in it is never printed.
      const std::string endpoint = region.webhook.configured()
                                       ? config::redactUrlPasswords(region.webhook.endpoint)
                                       : std::string("(unconfigured)");
      std::printf("  region %s: webhook %s, %s%s\n", name.c_str(), endpoint.c_str(),
                  config::toString(region.webhook.log_format),
                  region.webhook.enabled ? "" : ", disabled");
    }
    return 0;
  }

  daemon::setupLogging(loaded.config->log);
  return daemon::runDaemon(options, std::move(*loaded.config), std::move(keys));
}
