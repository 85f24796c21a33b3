// signing.cache: off unless set; a boolean like every other one.

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "tests/config/temp_dir.hpp"

namespace audit::config {
namespace {

class SigningCacheConfig : public ::testing::Test {
 protected:
  void SetUp() override { dir_.write("signing.pem", "-----BEGIN PRIVATE KEY-----\n"); }
  LoadResult load(const std::string& yaml) {
    // A configuration needs a region; the one here is only to make the file complete.
    return loadConfigFile(dir_.write(
        "config.yaml", yaml + "regions:\n  us:\n    webhook: {endpoint: \"https://h/\"}\n"));
  }
  test::TempDir dir_;
};

TEST_F(SigningCacheConfig, OffUnlessSet) {
  LoadResult r = load("signing:\n  key_file: signing.pem\n");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.config->signing);
  EXPECT_FALSE(r.config->signing->cache);

  r = load("signing:\n  key_file: signing.pem\n  cache: true\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config->signing->cache);
}

TEST_F(SigningCacheConfig, OnlyABoolean) {
  LoadResult r = load("signing:\n  key_file: signing.pem\n  cache: yes\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key_path, "signing.cache");
}

}  // namespace
}  // namespace audit::config
