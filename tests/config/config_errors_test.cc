// Bad configurations: each problem is reported with the file, line, column and key path,
// and all problems of a file are reported together.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.hpp"
#include "tests/config/temp_dir.hpp"

namespace audit::config {
namespace {

using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::string describeErrors(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += "  " + e.toString() + "\n";
  return out.empty() ? "  (no errors)\n" : out;
}

struct BadCase {
  const char* name;
  std::string yaml;
  int line;
  int column;
  std::string key_path;
  const char* message_part;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

/** The error is there, with its place, and toString() shows "config.yaml:L:C: key: ...". */
::testing::AssertionResult hasError(const LoadResult& r, int line, int column,
                                    const std::string& key_path, const std::string& part) {
  std::string prefix = "config.yaml:" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (!key_path.empty()) prefix += key_path + ": ";
  for (const ConfigError& e : r.errors) {
    std::string text = e.toString();
    if (e.line == line && e.column == column && e.key_path == key_path &&
        e.message.find(part) != std::string::npos && text.rfind(prefix, 0) == 0) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no error starting \"" << prefix << "\" and saying \"" << part << "\"; got:\n"
         << describeErrors(r);
}

class ConfigBadValue : public ::testing::TestWithParam<BadCase> {
 protected:
  TempDir dir_;
};

TEST_P(ConfigBadValue, IsReportedWithItsKeyAndLine) {
  const BadCase& c = GetParam();
  LoadResult r = parseConfig(c.yaml, "config.yaml", dir_.path());
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(hasError(r, c.line, c.column, c.key_path, c.message_part));
}

const std::string kJobTimes = R"(start_at: "2026-11-20T00:00:00Z", end_at: "2026-11-21T00:00:00Z")";

INSTANTIATE_TEST_SUITE_P(
    Schema, ConfigBadValue,
    ::testing::Values(
        BadCase{"UnknownTopLevelKey", "data_dri: x\n", 1, 1, "data_dri",
                "unknown key; expected one of: data_dir, retention, log, control, http, signing, "
                "regions, jobs"},
        BadCase{"UnknownNestedKey", "regions:\n  us:\n    webhook:\n      endpiont: https://h/x\n",
                4, 7, "regions.us.webhook.endpiont", "unknown key; expected one of: endpoint,"},
        BadCase{"SectionIsNotAMapping", "log: info\n", 1, 1, "log",
                "expected a mapping, got \"info\""},
        BadCase{"TopLevelIsNotAMapping", "just text\n", 1, 1, "",
                "expected a mapping, got \"just text\""},
        BadCase{"RegionsIsAList", "regions:\n  - us\n", 1, 1, "regions",
                "expected a mapping, got a list"},
        BadCase{"BooleanIsNotTrueOrFalse",
                "regions:\n  us:\n    webhook:\n      enabled: yes please\n", 4, 7,
                "regions.us.webhook.enabled", "expected true or false, got \"yes please\""},
        BadCase{"TlsWithoutKeyFile",
                "http:\n  allow_unauthenticated: true\n  tls: {cert_file: /etc/passwd}\n", 3, 3,
                "http.tls.key_file", "required key missing"},
        BadCase{"TlsCertFileMissing",
                "http:\n  allow_unauthenticated: true\n  tls: {cert_file: /nonexistent/c.pem, "
                "key_file: /etc/passwd}\n",
                3, 9, "http.tls.cert_file", "cannot read /nonexistent/c.pem"},
        BadCase{"MaxIngestBytesTooSmall",
                "http:\n  allow_unauthenticated: true\n  max_ingest_bytes: 10\n", 3, 3,
                "http.max_ingest_bytes", "must be between 1KiB and 1GiB"},
        BadCase{"UnauthenticatedShareIsZero",
                "http:\n  allow_unauthenticated: true\n  max_unauthenticated_per_client: 0\n", 3, 3,
                "http.max_unauthenticated_per_client", "must be between 1 and 100000, got 0"},
        BadCase{"UnauthenticatedShareIsNotANumber",
                "http:\n  allow_unauthenticated: true\n  max_unauthenticated_per_client: -3\n", 3,
                3, "http.max_unauthenticated_per_client", "expected a whole number, got \"-3\""},
        BadCase{"UnauthenticatedIdleTimeTooShort",
                "http:\n  allow_unauthenticated: true\n  unauthenticated_idle_timeout: 10ms\n", 3,
                3, "http.unauthenticated_idle_timeout", "must be at least 100ms, got \"10ms\""},
        BadCase{"Yaml11BooleanIsRefused", "http:\n  allow_unauthenticated: yes\n", 2, 3,
                "http.allow_unauthenticated", "expected true or false, got \"yes\""},
        BadCase{"DurationWithoutUnit", "regions:\n  us:\n    webhook:\n      timeout: 10\n", 4, 7,
                "regions.us.webhook.timeout", "expected a duration like 10s, got \"10\""},
        BadCase{"RetentionUnderAMinute", "retention: 30s\n", 1, 1, "retention",
                "must be at least 1m, got \"30s\""},
        BadCase{"PollIntervalUnder10ms", "control:\n  poll_interval: 5ms\n", 2, 3,
                "control.poll_interval", "must be at least 10ms"},
        BadCase{"UnknownLogLevel", "log: {level: verbose}\n", 1, 7, "log.level",
                "expected one of trace, debug, info, warn, error, got \"verbose\""},
        BadCase{"UnknownLogFormat", "log: {format: xml}\n", 1, 7, "log.format",
                "expected one of text, json, got \"xml\""},
        BadCase{"UnknownEventFormat", "regions:\n  us:\n    webhook: {log_format: xml}\n", 3, 15,
                "regions.us.webhook.log_format", "expected one of json, cef, cps, got \"xml\""},
        BadCase{"UnknownCompression", "regions:\n  us:\n    webhook:\n      compression: brotli\n",
                4, 7, "regions.us.webhook.compression", "expected one of gzip, none"},
        BadCase{"SocketModeNotOctal", "control:\n  socket_mode: \"0999\"\n", 2, 3,
                "control.socket_mode", "expected an octal file mode up to 0777 like \"0660\""},
        BadCase{"SocketPathTooLong", "control: {socket: /" + std::string(120, 's') + "}\n", 1, 11,
                "control.socket", "a unix socket path holds at most 107"},
        BadCase{"TildeIsNotExpanded", "data_dir: ~/data\n", 1, 1, "data_dir",
                "~ is not expanded here"},
        BadCase{"ListenIpv6WithoutBrackets",
                "http:\n  listen: \"::1:8470\"\n  allow_unauthenticated: true\n", 2, 3,
                "http.listen", "an IPv6 address goes in brackets, like [::1]:8470"},
        BadCase{"ListenWithoutPort", "http:\n  listen: localhost\n  allow_unauthenticated: true\n",
                2, 3, "http.listen", "needs a port"},
        BadCase{"HttpWithoutTokens", "http:\n  listen: 127.0.0.1:8470\n", 1, 1, "http.tokens_file",
                "allow_unauthenticated: true"},
        BadCase{"TokensFileMissing", "http:\n  tokens_file: tokens.txt\n", 2, 3, "http.tokens_file",
                "No such file or directory"},
        BadCase{"EndpointSchemeNotHttp",
                "regions:\n  us:\n    webhook: {endpoint: \"ftp://h/x\"}\n", 3, 15,
                "regions.us.webhook.endpoint", "the scheme must be http or https"},
        BadCase{"EndpointNotAUrl", "regions:\n  us:\n    webhook: {endpoint: siem.example.com}\n",
                3, 15, "regions.us.webhook.endpoint",
                "expected an http:// or https:// URL, got \"siem.example.com\""},
        BadCase{"EndpointWithoutHost", "regions:\n  us:\n    webhook: {endpoint: \"https:///x\"}\n",
                3, 15, "regions.us.webhook.endpoint", "the URL needs a host"},
        BadCase{"EndpointWithCredentials",
                "regions:\n  us:\n    webhook: {endpoint: \"https://u:p@h/x\"}\n", 3, 15,
                "regions.us.webhook.endpoint", "must not hold credentials"},
        BadCase{"ReservedHeader",
                "regions:\n  us:\n    webhook:\n      headers:\n        Authorization: Bearer x\n",
                5, 9, "regions.us.webhook.headers.Authorization",
                "header Authorization cannot be set here: set it with webhook.authorization"},
        BadCase{"ReservedHeaderIgnoresCase",
                "regions:\n  us:\n    webhook:\n      headers: {content-type: text/csv}\n", 4, 17,
                "regions.us.webhook.headers.content-type", "always text/plain"},
        BadCase{"HeaderNameNotAToken",
                "regions:\n  us:\n    webhook:\n      headers: {\"Bad Header\": x}\n", 4, 17,
                "regions.us.webhook.headers.Bad Header", "not a valid HTTP header name"},
        BadCase{"HeaderValueIsAList",
                "regions:\n  us:\n    webhook:\n      headers:\n        X-A: [1, 2]\n", 5, 9,
                "regions.us.webhook.headers.X-A", "expected a string, got a list"},
        BadCase{"AuthorizationOnTwoLines",
                "regions:\n  us:\n    webhook:\n      authorization: \"Bearer a\\nb\"\n", 4, 7,
                "regions.us.webhook.authorization", "must be a single line"},
        BadCase{"AuthorizationFileMissing",
                "regions:\n  us:\n    webhook:\n      authorization_file: us.auth\n", 4, 7,
                "regions.us.webhook.authorization_file", "cannot read"},
        BadCase{"AuthorizationFileIsAFolder",
                "regions:\n  us:\n    webhook:\n      authorization_file: .\n", 4, 7,
                "regions.us.webhook.authorization_file", "is not a regular file"},
        BadCase{"CaFileMissing", "regions:\n  us:\n    webhook:\n      ca_file: nowhere/ca.pem\n",
                4, 7, "regions.us.webhook.ca_file", "No such file or directory"},
        BadCase{"SigningKeyMissing", "signing:\n  key_file: missing.pem\n", 2, 3,
                "signing.key_file", "No such file or directory"},
        BadCase{"RequiredKeyWithoutValue", "signing:\n  key_file:\n", 2, 3, "signing.key_file",
                "required key has no value"},
        BadCase{"MaxEventsZero", "regions:\n  us:\n    batch: {max_events: 0}\n", 3, 13,
                "regions.us.batch.max_events", "must be between 1 and 1000000, got 0"},
        BadCase{"MaxEventsNotANumber", "regions:\n  us:\n    batch: {max_events: 1e3}\n", 3, 13,
                "regions.us.batch.max_events", "expected a whole number, got \"1e3\""},
        BadCase{"MaxBytesOver64MiB", "regions:\n  us:\n    batch:\n      max_bytes: 128MiB\n", 4, 7,
                "regions.us.batch.max_bytes", "must be between 1KiB and 64MiB, got \"128MiB\""},
        BadCase{"MaxBytesNotASize", "regions:\n  us:\n    batch:\n      max_bytes: lots\n", 4, 7,
                "regions.us.batch.max_bytes", "expected a size like 1MiB, got \"lots\""},
        BadCase{"RateLimitZero", "regions:\n  us:\n    rate_limit: {events_per_second: 0}\n", 3, 18,
                "regions.us.rate_limit.events_per_second",
                "must be between 1 and 100000000, got 0"},
        BadCase{"RateLimitNotASize",
                "regions:\n  us:\n    rate_limit:\n      bytes_per_second: fast\n", 4, 7,
                "regions.us.rate_limit.bytes_per_second",
                "expected a size like 10MiB, got \"fast\""},
        BadCase{"RateLimitUnknownKey", "regions:\n  us:\n    rate_limit:\n      per_minute: 5\n", 4,
                7, "regions.us.rate_limit.per_minute", "unknown key; expected one of"},
        BadCase{"MaxBackoffBelowInitial",
                "regions:\n  us:\n    retry:\n      initial_backoff: 1m\n      max_backoff: 30s\n",
                5, 7, "regions.us.retry.max_backoff",
                "max_backoff (30s) must not be less than initial_backoff (1m)"},
        BadCase{"InitialBackoffAboveDefaultMax",
                "regions:\n  us:\n    retry:\n      initial_backoff: 1h\n", 4, 7,
                "regions.us.retry.initial_backoff", "must not be less than initial_backoff (1h)"},
        BadCase{"MaxAttemptsZero", "regions:\n  us:\n    retry: {max_attempts: 0}\n", 3, 13,
                "regions.us.retry.max_attempts", "must be at least 1, got 0"},
        BadCase{"MaxAttemptsOverflows", "regions:\n  us:\n    retry: {max_attempts: 4294967296}\n",
                3, 13, "regions.us.retry.max_attempts", "must be at most 4294967295"},
        BadCase{"RegionNameWithCapitals", "regions:\n  US_East:\n    webhook: {}\n", 2, 3,
                "regions.US_East", "a region name is 1 to 32 characters"},
        BadCase{"RegionNameTooLong", "regions:\n  " + std::string(33, 'r') + ": {}\n", 2, 3,
                "regions." + std::string(33, 'r'), "a region name is 1 to 32 characters"},
        BadCase{"SourceWithoutKafka", "regions:\n  eu:\n    source: {}\n", 3, 5,
                "regions.eu.source.kafka", "required key missing"},
        BadCase{"KafkaTopicMissing",
                "regions:\n  eu:\n    source:\n      kafka:\n        bootstrap_servers: k1:9092\n",
                4, 7, "regions.eu.source.kafka.topic", "required key missing"},
        BadCase{
            "KafkaTopicInvalid",
            "regions:\n  eu:\n    source:\n      kafka: {bootstrap_servers: k, topic: \"a b\"}\n",
            4, 37, "regions.eu.source.kafka.topic", "a Kafka topic name is"},
        BadCase{"KafkaPropertyIsAMapping",
                "regions:\n  eu:\n    source:\n      kafka:\n        bootstrap_servers: k\n"
                "        topic: t\n        properties:\n          sasl: {a: b}\n",
                8, 11, "regions.eu.source.kafka.properties.sasl",
                "expected a string, got a mapping"},
        BadCase{"JobsIsNotAList", "jobs: {region: us}\n", 1, 1, "jobs",
                "expected a list of jobs, got a mapping"},
        BadCase{"JobForUnknownRegion",
                "regions:\n  us: {}\njobs:\n  - {region: eu, " + kJobTimes + "}\n", 4, 6,
                "jobs[0].region", "no region \"eu\" is configured; configured regions: us"},
        BadCase{"JobTimeNotRfc3339",
                "regions:\n  us: {}\njobs:\n  - region: us\n    start_at: yesterday\n"
                "    end_at: \"2026-11-21T00:00:00Z\"\n",
                5, 5, "jobs[0].start_at", "expected an RFC 3339 time with a zone"},
        BadCase{
            "JobTimeWithoutZone",
            "regions:\n  us: {}\njobs:\n  - region: us\n    start_at: \"2026-11-20T00:00:00Z\"\n"
            "    end_at: \"2026-11-21T00:00:00\"\n",
            6, 5, "jobs[0].end_at", "got \"2026-11-21T00:00:00\""},
        BadCase{"JobWithoutEnd",
                "regions:\n  us: {}\njobs:\n  - {region: us, start_at: \"2026-11-20T00:00:00Z\"}\n",
                4, 5, "jobs[0].end_at", "required key missing"},
        BadCase{"TwoJobsForOneRegion",
                "regions:\n  us: {}\njobs:\n  - {region: us, " + kJobTimes +
                    "}\n  - {region: us, " + kJobTimes + "}\n",
                5, 6, "jobs[1].region", "a second job for region \"us\" (the first is on line 4)"},
        BadCase{"DuplicateKey", "retention: 7d\nretention: 8d\n", 2, 1, "retention",
                "duplicate key (first given on line 1)"},
        BadCase{"TwoDocuments", "retention: 7d\n---\nretention: 8d\n", 3, 1, "",
                "only one YAML document is allowed"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(ConfigErrors, MatchesTheIssueExampleExactly) {
  LoadResult r = parseConfig(R"(data_dir: var/data
retention: 7d
log: {level: info, format: text}
regions:
  us:
    webhook:
      endpoint: https://siem.example.com/audit
      enabled: true
    batch: {max_events: 1000, max_bytes: 1MiB}
    retry:
      initial_backoff: 500ms
      max_backoff: soon
)",
                             "config.yaml", "/tmp");
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_EQ(r.errors[0].toString(),
            "config.yaml:12:7: regions.us.retry.max_backoff: expected a duration like 30s, got "
            "\"soon\"");
}

TEST(ConfigErrors, ReportsEveryProblemTogetherOrderedByLine) {
  // jobs come first but are checked last (regions may follow them); the output is by line.
  LoadResult r = parseConfig(R"(jobs:
  - {region: nowhere, start_at: "2026-11-20T00:00:00Z", end_at: "2026-11-21T00:00:00Z"}
retention: soon
log: {level: loud, colour: red}
regions:
  us:
    webhook: {endpoint: "gopher://x", enabled: maybe}
    batch: {max_events: -1}
)",
                             "config.yaml", "/tmp");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 7u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 2, 6, "jobs[0].region", "no region \"nowhere\""));
  EXPECT_TRUE(hasError(r, 3, 1, "retention", "expected a duration like 7d, got \"soon\""));
  EXPECT_TRUE(hasError(r, 4, 7, "log.level", "got \"loud\""));
  EXPECT_TRUE(hasError(r, 4, 20, "log.colour", "unknown key"));
  EXPECT_TRUE(hasError(r, 7, 15, "regions.us.webhook.endpoint", "http or https"));
  EXPECT_TRUE(hasError(r, 7, 39, "regions.us.webhook.enabled", "got \"maybe\""));
  EXPECT_TRUE(hasError(r, 8, 13, "regions.us.batch.max_events", "got \"-1\""));
  EXPECT_TRUE(std::is_sorted(r.errors.begin(), r.errors.end(), [](const auto& a, const auto& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  }));
}

TEST(ConfigErrors, YamlSyntaxErrorIsOneErrorWithItsPlace) {
  LoadResult r = parseConfig("regions:\n  us: [1, 2\n  eu: {}\n", "config.yaml", "/tmp");
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  const ConfigError& e = r.errors[0];
  EXPECT_EQ(e.line, 3);
  EXPECT_GT(e.column, 0);
  EXPECT_TRUE(e.key_path.empty());
  EXPECT_THAT(e.toString(), HasSubstr("config.yaml:3:"));
  EXPECT_THAT(e.message, HasSubstr("end of sequence flow not found"));
}

TEST(ConfigErrors, BothAuthorizationsAreRefused) {
  TempDir dir;
  dir.write("us.auth", "Bearer from-file\n");
  LoadResult r = parseConfig(
      "regions:\n  us:\n    webhook:\n      authorization: Bearer x\n"
      "      authorization_file: us.auth\n",
      "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 5, 7, "regions.us.webhook.authorization_file",
                       "give either authorization or authorization_file, not both"));
}

TEST(ConfigErrors, EmptyAuthorizationFileIsRefused) {
  TempDir dir;
  dir.write("us.auth", "  \r\n");
  LoadResult r = parseConfig("regions:\n  us:\n    webhook: {authorization_file: us.auth}\n",
                             "config.yaml", dir.path());
  EXPECT_TRUE(hasError(r, 3, 15, "regions.us.webhook.authorization_file", "is empty"));
}

TEST(ConfigErrors, SecretsAreNeverQuoted) {
  LoadResult r =
      parseConfig("regions:\n  us:\n    webhook: {authorization: \"Bearer top\\nsecret\"}\n",
                  "config.yaml", "/tmp");
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_THAT(r.errors[0].toString(), Not(HasSubstr("secret")));
  EXPECT_THAT(r.errors[0].toString(), Not(HasSubstr("top")));
}

TEST(ConfigErrors, DefaultSocketPathTooLongIsCaught) {
  // The default socket sits under the config folder; a deep folder overflows sun_path.
  std::filesystem::path deep = "/" + std::string(100, 'd');
  LoadResult r = parseConfig("retention: 7d\nregions: {us: {}}\n", "config.yaml", deep);
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_EQ(r.errors[0].key_path, "control.socket");
  EXPECT_THAT(r.errors[0].message, HasSubstr("set a shorter control.socket"));
}

TEST(ConfigErrors, MissingFileIsReportedWithItsName) {
  TempDir dir;
  std::filesystem::path file = dir.path() / "nope.yaml";
  LoadResult r = loadConfigFile(file);
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors[0].file, file.string());
  EXPECT_THAT(r.errors[0].toString(), HasSubstr("No such file or directory"));
}

TEST(ConfigErrors, LoadedFileErrorsNameTheFileAsGiven) {
  TempDir dir;
  std::filesystem::path file = dir.write("config.yaml", "retention: 1s\nregions: {us: {}}\n");
  LoadResult r = loadConfigFile(file);
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_EQ(r.errors[0].toString(),
            file.string() + ":1:1: retention: must be at least 1m, got \"1s\"");
}

}  // namespace
}  // namespace audit::config

namespace audit::config {
namespace {

TEST(ConfigSecrets, AnEndpointsPasswordIsNeverQuoted) {
  test::TempDir dir;
  LoadResult r = parseConfig(
      "regions:\n  us:\n    webhook: {endpoint: \"ftp://siem:pa55-W0rd@siem.example/x\"}\n",
      "config.yaml", dir.path());
  ASSERT_FALSE(r.ok());
  const std::string text = describeErrors(r);
  EXPECT_THAT(text, Not(HasSubstr("pa55-W0rd")));
  EXPECT_THAT(text, HasSubstr("ftp://siem:***@siem.example/x"));
  EXPECT_EQ(withoutPassword("https://u:p@h:8443/a@b?c"), "https://u:***@h:8443/a@b?c");
  EXPECT_EQ(withoutPassword("https://user@host/"), "https://user@host/");
  EXPECT_EQ(withoutPassword("https://host/p:q@r"), "https://host/p:q@r");
  EXPECT_EQ(withoutPassword("not a url"), "not a url");
}

TEST(ConfigErrors, AtLeastOneRegionIsRequired) {
  TempDir dir;
  // No regions key: the error is placed at the start of the document.
  LoadResult r = parseConfig("data_dir: var/data\nretention: 7d\n", "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 1, 1, "regions", "at least one region is required"));
  // An empty mapping: placed at its key.
  r = parseConfig("retention: 7d\nregions: {}\n", "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 2, 1, "regions", "at least one region is required"));
  // An empty file too.
  r = parseConfig("# nothing\n", "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 1, 1, "regions", "at least one region is required"));
  // A region whose name is bad is reported as such, not twice.
  r = parseConfig("regions:\n  \"U S\": {}\n", "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_THAT(r.errors[0].message, HasSubstr("a region name is"));
}

TEST(ConfigErrors, AUrlPasswordIsNeverEchoed) {
  TempDir dir;
  LoadResult r = parseConfig(
      "regions:\n  us:\n    webhook:\n      endpoint: https://user:pw-s3cret@siem.example/a\n",
      "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 4, 7, "regions.us.webhook.endpoint", "must not hold credentials"));
  EXPECT_THAT(r.errors[0].toString(), Not(HasSubstr("pw-s3cret")));
  EXPECT_THAT(r.errors[0].toString(), HasSubstr("https://user:***@siem.example/a"));
  // Anywhere a value is quoted back, e.g. a URL given where a path belongs.
  r = parseConfig(
      "regions:\n  us:\n    webhook: {endpoint: \"https://h/\", timeout: "
      "\"https://a:b-s3cret@h/\"}\n",
      "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_THAT(r.errors[0].toString(), Not(HasSubstr("b-s3cret")));
}

TEST(RedactUrlPasswords, ReplacesOnlyThePassword) {
  EXPECT_EQ(redactUrlPasswords("https://user:pw@h/"), "https://user:***@h/");
  EXPECT_EQ(redactUrlPasswords("see http://a:b@h:1/x and ftp://c:d@e"),
            "see http://a:***@h:1/x and ftp://c:***@e");
  EXPECT_EQ(redactUrlPasswords("https://user@h/"), "https://user@h/");
  EXPECT_EQ(redactUrlPasswords("https://h/a:b@c"), "https://h/a:b@c");  // '@' in the path
  EXPECT_EQ(redactUrlPasswords("no url: a:b@c"), "no url: a:b@c");
  EXPECT_EQ(redactUrlPasswords("https://u:p@"), "https://u:***@");
}

TEST(ConfigErrors, ExtraJwksFileMustBeReadable) {
  TempDir dir;
  dir.write("signing.pem", "not checked here\n");
  LoadResult r = parseConfig(
      "signing: {key_file: signing.pem, extra_jwks_file: missing.json}\n"
      "regions: {us: {webhook: {endpoint: \"https://h/\"}}}\n",
      "config.yaml", dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_TRUE(hasError(r, 1, 34, "signing.extra_jwks_file", "missing.json"));
  dir.write("konnect.json", "{\"keys\":[]}\n");
  r = parseConfig(
      "signing: {key_file: signing.pem, extra_jwks_file: konnect.json}\n"
      "regions: {us: {webhook: {endpoint: \"https://h/\"}}}\n",
      "config.yaml", dir.path());
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_EQ(r.config->signing->extra_jwks_file, dir.path() / "konnect.json");
}

}  // namespace
}  // namespace audit::config
