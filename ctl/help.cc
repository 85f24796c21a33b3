// The --help texts. Each command's page ends with examples an operator can paste.

#include "ctl/cli.hpp"

namespace audit::ctl {

namespace {

constexpr std::string_view kGlobalOptions = R"(Global options (before or after the command):
  --socket PATH    the daemon's control socket
  --config FILE    read control.socket from the daemon's configuration file
                   (default: /etc/audit-replay/config.yaml if it can be
                   read, else /run/audit-replay/control.sock)
  --json           print the daemon's answers as JSON, one object a line
  -h, --help       show help (also: audit-replayctl help COMMAND)
  --version        print the version
)";

constexpr std::string_view kExitCodes = R"(Exit codes:
  0  success
  1  the job failed (watch, replay --wait), the daemon refused the request,
     or a signature did not verify
  2  usage error: unknown command or option, missing argument, bad time
  3  the daemon cannot be reached
)";

struct Page {
  std::string_view command;
  std::string_view text;
};

constexpr Page kPages[] = {
    {"replay",
     R"(Usage: audit-replayctl replay --region R (--start T --end T | --since T [--until T])
                              [--wait [--interval D]] [--json]

Creates a replay job: every stored event of the range is sent to the region's
webhook. It replaces the region's previous job unless that one is running.

Options:
  --region R      the region (required)
  --start T       first instant, RFC 3339 with a zone: 2026-11-20T20:00:00Z
  --end T         last instant, inclusive; a whole second covers all of it
  --since T       a duration ago (30m, 2h, 7d) or an RFC 3339 time
  --until T       same forms; default now (only with --since)
  --wait          follow the job like 'watch' until it ends; exit 1 if it fails
  --interval D    how often --wait asks for progress (default 500ms)
  --json          print the daemon's answer as JSON

Examples:
  audit-replayctl replay --region us --start 2026-11-20T20:00:00Z --end 2026-11-21T20:00:00Z
  audit-replayctl replay --region eu --since 2h --wait
  audit-replayctl replay --region us --since 1d --until 12h --json
)"},
    {"status", R"(Usage: audit-replayctl status [--region R] [--json]

Without --region, a table of every region's job: REGION STATUS PROGRESS RANGE UPDATED.
With --region, that job in detail, including why it failed.

Examples:
  audit-replayctl status
  audit-replayctl status --region us
  audit-replayctl status --json | jq '.jobs[] | select(.status == "failed")'
)"},
    {"watch", R"(Usage: audit-replayctl watch --region R [--interval D] [--json]

Follows a region's job until it ends. On a terminal a progress bar is redrawn in
place:
  [#######.....]  64,000/120,000  53%  41,200 ev/s  ETA 0:02  running
otherwise a plain line is printed every 5 s. Ends with a one-line summary; exits
0 when the job completed, 1 when it failed (with the reason and the webhook's last
response code). If the daemon restarts, watch keeps asking for 30 s. Ctrl-C stops
watching, not the job.

Options:
  --region R      the region (required)
  --interval D    how often to ask (default 500ms)
  --json          print the daemon's answer every 5 s and at the end

Examples:
  audit-replayctl watch --region us
  audit-replayctl watch --region us > replay.log
)"},
    {"cancel", R"(Usage: audit-replayctl cancel --region R [--json]

Cancels the region's job: an accepted, pending or running job becomes failed with
the reason "canceled". A job that already ended is refused (exit 1).

Example:
  audit-replayctl cancel --region us
)"},
    {"webhook-status", R"(Usage: audit-replayctl webhook-status [--region R] [--json]

The webhook status as Konnect shows it: enabled, active/inactive/unconfigured, the
last attempt, its response code and message. Without --region, every region.

Examples:
  audit-replayctl webhook-status
  audit-replayctl webhook-status --region eu --json
)"},
    {"webhook", R"(Usage: audit-replayctl webhook show|set|reset [--region R] [options] [--json]

A region's webhook settings as the daemon uses them: endpoint, enabled, log_format,
skip_ssl_verification, when they last changed and whether they come from the
configuration file or were changed over the API (the authorization is never shown).

  show     the settings in force
  set      change some of them; stored by the daemon and kept across restarts and
           reloads, applied from the next batch, until 'webhook reset'
  reset    drop the changes: the configuration file's settings apply again

set options:
  --endpoint URL                  http:// or https:// URL
  --enabled true|false
  --log-format json|cef|cps
  --skip-ssl-verification true|false
  --authorization-file FILE       the Authorization header value: the file's first line

Examples:
  audit-replayctl webhook show --region us
  audit-replayctl webhook set --region us --enabled false
  audit-replayctl webhook reset --region us
)"},
    {"forward", R"(Usage: audit-replayctl forward status|pause|resume [--region R] [--json]

A region's forwarding: every event stored for it delivered to its webhook as it arrives
(regions.R.forward.enabled), caught up after an outage.

  status   state (following, catching_up, retrying, paused, disabled) and why, the
           time of the last event forwarded, lag, backlog, totals and gaps
  pause    stop delivering; stored, so it holds across restarts until resume
  resume   continue: ends a pause by the operator or by a non-retryable answer

Without --region, the only configured region.

Examples:
  audit-replayctl forward status --region us
  audit-replayctl forward pause --region us
  audit-replayctl forward resume --region us --json
)"},
    {"stats", R"(Usage: audit-replayctl stats [--json]

The daemon's counters: uptime, events ingested and sent, batches, bytes, retries,
store size, and per region.

Example:
  audit-replayctl stats
)"},
    {"ping", R"(Usage: audit-replayctl ping [--json]

Checks that the daemon answers on its control socket: exit 0, or 3.

Example:
  audit-replayctl --socket /run/audit-replay/control.sock ping
)"},
    {"jwks", R"(Usage: audit-replayctl jwks [--json]

Prints the daemon's public signing keys as a JWKS document ({"keys":[…]}), the file
'verify --jwks' reads.

Example:
  audit-replayctl jwks > keys.json
)"},
    {"ingest", R"(Usage: audit-replayctl ingest --region R [--skip-invalid] [--json] FILE|-

Stores NDJSON events (one JSON object a line, with "rt" in epoch milliseconds or
"event_ts" in RFC 3339) in a region. The whole file is checked first: a bad line is
reported as FILE:LINE: reason and, without --skip-invalid, nothing is sent (exit 1).
Then the events are sent in chunks of at most 5000 lines and 8 MiB, so files of any
size use little memory. Ingest is idempotent: sending a file again after an
interruption stores nothing twice. '-' reads stdin, which is first copied to an
unlinked temporary file in $TMPDIR (default /tmp) so it can be read twice; a file
redirected with '<' is read in place. Progress shows on stderr when it is a terminal.

Options:
  --region R       the region (required)
  --skip-invalid   send the valid events and report the bad ones
  --json           print each chunk's answer as JSON

Examples:
  audit-replayctl ingest --region us events.ndjson
  zcat events.ndjson.gz | audit-replayctl ingest --region us -
  audit-replayctl ingest --region eu --skip-invalid export.ndjson
)"},
    {"verify", R"(Usage: audit-replayctl verify --jwks FILE [--format json|cef] [--json] EVENTS|-

Checks the Ed25519 signature ("sig") of each delivered event as a receiver does:
the signature is removed (JSON: ,"sig":"…"; CEF: a trailing " sig=…") and the
remaining bytes are verified against each key of the JWKS file. Prints each bad
line as EVENTS:LINE: reason and a summary; exit 0 only when every line verifies.
Without --format each line is taken as JSON if it starts with '{', else as CEF.
Needs no daemon.

Options:
  --jwks FILE      the public keys, {"keys":[{"kty":"OKP","crv":"Ed25519","x":…}]} (required)
  --format F       json or cef
  --json           one JSON object per bad line, then {"lines","valid","invalid"}

Examples:
  audit-replayctl jwks > keys.json
  audit-replayctl verify --jwks keys.json received.ndjson
  audit-replayctl verify --jwks keys.json --format cef - < received.cef
)"},
    {"export",
     R"(Usage: audit-replayctl export --region R (--start T --end T | --since D [--until T])
                              [--format json|cef|cps] [--gzip] [-o FILE] [--json]

Writes a range exactly as the webhook would receive it: the same encoder, batch
limits and signing, one event per line. The daemon reads and encodes; the command
never opens the store. With -o the file is written under a temporary name beside
FILE and renamed when complete, so FILE is either whole or absent; without -o the
events go to stdout. Progress is shown on stderr when it is a terminal.

Options:
  --region R       the region (required)
  --start, --end   RFC 3339 times, as for replay
  --since, --until a duration ago (2h, 30m) or an RFC 3339 time; --until defaults to now
  --format F       json, cef or cps (default: the region's webhook.log_format)
  --gzip           gzip the output (one gzip member per batch; zcat reads it whole)
  -o FILE          write to FILE instead of stdout
  --json           print a summary {"ok","events","bytes",…} (on stderr without -o)

Examples:
  audit-replayctl export --region us --since 24h -o us-last-day.ndjson
  audit-replayctl export --region us --start 2026-11-20T00:00:00Z \
      --end 2026-11-21T00:00:00Z --format cef --gzip -o us-2026-11-20.cef.gz
  audit-replayctl export --region us --since 1h | jq -c 'select(.action == "delete")'
)"},
    {"help", R"(Usage: audit-replayctl help [COMMAND]

Shows the help of a command, or the list of commands.
)"},
};

}  // namespace

std::string globalHelp() {
  std::string text =
      "Usage: audit-replayctl [--socket PATH | --config FILE] COMMAND [options]\n\n"
      "The operator's client of audit-replayd's control socket.\n\nCommands:\n";
  for (const auto& spec : commandSpecs()) {
    std::string name(spec.name);
    name.resize(16, ' ');
    text += "  " + name + std::string(spec.summary) + "\n";
  }
  text += "\n";
  text += kGlobalOptions;
  text += "\n";
  text += kExitCodes;
  text +=
      "\nExamples:\n"
      "  audit-replayctl replay --region us --since 2h --wait\n"
      "  audit-replayctl status\n"
      "  audit-replayctl --config /etc/audit-replay/config.yaml watch --region eu\n"
      "\n'audit-replayctl COMMAND --help' shows a command's options and examples.\n";
  return text;
}

std::string commandHelp(std::string_view command) {
  for (const auto& page : kPages) {
    if (page.command == command) {
      return std::string(page.text) + "\n" + std::string(kGlobalOptions) + "\n" +
             std::string(kExitCodes);
    }
  }
  return globalHelp();
}

}  // namespace audit::ctl
