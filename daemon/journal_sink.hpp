#pragma once
// Logging straight to journald (SPEC §9: "logs go to journald under systemd"), with the fields
// an operator filters by: `journalctl -u audit-replayd REGION=us` or `JOB_ID=9b2c…`.
//
// Log-line convention (the whole tree follows it): a line about a region or a job carries
// space-separated `key=value` tokens, e.g.
//
//   spdlog::warn("webhook answered 413 region=us job={}: lower batch.max_bytes", job_id);
//
// The sink lifts `region=X` into REGION=X and `job=Y` into JOB_ID=Y. A value ends at white
// space or one of `,;:)]}`; surrounding double quotes are dropped. The first token of each key
// wins. A key only counts at the start of a word (`subregion=x` is not a region).

#include <memory>
#include <optional>
#include <string_view>

#include "spdlog/sinks/sink.h"

namespace audit::daemon::systemd {

/** The journald identifier every record carries (SYSLOG_IDENTIFIER=). */
inline constexpr std::string_view kSyslogIdentifier = "audit-replayd";

/**
 * A sink that sends each record with sd_journal_sendv(3): MESSAGE (the payload, no timestamp or
 * level: journald stores both), PRIORITY from the level (trace/debug 7, info 6, warn 4, err 3,
 * critical 2), SYSLOG_IDENTIFIER=audit-replayd, REGION/JOB_ID per the convention above, and
 * CODE_FILE/CODE_LINE/CODE_FUNC when the call site is known. If journald refuses the record
 * (stopping or restarting, its queue full) it is written to stderr with a `<priority>` prefix
 * instead. With no journal socket at all, libsystemd drops records by design; the daemon only
 * picks this sink when stderrIsJournal(), i.e. when journald is there.
 * Thread-safe (spdlog's base_sink with a mutex).
 */
std::shared_ptr<spdlog::sinks::sink> makeJournalSink();

/**
 * The value of the first `key=value` token in `line` (see the convention above), or nullopt.
 * The view points into `line`.
 */
std::optional<std::string_view> findLogToken(std::string_view line, std::string_view key);

}  // namespace audit::daemon::systemd
