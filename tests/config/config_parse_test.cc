// Good configurations: every key of docs/configuration.md with a value other than its default, the
// defaults themselves, and where relative paths end up.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "tests/config/temp_dir.hpp"

namespace audit::config {
namespace {

using test::TempDir;
using ::testing::ElementsAre;
using ::testing::Pair;

std::string describeErrors(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += e.toString() + "\n";
  return out;
}

constexpr const char* kFullConfig = R"(data_dir: /srv/audit/data
retention: 3d
log: {level: debug, format: json}
control:
  socket: run/ctl.sock
  socket_mode: 0600
  spool_dir: /srv/audit/../audit/spool
  poll_interval: 250ms
http:
  listen: "[::1]:9000"
  tokens_file: tokens
  metrics_public: true
  allow_unauthenticated: true
signing:
  key_file: keys/signing.pem
regions:
  us:
    webhook:
      endpoint: https://siem.example.com/audit
      authorization_file: us.auth
      enabled: false
      log_format: cef
      compression: none
      skip_ssl_verification: true
      ca_file: ca.pem
      timeout: 3s
      headers: {X-Tenant: acme, X-Count: 42}
    batch: {max_events: 500, max_bytes: 256KiB}
    retry: {initial_backoff: 1s, max_backoff: 1m, max_attempts: 3, max_elapsed: 2h}
    rate_limit: {events_per_second: 5000, bytes_per_second: 10MiB}
    forward: {enabled: true, start: "2026-11-20T01:00:00+01:00"}
  eu-west_2:
    webhook:
      endpoint: http://127.0.0.1:8080/hook
      authorization: "Bearer inline"
      log_format: cps
    source:
      kafka:
        bootstrap_servers: "k1:9092,k2:9092"
        topic: audit.eu
        properties: {security.protocol: SASL_SSL, enable.idempotence: true, linger.ms: 5}
  bare:
jobs:
  - {region: us, start_at: "2026-11-20T00:00:00Z", end_at: "2026-11-21T00:00:00+01:00"}
  - region: eu-west_2
    start_at: 2026-11-20T00:00:00.5Z
    end_at: 2026-11-20T01:00:00Z
)";

class ConfigParse : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("tokens", "t1\n");
    dir_.write("keys/signing.pem", "-----BEGIN PRIVATE KEY-----\n");
    dir_.write("us.auth", "Bearer s3cret \r\nsecond line is ignored\n");
    dir_.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  }

  TempDir dir_;
};

TEST_F(ConfigParse, ReadsEveryKeyOfTheSchema) {
  std::filesystem::path file = dir_.write("config.yaml", kFullConfig);
  LoadResult r = loadConfigFile(file);
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  const Config& c = *r.config;
  const std::filesystem::path& base = dir_.path();

  EXPECT_EQ(c.source_file, file);
  EXPECT_EQ(c.data_dir, "/srv/audit/data");
  EXPECT_EQ(c.retention, Millis(3 * 86'400'000LL));
  EXPECT_EQ(c.log.level, LogLevel::Debug);
  EXPECT_EQ(c.log.format, LogFormat::Json);

  EXPECT_EQ(c.control.socket, base / "run/ctl.sock");
  EXPECT_EQ(c.control.socket_mode, 0600u);
  EXPECT_EQ(c.control.spool_dir, "/srv/audit/spool");
  EXPECT_EQ(c.control.poll_interval, Millis(250));

  ASSERT_TRUE(c.http.has_value());
  EXPECT_EQ(c.http->listen, "[::1]:9000");
  EXPECT_EQ(c.http->host, "::1");
  EXPECT_EQ(c.http->port, 9000);
  EXPECT_EQ(c.http->tokens_file, base / "tokens");
  EXPECT_TRUE(c.http->metrics_public);
  EXPECT_TRUE(c.http->allow_unauthenticated);

  ASSERT_TRUE(c.signing.has_value());
  EXPECT_EQ(c.signing->key_file, base / "keys/signing.pem");

  ASSERT_EQ(c.regions.size(), 3u);
  const RegionSettings& us = c.regions.at("us");
  EXPECT_EQ(us.name, "us");
  EXPECT_EQ(us.webhook.endpoint, "https://siem.example.com/audit");
  EXPECT_TRUE(us.webhook.configured());
  EXPECT_EQ(us.webhook.authorization, "Bearer s3cret");  // first line, trailing " \r" trimmed
  EXPECT_EQ(us.webhook.authorization_file, base / "us.auth");
  EXPECT_FALSE(us.webhook.enabled);
  EXPECT_EQ(us.webhook.log_format, EventFormat::Cef);
  EXPECT_EQ(us.webhook.compression, Compression::None);
  EXPECT_TRUE(us.webhook.skip_ssl_verification);
  EXPECT_EQ(us.webhook.ca_file, base / "ca.pem");
  EXPECT_EQ(us.webhook.timeout, Millis(3000));
  EXPECT_THAT(us.webhook.headers, ElementsAre(Pair("X-Tenant", "acme"), Pair("X-Count", "42")));
  EXPECT_EQ(us.batch.max_events, 500u);
  EXPECT_EQ(us.batch.max_bytes, 256u * 1024);
  EXPECT_EQ(us.retry.initial_backoff, Millis(1000));
  EXPECT_EQ(us.retry.max_backoff, Millis(60'000));
  EXPECT_EQ(us.retry.max_attempts, 3u);
  EXPECT_EQ(us.retry.max_elapsed, Millis(2 * 3'600'000));
  EXPECT_EQ(us.rate_limit.events_per_second, 5000u);
  EXPECT_EQ(us.rate_limit.bytes_per_second, 10u << 20);
  EXPECT_TRUE(us.forward.enabled);
  EXPECT_EQ(us.forward.start, ForwardStart::At);
  EXPECT_EQ(us.forward.start_at_ms, 1'795'132'800'000);  // 2026-11-20T00:00:00Z
  EXPECT_FALSE(us.kafka.has_value());

  const RegionSettings& eu = c.regions.at("eu-west_2");
  EXPECT_EQ(eu.webhook.endpoint, "http://127.0.0.1:8080/hook");
  EXPECT_EQ(eu.webhook.authorization, "Bearer inline");
  EXPECT_FALSE(eu.webhook.authorization_file.has_value());
  EXPECT_EQ(eu.webhook.log_format, EventFormat::Cps);
  ASSERT_TRUE(eu.kafka.has_value());
  EXPECT_EQ(eu.kafka->bootstrap_servers, "k1:9092,k2:9092");
  EXPECT_EQ(eu.kafka->topic, "audit.eu");
  EXPECT_THAT(eu.kafka->properties,
              ElementsAre(Pair("security.protocol", "SASL_SSL"), Pair("enable.idempotence", "true"),
                          Pair("linger.ms", "5")));

  const RegionSettings& bare = c.regions.at("bare");
  EXPECT_FALSE(bare.webhook.configured());

  ASSERT_EQ(c.jobs.size(), 2u);
  EXPECT_EQ(c.jobs[0].region, "us");
  EXPECT_EQ(c.jobs[0].start_at, "2026-11-20T00:00:00Z");
  EXPECT_EQ(c.jobs[0].end_at, "2026-11-21T00:00:00+01:00");
  EXPECT_EQ(c.jobs[1].region, "eu-west_2");
  EXPECT_EQ(c.jobs[1].start_at, "2026-11-20T00:00:00.5Z");
  EXPECT_EQ(c.jobs[1].end_at, "2026-11-20T01:00:00Z");
}

TEST_F(ConfigParse, ARegionAloneGivesTheDefaults) {
  LoadResult r =
      loadConfigFile(dir_.write("config.yaml", "# nothing else set\nregions: {us: {}}\n"));
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  const Config& c = *r.config;
  const std::filesystem::path& base = dir_.path();
  EXPECT_EQ(c.data_dir, base / "var/data");
  EXPECT_EQ(c.retention, Millis(7 * 86'400'000LL));
  EXPECT_EQ(c.log.level, LogLevel::Info);
  EXPECT_EQ(c.log.format, LogFormat::Text);
  EXPECT_EQ(c.control.socket, base / "var/run/control.sock");
  EXPECT_EQ(c.control.socket_mode, 0660u);
  EXPECT_EQ(c.control.spool_dir, base / "var/spool");
  EXPECT_EQ(c.control.poll_interval, Millis(1000));
  EXPECT_FALSE(c.http.has_value());
  EXPECT_FALSE(c.signing.has_value());
  EXPECT_EQ(c.regions.size(), 1u);
  EXPECT_FALSE(c.regions.at("us").webhook.configured());
  EXPECT_TRUE(c.jobs.empty());
}

TEST_F(ConfigParse, RegionDefaultsMatchTheSpec) {
  LoadResult r = parseConfig("regions:\n  us:\n    webhook:\n      endpoint: https://h/x\n",
                             "config.yaml", dir_.path());
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  const RegionSettings& us = r.config->regions.at("us");
  EXPECT_TRUE(us.webhook.enabled);
  EXPECT_EQ(us.webhook.log_format, EventFormat::Json);
  EXPECT_EQ(us.webhook.compression, Compression::Gzip);
  EXPECT_FALSE(us.webhook.skip_ssl_verification);
  EXPECT_FALSE(us.webhook.ca_file.has_value());
  EXPECT_EQ(us.webhook.timeout, Millis(10'000));
  EXPECT_TRUE(us.webhook.headers.empty());
  EXPECT_TRUE(us.webhook.authorization.empty());
  EXPECT_EQ(us.batch.max_events, 1000u);
  EXPECT_EQ(us.batch.max_bytes, 1u << 20);
  EXPECT_EQ(us.retry.initial_backoff, Millis(500));
  EXPECT_EQ(us.retry.max_backoff, Millis(30'000));
  EXPECT_EQ(us.retry.max_attempts, 12u);
  EXPECT_EQ(us.retry.max_elapsed, Millis(15 * 60'000));
  EXPECT_FALSE(us.rate_limit.limited()) << "unlimited unless set";
  EXPECT_FALSE(us.forward.enabled);
  EXPECT_EQ(us.forward.start, ForwardStart::Now);
  EXPECT_FALSE(us.kafka.has_value());
}

TEST_F(ConfigParse, DefaultConfigIsRootedAtTheGivenFolder) {
  Config c = defaultConfig("/etc/audit-replay");
  EXPECT_EQ(c.data_dir, "/etc/audit-replay/var/data");
  EXPECT_EQ(c.control.socket, "/etc/audit-replay/var/run/control.sock");
  EXPECT_EQ(c.control.spool_dir, "/etc/audit-replay/var/spool");
  EXPECT_TRUE(c.regions.empty());
  EXPECT_FALSE(c.http.has_value());
  EXPECT_TRUE(c.source_file.empty());
}

TEST_F(ConfigParse, RelativePathsResolveAgainstTheConfigFolder) {
  dir_.write("etc/secrets/us.auth", "Bearer from-file\n");
  std::filesystem::path file = dir_.write("etc/config.yaml", R"(data_dir: ../state/data
control: {socket: ./run/../ctl.sock, spool_dir: spool}
regions:
  us:
    webhook: {endpoint: "https://h/x", authorization_file: secrets/us.auth}
)");
  LoadResult r = loadConfigFile(file);
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  const std::filesystem::path& base = dir_.path();
  EXPECT_EQ(r.config->data_dir, base / "state/data");
  EXPECT_EQ(r.config->control.socket, base / "etc/ctl.sock");
  EXPECT_EQ(r.config->control.spool_dir, base / "etc/spool");
  EXPECT_EQ(r.config->regions.at("us").webhook.authorization, "Bearer from-file");
  // Defaults not overridden follow the file's folder too.
  LoadResult d = loadConfigFile(dir_.write("etc/empty.yaml", "regions: {us: {}}\n"));
  ASSERT_TRUE(d.ok()) << describeErrors(d);
  EXPECT_EQ(d.config->data_dir, base / "etc/var/data");
}

TEST_F(ConfigParse, RelativeBaseDirBecomesAbsolute) {
  LoadResult r = parseConfig("data_dir: data\nregions: {us: {}}\n", "config.yaml", "some/where");
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_TRUE(r.config->data_dir.is_absolute());
  EXPECT_EQ(r.config->data_dir, std::filesystem::current_path() / "some/where/data");
}

TEST_F(ConfigParse, EmptyValueMeansTheDefault) {
  LoadResult r = parseConfig("retention:\nhttp:\nlog: {level: ~}\nregions:\n  us:\n    webhook:\n",
                             "config.yaml", dir_.path());
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_EQ(r.config->retention, Millis(7 * 86'400'000LL));
  EXPECT_FALSE(r.config->http.has_value());
  EXPECT_EQ(r.config->log.level, LogLevel::Info);
  EXPECT_FALSE(r.config->regions.at("us").webhook.configured());
}

TEST_F(ConfigParse, AcceptsTheSpellingsOperatorsUse) {
  LoadResult r = parseConfig(R"(control: {socket_mode: "0o640"}
http: {listen: "localhost:0", tokens_file: tokens}
regions:
  us:
    webhook: {endpoint: "", enabled: True, skip_ssl_verification: FALSE}
    batch: {max_bytes: 4096}
)",
                             "config.yaml", dir_.path());
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_EQ(r.config->control.socket_mode, 0640u);
  EXPECT_EQ(r.config->http->host, "localhost");
  EXPECT_EQ(r.config->http->port, 0);
  EXPECT_FALSE(r.config->http->allow_unauthenticated);
  EXPECT_FALSE(r.config->regions.at("us").webhook.configured());
  EXPECT_TRUE(r.config->regions.at("us").webhook.enabled);
  EXPECT_FALSE(r.config->regions.at("us").webhook.skip_ssl_verification);
  EXPECT_EQ(r.config->regions.at("us").batch.max_bytes, 4096u);
}

TEST(ConfigNames, EnumsPrintAsTheyAreWritten) {
  EXPECT_STREQ(toString(EventFormat::Json), "json");
  EXPECT_STREQ(toString(EventFormat::Cef), "cef");
  EXPECT_STREQ(toString(EventFormat::Cps), "cps");
  EXPECT_STREQ(toString(Compression::Gzip), "gzip");
  EXPECT_STREQ(toString(Compression::None), "none");
  EXPECT_STREQ(toString(LogLevel::Warn), "warn");
  EXPECT_STREQ(toString(LogFormat::Json), "json");
}

TEST(ConfigErrorFormat, NamesFileLineColumnAndKey) {
  ConfigError e{"config.yaml", 12, 7, "regions.us.retry.max_backoff",
                "expected a duration like 30s, got \"soon\""};
  EXPECT_EQ(e.toString(),
            "config.yaml:12:7: regions.us.retry.max_backoff: expected a duration like 30s, got "
            "\"soon\"");
  ConfigError whole_file{"missing.yaml", 0, 0, "", "cannot read"};
  EXPECT_EQ(whole_file.toString(), "missing.yaml: cannot read");
}

}  // namespace
}  // namespace audit::config
