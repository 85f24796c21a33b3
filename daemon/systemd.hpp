#pragma once
// The daemon's side of systemd (docs/systemd.md): sd_notify messages, socket activation and the
// watchdog interval. Every function is a cheap no-op when not started by systemd.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace audit::daemon::systemd {

void notifyReady();
void notifyStatus(std::string_view status);
void notifyWatchdog();
void notifyStopping();
/** RELOADING=1 with MONOTONIC_USEC as systemd 253+ expects; READY=1 follows the reload. */
void notifyReloading();

/** Half of WatchdogSec when the watchdog is on for this process (the ping cadence). */
std::optional<std::chrono::microseconds> watchdogPingInterval();

/** Listening unix stream sockets passed by socket activation (LISTEN_FDS), consumed once. */
std::vector<int> takeListenFds();

/** True when stderr is connected to the journal (JOURNAL_STREAM matches), so logs go there. */
bool stderrIsJournal();

}  // namespace audit::daemon::systemd
