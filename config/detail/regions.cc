// regions.<name>: webhook, batch, retry, rate_limit, forward and source (docs/formats.md,
// docs/configuration.md, docs/kafka.md).

#include <limits>

#include "common/rfc3339.hpp"
#include "common/units.hpp"
#include "config/detail/files.hpp"
#include "config/detail/network.hpp"
#include "config/detail/sections.hpp"

namespace audit::config::detail {
namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;

/** [a-z0-9][a-z0-9_-]{0,31}: safe in store keys, file names, URLs and metric labels. */
bool validRegionName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

/** An RFC 9110 token: what a header name may be made of. */
bool isToken(std::string_view s) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  if (s.empty()) return false;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && kSymbols.find(c) == std::string_view::npos) return false;
  }
  return true;
}

/** A header value must stay on its line: CR or LF would let it inject headers. */
bool isSingleLine(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

/** Why a header may not be set through webhook.headers, or nullptr when it may. */
const char* reservedHeaderReason(std::string_view name) {
  std::string n = lowered(name);
  if (n == "authorization") {
    return "set it with webhook.authorization or authorization_file, which are kept out of logs";
  }
  if (n == "content-type") return "the body is always text/plain, as Konnect sends it";
  if (n == "content-encoding") return "it follows webhook.compression";
  if (n == "content-length") return "it is computed for each batch";
  if (n == "host") return "it is taken from webhook.endpoint";
  if (n == "webhook-id" || n == "webhook-timestamp" || n == "webhook-signature") {
    return "it is set by webhook.standard_webhooks";
  }
  if (n == "transfer-encoding" || n == "connection") {
    return "the sender manages the connection and the message framing";
  }
  return nullptr;
}

void readHeaders(Reader& reader, const Location& at, const YAML::Node& node,
                 std::vector<std::pair<std::string, std::string>>& out) {
  std::map<std::string, int> seen;  // lower-cased name -> line, as HTTP names ignore case
  for (const Entry& e : reader.entries(at, node)) {
    if (!isToken(e.key)) {
      reader.error(e.at, "not a valid HTTP header name");
      continue;
    }
    if (const char* reason = reservedHeaderReason(e.key)) {
      reader.error(e.at, "header " + e.key + " cannot be set here: " + reason);
      continue;
    }
    std::string value;
    if (!reader.text(e.at, e.value, value)) continue;
    if (!isSingleLine(value)) {
      reader.error(e.at, "a header value must be a single line");
      continue;
    }
    auto [prev, inserted] = seen.emplace(lowered(e.key), e.at.mark.line + 1);
    if (!inserted) {
      reader.error(e.at, "header " + e.key +
                             " is given twice (header names ignore case; the "
                             "first is on line " +
                             std::to_string(prev->second) + ")");
      continue;
    }
    out.emplace_back(e.key, std::move(value));
  }
}

/** `whsec_` then non-empty standard base64 (with its padding), as the specification's
 *  secrets are written. */
bool validWhsecSecret(std::string_view s) {
  constexpr std::string_view kPrefix = "whsec_";
  if (s.substr(0, kPrefix.size()) != kPrefix) return false;
  s.remove_prefix(kPrefix.size());
  if (s.empty() || s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/';
    if (c == '=') {
      ++pad;
      continue;
    }
    if (!b64 || pad > 0) return false;
  }
  return pad <= 2;
}

void readStandardWebhooks(Reader& reader, const Location& at, const YAML::Node& node,
                          std::optional<StandardWebhooksSettings>& out) {
  StandardWebhooksSettings sw;
  bool is_mapping = reader.mapping(
      at, node,
      {
          {"secret_file",
           [&](const Location& a, const YAML::Node& n) {
             std::filesystem::path file;
             if (!reader.path(a, n, file)) return;
             std::string line;
             if (auto problem = readFirstLine(file, line)) {
               reader.error(a, *problem);
               return;
             }
             // The value is a secret: the message never quotes it.
             if (!validWhsecSecret(line)) {
               reader.error(a, "the first line of " + file.string() +
                                   " should be a Standard Webhooks secret: whsec_ followed by "
                                   "base64");
               return;
             }
             sw.secret_file = file;
             sw.secret = std::move(line);
           },
           /*required=*/true},
          {"asymmetric",
           [&](const Location& a, const YAML::Node& n) { reader.boolean(a, n, sw.asymmetric); }},
      });
  if (is_mapping) out = std::move(sw);
}

void readAlternateEndpoints(Reader& reader, const Location& at, const YAML::Node& node,
                            std::vector<std::string>& out) {
  if (!node.IsSequence()) {
    reader.error(at, "expected a list of URL prefixes");
    return;
  }
  std::size_t index = 0;
  for (const YAML::Node& item : node) {
    Location a = at.item(index++, item.Mark());
    std::string value;
    if (!reader.nonEmptyText(a, item, value)) continue;
    if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
      reader.error(a, "an alternate endpoint prefix starts with http:// or https://, got " +
                          Reader::quote(withoutPassword(value)));
      continue;
    }
    out.push_back(std::move(value));
  }
}

void readWebhook(Reader& reader, const Location& at, const YAML::Node& node, WebhookSettings& w) {
  std::optional<Location> authorization_at;
  std::optional<Location> authorization_file_at;
  reader.mapping(
      at, node,
      {
          {"endpoint",
           [&](const Location& a, const YAML::Node& n) {
             std::string value;
             if (!reader.text(a, n, value)) return;
             // Empty is allowed: the region exists but its webhook is "unconfigured"
             // (docs/formats.md).
             if (!value.empty()) {
               if (auto problem = checkEndpoint(value)) {
                 reader.error(a, *problem + ", got " + Reader::quote(withoutPassword(value)));
                 return;
               }
             }
             w.endpoint = std::move(value);
           }},
          {"authorization",
           [&](const Location& a, const YAML::Node& n) {
             authorization_at = a;
             std::string value;
             if (!reader.text(a, n, value)) return;
             // The value is a secret: the messages never quote it.
             if (!isSingleLine(value)) {
               reader.error(a, "must be a single line (it becomes the Authorization header)");
               return;
             }
             w.authorization = std::move(value);
           }},
          {"authorization_file",
           [&](const Location& a, const YAML::Node& n) {
             authorization_file_at = a;
             std::filesystem::path file;
             if (!reader.path(a, n, file)) return;
             std::string line;
             if (auto problem = readFirstLine(file, line)) {
               reader.error(a, *problem);
               return;
             }
             if (line.empty()) {
               reader.error(a, "the first line of " + file.string() +
                                   " is empty; it should hold the Authorization header value");
               return;
             }
             if (line.find('\0') != std::string::npos) {
               reader.error(a, "the first line of " + file.string() + " holds a NUL byte");
               return;
             }
             w.authorization_file = file;
             w.authorization = std::move(line);
           }},
          {"enabled",
           [&](const Location& a, const YAML::Node& n) { reader.boolean(a, n, w.enabled); }},
          {"log_format",
           [&](const Location& a, const YAML::Node& n) {
             reader.choice(a, n, w.log_format,
                           {{"json", EventFormat::Json},
                            {"cef", EventFormat::Cef},
                            {"cps", EventFormat::Cps}});
           }},
          {"compression",
           [&](const Location& a, const YAML::Node& n) {
             reader.choice(a, n, w.compression,
                           {{"gzip", Compression::Gzip}, {"none", Compression::None}});
           }},
          {"skip_ssl_verification",
           [&](const Location& a, const YAML::Node& n) {
             reader.boolean(a, n, w.skip_ssl_verification);
           }},
          {"ca_file",
           [&](const Location& a, const YAML::Node& n) {
             std::filesystem::path file;
             if (!reader.path(a, n, file)) return;
             if (auto problem = checkReadableFile(file)) {
               reader.error(a, *problem);
               return;
             }
             w.ca_file = file;
           }},
          {"timeout",
           [&](const Location& a, const YAML::Node& n) {
             reader.duration(a, n, w.timeout, Millis(1), "10s");
           }},
          {"headers",
           [&](const Location& a, const YAML::Node& n) { readHeaders(reader, a, n, w.headers); }},
          {"standard_webhooks",
           [&](const Location& a, const YAML::Node& n) {
             readStandardWebhooks(reader, a, n, w.standard_webhooks);
           }},
          {"alternate_endpoints",
           [&](const Location& a, const YAML::Node& n) {
             readAlternateEndpoints(reader, a, n, w.alternate_endpoints);
           }},
      });
  if (authorization_at && authorization_file_at) {
    reader.error(*authorization_file_at,
                 "give either authorization or authorization_file, not both (authorization is "
                 "on line " +
                     std::to_string(authorization_at->mark.line + 1) + ")");
  }
}

void readBatch(Reader& reader, const Location& at, const YAML::Node& node, BatchSettings& b) {
  reader.mapping(at, node,
                 {
                     {"max_events",
                      [&](const Location& a, const YAML::Node& n) {
                        std::uint64_t value = 0;
                        if (reader.integer(a, n, value, 1, 1'000'000)) {
                          b.max_events = static_cast<std::size_t>(value);
                        }
                      }},
                     {"max_bytes",
                      [&](const Location& a, const YAML::Node& n) {
                        reader.size(a, n, b.max_bytes, kKiB, 64 * kMiB, "1MiB");
                      }},
                 });
}

void readRateLimit(Reader& reader, const Location& at, const YAML::Node& node,
                   RateLimitSettings& r) {
  reader.mapping(at, node,
                 {
                     {"events_per_second",
                      [&](const Location& a, const YAML::Node& n) {
                        std::uint64_t value = 0;
                        if (reader.integer(a, n, value, 1, 100'000'000)) {
                          r.events_per_second = value;
                        }
                      }},
                     {"bytes_per_second",
                      [&](const Location& a, const YAML::Node& n) {
                        std::size_t value = 0;
                        if (reader.size(a, n, value, kKiB, std::uint64_t{64} << 30, "10MiB")) {
                          r.bytes_per_second = value;
                        }
                      }},
                 });
}

/** forward.start: `now`, `oldest` or the RFC 3339 time from which arrivals are forwarded. */
void readForwardStart(Reader& reader, const Location& at, const YAML::Node& node,
                      ForwardSettings& f) {
  static constexpr std::string_view kExpected =
      "expected now, oldest or an RFC 3339 time with a zone like 2026-11-20T00:00:00Z";
  if (!node.IsScalar()) {
    reader.error(at, std::string(kExpected) + ", got " + Reader::describe(node));
    return;
  }
  const std::string& value = node.Scalar();
  if (value == "now") {
    f.start = ForwardStart::Now;
    return;
  }
  if (value == "oldest") {
    f.start = ForwardStart::Oldest;
    return;
  }
  Expected<Rfc3339Time> time = parseRfc3339(value);
  if (!time) {
    // The parser says which failed (common/rfc3339.hpp): only a time out of range needs its
    // reason spelled out; anything else simply is not one of the three forms.
    std::string reason = time.message();
    reader.error(at, std::string(kExpected) + ", got " + Reader::quote(value) +
                         (reason.starts_with("outside") ? ", " + reason : ""));
    return;
  }
  f.start = ForwardStart::At;
  f.start_at_ms = time->ms;
}

/** `enabled_at`: where `enabled` was read, for the check against the webhook's endpoint. */
void readForward(Reader& reader, const Location& at, const YAML::Node& node, ForwardSettings& f,
                 std::optional<Location>& enabled_at) {
  reader.mapping(at, node,
                 {
                     {"enabled",
                      [&](const Location& a, const YAML::Node& n) {
                        if (reader.boolean(a, n, f.enabled)) enabled_at = a;
                      }},
                     {"start", [&](const Location& a,
                                   const YAML::Node& n) { readForwardStart(reader, a, n, f); }},
                 });
}

/** True when the webhook as written has no endpoint (left out, blank or empty). An endpoint
 *  that is there but wrong is reported on its own, not again as missing. */
bool endpointLeftOut(const YAML::Node& webhook) {
  if (webhook.IsNull()) return true;
  if (!webhook.IsMap()) return false;  // reported as not a mapping
  const YAML::Node endpoint = webhook["endpoint"];
  return !endpoint.IsDefined() || endpoint.IsNull() ||
         (endpoint.IsScalar() && endpoint.Scalar().empty());
}

void readRetry(Reader& reader, const Location& at, const YAML::Node& node, RetrySettings& r) {
  std::optional<Location> initial_at;
  std::optional<Location> max_at;
  reader.mapping(at, node,
                 {
                     {"initial_backoff",
                      [&](const Location& a, const YAML::Node& n) {
                        if (reader.duration(a, n, r.initial_backoff, Millis(1), "500ms"))
                          initial_at = a;
                      }},
                     {"max_backoff",
                      [&](const Location& a, const YAML::Node& n) {
                        if (reader.duration(a, n, r.max_backoff, Millis(1), "30s")) max_at = a;
                      }},
                     {"max_attempts",
                      [&](const Location& a, const YAML::Node& n) {
                        std::uint64_t value = 0;
                        if (reader.integer(a, n, value, 1, std::numeric_limits<unsigned>::max())) {
                          r.max_attempts = static_cast<unsigned>(value);
                        }
                      }},
                     {"max_elapsed",
                      [&](const Location& a, const YAML::Node& n) {
                        reader.duration(a, n, r.max_elapsed, Millis(1), "15m");
                      }},
                 });
  if (r.max_backoff < r.initial_backoff) {
    // Point at whichever of the two the operator wrote (max_backoff when both).
    Location where = max_at ? *max_at : initial_at.value_or(at);
    reader.error(where, "max_backoff (" + formatDuration(r.max_backoff) +
                            ") must not be less than initial_backoff (" +
                            formatDuration(r.initial_backoff) + ")");
  }
}

/** Kafka's own rule for topic names. */
bool validTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void readKafka(Reader& reader, const Location& at, const YAML::Node& node,
               std::optional<KafkaSourceSettings>& out) {
  KafkaSourceSettings kafka;
  bool is_mapping = reader.mapping(
      at, node,
      {
          {"bootstrap_servers",
           [&](const Location& a, const YAML::Node& n) {
             reader.nonEmptyText(a, n, kafka.bootstrap_servers);
           },
           /*required=*/true},
          {"topic",
           [&](const Location& a, const YAML::Node& n) {
             std::string topic;
             if (!reader.nonEmptyText(a, n, topic)) return;
             if (!validTopic(topic)) {
               reader.error(a,
                            "a Kafka topic name is 1 to 249 characters of a-z, A-Z, 0-9, "
                            "'.', '_' and '-', got " +
                                Reader::quote(topic));
               return;
             }
             kafka.topic = std::move(topic);
           },
           /*required=*/true},
          {"start_lookup",
           [&](const Location& a, const YAML::Node& n) {
             reader.choice(
                 a, n, kafka.start_lookup,
                 {{"time_index", KafkaStartLookup::TimeIndex}, {"scan", KafkaStartLookup::Scan}});
           }},
          {"properties",
           [&](const Location& a, const YAML::Node& n) {
             // Passed to librdkafka as is: its own checks name the property when it starts.
             for (const Entry& e : reader.entries(a, n)) {
               std::string value;
               if (reader.text(e.at, e.value, value)) {
                 kafka.properties.emplace_back(e.key, std::move(value));
               }
             }
           }},
      });
  if (is_mapping) out = std::move(kafka);
}

void readRegion(Reader& reader, const Location& at, const YAML::Node& node, RegionSettings& r) {
  bool endpoint_left_out = true;
  std::optional<Location> forward_enabled_at;
  reader.mapping(
      at, node,
      {
          {"webhook",
           [&](const Location& a, const YAML::Node& n) {
             endpoint_left_out = endpointLeftOut(n);
             readWebhook(reader, a, n, r.webhook);
           }},
          {"batch",
           [&](const Location& a, const YAML::Node& n) { readBatch(reader, a, n, r.batch); }},
          {"retry",
           [&](const Location& a, const YAML::Node& n) { readRetry(reader, a, n, r.retry); }},
          {"rate_limit", [&](const Location& a,
                             const YAML::Node& n) { readRateLimit(reader, a, n, r.rate_limit); }},
          {"forward",
           [&](const Location& a, const YAML::Node& n) {
             readForward(reader, a, n, r.forward, forward_enabled_at);
           }},
          {"source",
           [&](const Location& a, const YAML::Node& n) {
             reader.mapping(a, n,
                            {
                                {"kafka",
                                 [&](const Location& k, const YAML::Node& kn) {
                                   readKafka(reader, k, kn, r.kafka);
                                 },
                                 /*required=*/true},
                            });
           }},
      });
  // Forwarding delivers to the region's own webhook (whatever its source): it needs one.
  if (r.forward.enabled && !r.webhook.configured() && endpoint_left_out && forward_enabled_at) {
    reader.error(*forward_enabled_at,
                 "enabled: true needs " + at.path + ".webhook.endpoint, which is not configured");
  }
}

}  // namespace

void readRegions(Reader& reader, const Location& at, const YAML::Node& node,
                 std::map<std::string, RegionSettings>& out) {
  for (const Entry& e : reader.entries(at, node)) {
    RegionSettings region;
    region.name = e.key;
    // The body is read even under a bad name, so its own mistakes show up in the same pass.
    readRegion(reader, e.at, e.value, region);
    if (!validRegionName(e.key)) {
      reader.error(e.at,
                   "a region name is 1 to 32 characters of a-z, 0-9, '_' and '-', "
                   "starting with a letter or digit, got " +
                       Reader::quote(e.key));
      continue;
    }
    out.emplace(e.key, std::move(region));
  }
}

}  // namespace audit::config::detail
