#pragma once
// Logging straight to journald (docs/systemd.md: "logs go to journald under systemd"), with the
// fields an operator filters by: `journalctl -u audit-replayd REGION=us` or `JOB_ID=9b2c…`.
//
// Log-line convention (the whole tree follows it): a line about a region or a job carries
// space-separated `key=value` tokens, e.g.
//
//   spdlog::warn("webhook answered 413 region=us job={}: lower batch.max_bytes", job_id);
//
// The sink lifts `region=X` into REGION=X and `job=Y` into JOB_ID=Y, and likewise the other
// keys of kLogFields (attempt, status_code, endpoint, request_id); `log.format: json` makes
// the same tokens fields of each JSON line (logging.cc). A value ends at white
// space or one of `,;:)]}`; surrounding double quotes are dropped. The first token of each key
// wins. A key only counts at the start of a word (`subregion=x` is not a region).

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "spdlog/common.h"
#include "spdlog/sinks/sink.h"

namespace audit::daemon::systemd {

/** A token key of our log lines, the JSON field and journal field it becomes. */
struct LogFieldName {
  std::string_view token;    // in the message: `token=value`
  std::string_view json;     // field of a `log.format: json` line
  std::string_view journal;  // journald field
  bool numeric;              // a JSON number when the value is all digits
};

/** The fields lifted out of every message. `code=` and `last_response_code=` are status codes
 *  too; the first of them found wins. */
inline constexpr LogFieldName kLogFields[] = {
    {"region", "region", "REGION", false},
    {"job", "job", "JOB_ID", false},
    {"attempt", "attempt", "ATTEMPT", true},
    {"status_code", "status_code", "STATUS_CODE", true},
    {"last_response_code", "status_code", "STATUS_CODE", true},
    {"code", "status_code", "STATUS_CODE", true},
    {"endpoint", "endpoint", "ENDPOINT", false},
    {"request_id", "request_id", "REQUEST_ID", false},
};

struct LogField {
  const LogFieldName* name;
  std::string_view value;  // points into the message
};

/** The kLogFields found in `line`, each JSON field once, in kLogFields order. */
std::vector<LogField> findLogFields(std::string_view line);

/** The level as the configuration names it: trace, debug, info, warn, error, critical. */
std::string_view levelName(spdlog::level::level_enum level);

/** The journald identifier every record carries (SYSLOG_IDENTIFIER=). */
inline constexpr std::string_view kSyslogIdentifier = "audit-replayd";

/**
 * A sink that sends each record with sd_journal_sendv(3): MESSAGE (the payload, no timestamp or
 * level: journald stores both), PRIORITY from the level (trace/debug 7, info 6, warn 4, err 3,
 * critical 2), SYSLOG_IDENTIFIER=audit-replayd, REGION, JOB_ID, ATTEMPT, STATUS_CODE, ENDPOINT
 * and REQUEST_ID per the convention above, and
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
