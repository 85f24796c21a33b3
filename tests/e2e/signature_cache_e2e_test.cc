// End-to-end: signing.cache. The first replay of a range signs every event and keeps the
// signatures once delivered; a repeat replay of the range signs nothing and delivers the
// same bytes; another key signs again.

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "signing/signer.hpp"
#include "sink/receiver.hpp"
#include "tests/e2e/daemon_process.hpp"

namespace audit::e2e {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kEvents = 300;

void newKey(const std::filesystem::path& file) {
  std::string err;
  ASSERT_NO_THROW(writeEd25519Key(file).value());
}

std::int64_t stat(DaemonFixture& d, const char* name) {
  auto answer = d.call({{"op", "stats"}});
  if (!answer || !answer->at("ok").as_bool()) return -1;
  const auto* value = answer->at("stats").as_object().if_contains(name);
  return value != nullptr ? value->to_number<std::int64_t>() : -1;
}

class SignatureCacheE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_.start();
    newKey(d_.dir() / "signing.pem");
    d_.writeConfig(
        "signing: {key_file: signing.pem, cache: true}\nregions:\n  us:\n"
        "    batch: {max_events: 64}\n    webhook: {endpoint: \"" +
        receiver_.url() + "\", log_format: json}\n");
    ASSERT_TRUE(d_.start()) << d_.log();
    start_ = nowMs() - 600'000;
    std::vector<std::string> events;
    for (int i = 0; i < kEvents; ++i) events.push_back(makeEvent(start_ + i, std::to_string(i)));
    ASSERT_TRUE(d_.ingest("us", events).at("ok").as_bool());
  }

  // Replays the whole range once more and returns what the receiver accepted this time.
  std::vector<std::string> replay() {
    const std::size_t before = receiver_.acceptedEvents().size();
    auto put = d_.call({{"op", "put_job"},
                        {"region", "us"},
                        {"start_at", isoMillis(start_)},
                        {"end_at", isoMillis(start_ + kEvents)}});
    EXPECT_TRUE(put && put->at("ok").as_bool()) << (put ? json::serialize(*put) : "no answer");
    auto job = d_.waitJobEnded("us", 60s);
    EXPECT_TRUE(job);
    if (job) {
      EXPECT_EQ(job->at("status").as_string(), "completed") << json::serialize(*job);
    }
    auto all = receiver_.acceptedEvents();
    return std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
  }

  std::string publicKey() {
    auto jwks = d_.call({{"op", "jwks"}});
    auto x = jwks->at("jwks").at("keys").as_array().at(0).at("x").as_string();
    return signing::base64UrlDecode(x).value_or("");
  }

  void expectVerified(const std::vector<std::string>& lines, const std::string& key) {
    for (const auto& line : lines) {
      std::string reason;
      EXPECT_TRUE(signing::verifyJsonLine(line, key, &reason)) << line << ": " << reason;
    }
  }

  sink::Receiver receiver_{sink::ReceiverOptions{}};
  DaemonFixture d_;
  std::int64_t start_ = 0;
};

TEST_F(SignatureCacheE2E, ARepeatReplaySignsNothingAndDeliversTheSameBytes) {
  auto first = replay();
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(stat(d_, "signatures_made"), kEvents);
  EXPECT_EQ(stat(d_, "signatures_reused"), 0);
  // The signatures are written once each batch was delivered, off the loop.
  ASSERT_TRUE(waitUntil([&] { return stat(d_, "signatures_stored") == kEvents; }, 30s))
      << stat(d_, "signatures_stored");
  expectVerified(first, publicKey());

  auto second = replay();
  EXPECT_EQ(second, first);
  EXPECT_EQ(stat(d_, "signatures_made"), kEvents);  // none made
  EXPECT_EQ(stat(d_, "signatures_reused"), kEvents);
  EXPECT_EQ(stat(d_, "signatures_stored"), kEvents);

  // The cache outlives the daemon.
  ASSERT_EQ(d_.stop().exit_code, 0);
  ASSERT_TRUE(d_.start()) << d_.log();
  auto third = replay();
  EXPECT_EQ(third, first);
  EXPECT_EQ(stat(d_, "signatures_made"), 0);
  EXPECT_EQ(stat(d_, "signatures_reused"), kEvents);
  EXPECT_EQ(d_.stop().exit_code, 0);
}

TEST_F(SignatureCacheE2E, ANewKeySignsAgain) {
  auto first = replay();
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kEvents));
  ASSERT_TRUE(waitUntil([&] { return stat(d_, "signatures_stored") == kEvents; }, 30s));
  const std::string old_key = publicKey();

  ASSERT_EQ(d_.stop().exit_code, 0);
  newKey(d_.dir() / "signing.pem");
  ASSERT_TRUE(d_.start()) << d_.log();
  const std::string new_key = publicKey();
  ASSERT_NE(new_key, old_key);

  auto second = replay();
  ASSERT_EQ(second.size(), first.size());
  EXPECT_EQ(stat(d_, "signatures_made"), kEvents);
  EXPECT_EQ(stat(d_, "signatures_reused"), 0);
  expectVerified(second, new_key);
  EXPECT_NE(second, first);
  EXPECT_EQ(d_.stop().exit_code, 0);
}

}  // namespace
}  // namespace audit::e2e
