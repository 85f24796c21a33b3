#pragma once
// spdlog set up from `log:` (docs/configuration.md): text or JSON lines on stderr, or the journal
// with structured fields when stderr is connected to it. Never log a secret: Authorization values
// and tokens are not passed to any log call in this code base.

#include "config/config.hpp"

namespace audit::daemon {

/** Installs the default logger. Call once, early in main. */
void setupLogging(const config::LogSettings& settings);

/** Applies a reloaded level and format. */
void applyLogSettings(const config::LogSettings& settings);

}  // namespace audit::daemon
