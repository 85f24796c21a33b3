#include "common/expected.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace audit {
namespace {

Expected<std::string> nameOf(int id) {
  if (id < 0) return Failure{"id " + std::to_string(id) + " is negative"};
  return "region-" + std::to_string(id);
}

Expected<> check(bool ok) {
  if (!ok) return Failure{"not ok"};
  return {};
}

TEST(Expected, AStringValueIsAValueNotAFailure) {
  auto name = nameOf(3);
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "region-3");
}

TEST(Expected, AFailureCarriesItsMessage) {
  auto name = nameOf(-1);
  ASSERT_FALSE(name);
  EXPECT_EQ(name.message(), "id -1 is negative");
}

TEST(Expected, VoidSucceedsOrFails) {
  EXPECT_TRUE(check(true));
  auto failed = check(false);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.message(), "not ok");
}

TEST(Expected, HoldsMoveOnlyValues) {
  Expected<std::unique_ptr<int>> owned = std::make_unique<int>(7);
  ASSERT_TRUE(owned);
  EXPECT_EQ(**owned, 7);
}

TEST(Expected, ValueOnAFailureThrowsItsMessage) {
  try {
    (void)nameOf(-2).value();
    FAIL() << "value() of a failure returned";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "id -2 is negative");
  }
}

}  // namespace
}  // namespace audit
