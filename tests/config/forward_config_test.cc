// regions.<name>.forward: its defaults, the three forms of `start`, and the mistakes an
// operator can make there, each reported with its file, line, column and key path.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "tests/config/temp_dir.hpp"

namespace audit::config {
namespace {

using test::TempDir;
using ::testing::ElementsAre;

std::string describeErrors(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += "  " + e.toString() + "\n";
  return out.empty() ? "  (no errors)\n" : out;
}

std::vector<std::string> errorTexts(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.toString());
  return out;
}

// A region whose webhook is configured; the tests add its `forward` from line 4 on.
constexpr const char* kRegionWithWebhook =
    "regions:\n"
    "  us:\n"
    "    webhook: {endpoint: https://siem.example.com/audit}\n";

class ForwardConfig : public ::testing::Test {
 protected:
  LoadResult parse(const std::string& yaml) {
    return parseConfig(yaml, "config.yaml", dir_.path());
  }

  /** The `us` region of a configuration that must be valid. */
  ForwardSettings forwardOf(const std::string& yaml) {
    LoadResult r = parse(yaml);
    EXPECT_TRUE(r.ok()) << describeErrors(r);
    if (!r.ok()) return ForwardSettings{.start_at_ms = -1};  // matches no expectation
    return r.config->regions.at("us").forward;
  }

  TempDir dir_;
};

// --- Valid forms -------------------------------------------------------------------------

TEST_F(ForwardConfig, IsOffAndStartsNowWhenAbsent) {
  ForwardSettings f = forwardOf(kRegionWithWebhook);
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Now);
  EXPECT_EQ(f.start_at_ms, 0);
  // A region with nothing at all is still valid, and does not forward.
  f = forwardOf("regions: {bare: {}, us: {}}\n");
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Now);
}

TEST_F(ForwardConfig, AnEmptyForwardKeepsTheDefaults) {
  for (const char* forward : {"    forward:\n", "    forward: ~\n", "    forward: {}\n",
                              "    forward: {enabled: ~, start: ~}\n"}) {
    SCOPED_TRACE(forward);
    ForwardSettings f = forwardOf(std::string(kRegionWithWebhook) + forward);
    EXPECT_FALSE(f.enabled);
    EXPECT_EQ(f.start, ForwardStart::Now);
    EXPECT_EQ(f.start_at_ms, 0);
  }
}

TEST_F(ForwardConfig, EnabledWithStartNow) {
  ForwardSettings f = forwardOf(std::string(kRegionWithWebhook) +
                                "    forward:\n"
                                "      enabled: true\n"
                                "      start: now\n");
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Now);
  EXPECT_EQ(f.start_at_ms, 0);
  // Enabled alone starts now too; the other spellings of true are the usual ones.
  f = forwardOf(std::string(kRegionWithWebhook) + "    forward: {enabled: TRUE}\n");
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Now);
}

TEST_F(ForwardConfig, StartOldest) {
  ForwardSettings f =
      forwardOf(std::string(kRegionWithWebhook) + "    forward: {enabled: true, start: oldest}\n");
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Oldest);
  EXPECT_EQ(f.start_at_ms, 0);
  // `start` is read whether or not forwarding is on, so it can be set ahead of enabling it.
  f = forwardOf(std::string(kRegionWithWebhook) + "    forward: {enabled: false, start: oldest}\n");
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Oldest);
}

TEST_F(ForwardConfig, StartAtAnRfc3339TimeWithOffset) {
  // 2026-11-20T21:00:00.250+01:00 is 2026-11-20T20:00:00.250Z = 1795204800250 ms.
  ForwardSettings f = forwardOf(std::string(kRegionWithWebhook) +
                                "    forward:\n"
                                "      enabled: true\n"
                                "      start: \"2026-11-20T21:00:00.250+01:00\"\n");
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::At);
  EXPECT_EQ(f.start_at_ms, 1'795'204'800'250);
  // Unquoted, in UTC, with a lower-case t and z as RFC 3339 allows: 2026-11-20T00:00:00Z.
  f = forwardOf(std::string(kRegionWithWebhook) +
                "    forward: {enabled: true, start: 2026-11-20t00:00:00z}\n");
  EXPECT_EQ(f.start, ForwardStart::At);
  EXPECT_EQ(f.start_at_ms, 1'795'132'800'000);
  // A negative offset moves the instant later.
  f = forwardOf(std::string(kRegionWithWebhook) +
                "    forward: {enabled: true, start: \"2026-11-19T19:30:00-04:30\"}\n");
  EXPECT_EQ(f.start, ForwardStart::At);
  EXPECT_EQ(f.start_at_ms, 1'795'132'800'000);
}

TEST_F(ForwardConfig, AKafkaRegionMayForward) {
  LoadResult r = parse(
      "regions:\n"
      "  eu:\n"
      "    webhook: {endpoint: https://siem.example.eu/audit}\n"
      "    source: {kafka: {bootstrap_servers: \"k1:9092\", topic: audit.eu}}\n"
      "    forward: {enabled: true, start: oldest}\n");
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  const RegionSettings& eu = r.config->regions.at("eu");
  EXPECT_TRUE(eu.kafka.has_value());
  EXPECT_TRUE(eu.forward.enabled);
  EXPECT_EQ(eu.forward.start, ForwardStart::Oldest);
}

TEST_F(ForwardConfig, EachRegionHasItsOwn) {
  LoadResult r = parse(
      "regions:\n"
      "  us:\n"
      "    forward: {enabled: true}\n"
      "    webhook: {endpoint: https://siem.example.com/audit}\n"
      "  eu:\n"
      "    forward: {start: \"2026-11-20T00:00:00Z\"}\n");
  ASSERT_TRUE(r.ok()) << describeErrors(r);
  EXPECT_TRUE(r.config->regions.at("us").forward.enabled);
  EXPECT_EQ(r.config->regions.at("us").forward.start, ForwardStart::Now);
  EXPECT_FALSE(r.config->regions.at("eu").forward.enabled);
  EXPECT_EQ(r.config->regions.at("eu").forward.start, ForwardStart::At);
  EXPECT_EQ(r.config->regions.at("eu").forward.start_at_ms, 1'795'132'800'000);
}

TEST_F(ForwardConfig, DisabledNeedsNoEndpoint) {
  ForwardSettings f = forwardOf("regions:\n  us:\n    forward: {enabled: false, start: oldest}\n");
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.start, ForwardStart::Oldest);
}

// --- Mistakes ----------------------------------------------------------------------------

TEST_F(ForwardConfig, StartThatIsNotATimeIsRefused) {
  LoadResult r = parse(std::string(kRegionWithWebhook) +
                       "    forward:\n"
                       "      enabled: true\n"
                       "      start: yesterday\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(
      errorTexts(r),
      ElementsAre("config.yaml:6:7: regions.us.forward.start: expected now, oldest or an "
                  "RFC 3339 time with a zone like 2026-11-20T00:00:00Z, got \"yesterday\""));
}

TEST_F(ForwardConfig, StartSpellingsAreExact) {
  for (const char* value :
       {"Now", "OLDEST", "\"\"", "\"2026-11-20T00:00:00\"", "2026-11-20", "\"now \"", "0"}) {
    SCOPED_TRACE(value);
    LoadResult r =
        parse(std::string(kRegionWithWebhook) + "    forward:\n      start: " + value + "\n");
    ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
    EXPECT_EQ(r.errors[0].line, 5);
    EXPECT_EQ(r.errors[0].column, 7);
    EXPECT_EQ(r.errors[0].key_path, "regions.us.forward.start");
    EXPECT_THAT(r.errors[0].message,
                ::testing::StartsWith("expected now, oldest or an RFC 3339 time with a zone"));
  }
}

TEST_F(ForwardConfig, StartOutOfRangeSaysWhy) {
  // Written in year 9999, but 10000-01-01T04:00:00Z once the offset is applied.
  LoadResult r = parse(std::string(kRegionWithWebhook) +
                       "    forward: {start: \"9999-12-31T23:30:00-04:30\"}\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:4:15: regions.us.forward.start: expected now, oldest or an "
                          "RFC 3339 time with a zone like 2026-11-20T00:00:00Z, got "
                          "\"9999-12-31T23:30:00-04:30\", outside 0000-01-01T00:00:00Z to "
                          "9999-12-31T23:59:59.999Z once its offset is applied"));
}

TEST_F(ForwardConfig, StartThatIsAListOrAMappingIsRefused) {
  LoadResult r = parse(std::string(kRegionWithWebhook) + "    forward: {start: [now]}\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:4:15: regions.us.forward.start: expected now, oldest or an "
                          "RFC 3339 time with a zone like 2026-11-20T00:00:00Z, got a list"));
  r = parse(std::string(kRegionWithWebhook) + "    forward:\n      start: {at: now}\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:5:7: regions.us.forward.start: expected now, oldest or an "
                          "RFC 3339 time with a zone like 2026-11-20T00:00:00Z, got a mapping"));
}

TEST_F(ForwardConfig, EnabledThatIsNotABooleanIsRefused) {
  LoadResult r = parse(std::string(kRegionWithWebhook) +
                       "    forward:\n"
                       "      enabled: maybe\n");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(errorTexts(r), ElementsAre("config.yaml:5:7: regions.us.forward.enabled: expected "
                                         "true or false, got \"maybe\""));
  // YAML 1.1's yes is refused here as everywhere.
  r = parse(std::string(kRegionWithWebhook) + "    forward: {enabled: yes}\n");
  EXPECT_THAT(errorTexts(r), ElementsAre("config.yaml:4:15: regions.us.forward.enabled: expected "
                                         "true or false, got \"yes\""));
}

TEST_F(ForwardConfig, UnknownKeyListsTheKnownOnes) {
  LoadResult r = parse(std::string(kRegionWithWebhook) +
                       "    forward:\n"
                       "      enabled: true\n"
                       "      from: oldest\n");
  EXPECT_THAT(errorTexts(r), ElementsAre("config.yaml:6:7: regions.us.forward.from: unknown key; "
                                         "expected one of: enabled, start"));
  // And a misspelt `forward` is named among the region's keys.
  r = parse(std::string(kRegionWithWebhook) + "    forwarding: {enabled: true}\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:4:5: regions.us.forwarding: unknown key; expected one of: "
                          "webhook, batch, retry, rate_limit, forward, source"));
}

TEST_F(ForwardConfig, ForwardThatIsNotAMappingIsRefused) {
  LoadResult r = parse(std::string(kRegionWithWebhook) + "    forward: true\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:4:5: regions.us.forward: expected a mapping, got \"true\""));
  r = parse(std::string(kRegionWithWebhook) + "    forward:\n      - enabled: true\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:4:5: regions.us.forward: expected a mapping, got a list"));
  EXPECT_FALSE(r.config.has_value());
}

TEST_F(ForwardConfig, DuplicateKeyIsRefused) {
  LoadResult r = parse(std::string(kRegionWithWebhook) +
                       "    forward:\n"
                       "      start: now\n"
                       "      start: oldest\n");
  EXPECT_THAT(errorTexts(r), ElementsAre("config.yaml:6:7: regions.us.forward.start: duplicate key "
                                         "(first given on line 5)"));
}

TEST_F(ForwardConfig, EnabledNeedsTheWebhookEndpoint) {
  const std::string expected =
      "config.yaml:5:7: regions.us.forward.enabled: enabled: true needs "
      "regions.us.webhook.endpoint, which is not configured";
  // No webhook, an empty one, one without endpoint, and an empty endpoint: the same error,
  // once, at `enabled`.
  for (const char* webhook : {"    batch: {max_events: 10}\n", "    webhook:\n",
                              "    webhook: {timeout: 5s}\n", "    webhook: {endpoint: \"\"}\n"}) {
    SCOPED_TRACE(webhook);
    LoadResult r =
        parse(std::string("regions:\n  us:\n") + webhook + "    forward:\n      enabled: true\n");
    EXPECT_FALSE(r.config.has_value());
    EXPECT_THAT(errorTexts(r), ElementsAre(expected));
  }
  // The webhook may come after `forward`.
  LoadResult r = parse(
      "regions:\n  us:\n    forward: {enabled: true}\n    webhook: {endpoint: https://h/a}\n");
  EXPECT_TRUE(r.ok()) << describeErrors(r);
  // A Kafka region forwards to its webhook too, so it needs one all the same; the message
  // names the region.
  r = parse(
      "regions:\n"
      "  eu-west:\n"
      "    source: {kafka: {bootstrap_servers: \"k1:9092\", topic: audit.eu}}\n"
      "    forward: {start: oldest, enabled: true}\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:4:30: regions.eu-west.forward.enabled: enabled: true needs "
                          "regions.eu-west.webhook.endpoint, which is not configured"));
}

TEST_F(ForwardConfig, AWrongEndpointIsReportedOnceNotAsMissingToo) {
  LoadResult r = parse(
      "regions:\n"
      "  us:\n"
      "    webhook: {endpoint: \"ftp://h/x\"}\n"
      "    forward: {enabled: true}\n");
  ASSERT_EQ(r.errors.size(), 1u) << describeErrors(r);
  EXPECT_EQ(r.errors[0].key_path, "regions.us.webhook.endpoint");
  // Same for a webhook that is not a mapping at all.
  r = parse("regions:\n  us:\n    webhook: https://h/x\n    forward: {enabled: true}\n");
  EXPECT_THAT(errorTexts(r),
              ElementsAre("config.yaml:3:5: regions.us.webhook: expected a mapping, got "
                          "\"https://h/x\""));
}

TEST_F(ForwardConfig, EveryProblemIsReportedTogether) {
  LoadResult r = parse(
      "regions:\n"
      "  us:\n"
      "    forward: {enabled: true, start: soon, mode: fast}\n"
      "  eu:\n"
      "    webhook: {endpoint: https://h/a}\n"
      "    forward: {enabled: on}\n");
  EXPECT_THAT(
      errorTexts(r),
      ElementsAre("config.yaml:3:15: regions.us.forward.enabled: enabled: true needs "
                  "regions.us.webhook.endpoint, which is not configured",
                  "config.yaml:3:30: regions.us.forward.start: expected now, oldest or an RFC "
                  "3339 time with a zone like 2026-11-20T00:00:00Z, got \"soon\"",
                  "config.yaml:3:43: regions.us.forward.mode: unknown key; expected one of: "
                  "enabled, start",
                  "config.yaml:6:15: regions.eu.forward.enabled: expected true or false, got "
                  "\"on\""));
}

}  // namespace
}  // namespace audit::config
