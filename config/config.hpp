#pragma once
// The daemon's configuration (docs/configuration.md) as typed values with their defaults.
// Loading never throws: every problem found is returned together, each naming the key
// path and the file's line and column, so an operator fixes them in one pass.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace audit::config {

enum class LogLevel { Trace, Debug, Info, Warn, Error };
enum class LogFormat { Text, Json };
enum class EventFormat { Json, Cef, Cps };
enum class Compression { Gzip, None };

struct LogSettings {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;
};

struct ControlSettings {
  std::filesystem::path socket;  // default: <config dir>/var/run/control.sock
  std::uint32_t socket_mode = 0660;
  std::filesystem::path spool_dir;  // default: <config dir>/var/spool
  Millis poll_interval{1000};
  /** Control connections served at once; more are answered 503 and closed. The daemon
   *  lowers it at start when the descriptor limit would leave too few for the store. */
  std::size_t max_connections = 64;
  /** A connection with no request in flight and no byte received for this long is closed. */
  Millis idle_timeout{600'000};
  /** Total bytes of partial request lines held across all control connections. */
  std::size_t max_buffered = std::size_t{128} << 20;
};

/** `http.tls`: serve HTTPS with this certificate chain and key (PEM files). */
struct HttpTlsSettings {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};

struct HttpSettings {
  std::string listen = "127.0.0.1:8470";
  std::string host = "127.0.0.1";  // split out of `listen`
  std::uint16_t port = 8470;
  std::optional<std::filesystem::path> tokens_file;
  /** Explicit opt-out of authentication (`allow_unauthenticated: true`); refused otherwise. */
  bool allow_unauthenticated = false;
  bool metrics_public = false;
  /** POST /v2/audit-logs: the largest body, after decompression (`max_ingest_bytes`). */
  std::size_t max_ingest_bytes = 64u << 20;
  /** How long a connection that has not yet shown a valid token may wait between requests. */
  Millis unauthenticated_idle_timeout{5'000};
  /** Such connections one client address may hold; one more closes its oldest idle one. */
  std::size_t max_unauthenticated_per_client = 32;
  std::optional<HttpTlsSettings> tls;
};

struct SigningSettings {
  std::filesystem::path key_file;
  /** A JWKS file whose keys are served beside ours (a producer's own, e.g. Konnect's). */
  std::optional<std::filesystem::path> extra_jwks_file;
  /** Keep each delivered event's signature in the store and reuse it (`signing.cache`). */
  bool cache = false;
};

/** webhook.standard_webhooks: a Standard Webhooks signature on every request. */
struct StandardWebhooksSettings {
  std::filesystem::path secret_file;
  /** The `whsec_…` secret as written in the file (validated: base64 after the prefix). Secret. */
  std::string secret;
  /** true: `v1a,` Ed25519 with signing.key_file instead of `v1,` HMAC-SHA256. */
  bool asymmetric = false;
};

struct WebhookSettings {
  std::string endpoint;  // empty = unconfigured
  /** The Authorization header value, from `authorization` or `authorization_file`. Secret. */
  std::string authorization;
  std::optional<std::filesystem::path> authorization_file;
  bool enabled = true;
  EventFormat log_format = EventFormat::Json;
  Compression compression = Compression::Gzip;
  bool skip_ssl_verification = false;
  std::optional<std::filesystem::path> ca_file;
  Millis timeout{10'000};
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<StandardWebhooksSettings> standard_webhooks;
  /** URL prefixes a replay request may name as its own endpoint; empty: none allowed. */
  std::vector<std::string> alternate_endpoints;

  bool configured() const { return !endpoint.empty(); }
};

struct BatchSettings {
  std::size_t max_events = 1000;
  std::size_t max_bytes = 1 << 20;
};

/** regions.<name>.rate_limit: what replays send to the region's webhook, at most; either
 *  limit or both (none: unlimited). */
struct RateLimitSettings {
  std::optional<std::uint64_t> events_per_second;
  std::optional<std::size_t> bytes_per_second;

  bool limited() const { return events_per_second || bytes_per_second; }
};

/** Where a region's forwarding starts when it has no stored position yet (docs/forwarding.md). */
enum class ForwardStart {
  Now,     // events that arrive from then on
  Oldest,  // every event the store still holds for the region, in arrival order
  At,      // events that arrived at or after ForwardSettings::start_at_ms
};

/** regions.<name>.forward: deliver every stored event to the region's webhook as it arrives. */
struct ForwardSettings {
  bool enabled = false;
  ForwardStart start = ForwardStart::Now;
  EpochMillis start_at_ms = 0;  // with ForwardStart::At
};

struct RetrySettings {
  Millis initial_backoff{500};
  Millis max_backoff{30'000};
  unsigned max_attempts = 12;
  Millis max_elapsed{15 * 60'000};
};

/** How a Kafka region's job finds each partition's first offset at or after start_at. */
enum class KafkaStartLookup {
  TimeIndex,  // the log's time index (ListOffsets by timestamp): the default
  Scan,       // reads each partition from its start: for brokers without a time index
};

struct KafkaSourceSettings {
  std::string bootstrap_servers;
  std::string topic;
  std::vector<std::pair<std::string, std::string>> properties;  // passed to librdkafka as is
  KafkaStartLookup start_lookup = KafkaStartLookup::TimeIndex;  // source.kafka.start_lookup
};

struct RegionSettings {
  std::string name;
  WebhookSettings webhook;
  BatchSettings batch;
  RetrySettings retry;
  RateLimitSettings rate_limit;
  ForwardSettings forward;
  std::optional<KafkaSourceSettings> kafka;  // absent = the local RocksDB store
};

struct JobSpec {
  std::string region;
  std::string start_at;  // RFC 3339 text, validated when submitted (docs/http-api.md)
  std::string end_at;
};

struct Config {
  /** The file this came from (absolute; set by loadConfigFile), or empty otherwise. */
  std::filesystem::path source_file;
  std::filesystem::path data_dir;  // default: <config dir>/var/data
  Millis retention{7 * 86'400'000LL};
  LogSettings log;
  ControlSettings control;
  std::optional<HttpSettings> http;
  std::optional<SigningSettings> signing;
  std::map<std::string, RegionSettings> regions;
  std::vector<JobSpec> jobs;
};

struct ConfigError {
  std::string file;      // as given to load
  int line = 0;          // 1-based; 0 when unknown
  int column = 0;        // 1-based
  std::string key_path;  // "regions.us.retry.max_backoff"
  std::string message;   // "expected a duration like 30s, got \"soon\""

  /** `FILE:LINE:COL: key.path: message`; without the line and column when unknown (0). */
  std::string toString() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;

  bool ok() const { return errors.empty() && config.has_value(); }
};

/**
 * Reads and validates a YAML file. Relative paths resolve against the file's folder, and
 * every path in the result is absolute. Errors are ordered by line; an unreadable file or
 * a YAML syntax error is reported alone. Never throws (but for std::bad_alloc).
 */
LoadResult loadConfigFile(const std::filesystem::path& file);

/**
 * Parses YAML text. `display_name` appears in error messages; `base_dir` anchors relative
 * paths (and the defaults for data_dir, control.socket and control.spool_dir).
 */
LoadResult parseConfig(std::string_view yaml_text, const std::string& display_name,
                       const std::filesystem::path& base_dir);

/** Built-in defaults rooted at `base_dir`: no regions, no HTTP API. */
Config defaultConfig(const std::filesystem::path& base_dir);

/**
 * Why `endpoint` can't be a webhook.endpoint (an http:// or https:// URL with a host, no
 * credentials, a valid port), or nullopt when it can. The same check as the file's.
 */
std::optional<std::string> checkWebhookEndpoint(std::string_view endpoint);

/**
 * `text` with the password of every URL's userinfo replaced by "***"
 * ("https://user:pw@h/" → "https://user:***@h/"), so no message echoes it.
 */
std::string redactUrlPasswords(std::string_view text);

/** The spelling used in the YAML file: "json", "cef", "cps". */
const char* toString(EventFormat f);
/** "gzip" or "none". */
const char* toString(Compression c);
/** "trace" … "error". */
const char* toString(LogLevel l);
/** "text" or "json". */
const char* toString(LogFormat f);

/** `url` with the password of its user info shown as `***` (`http://u:***@host/`), for
 *  messages and logs: redactUrlPasswords() of one URL. */
std::string withoutPassword(std::string_view url);

}  // namespace audit::config
