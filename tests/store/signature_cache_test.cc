// The signature cache beside the events: found once stored, per key id and signed form,
// kept across a reopen, removed by retention with its events.

#include "store/signature_cache.hpp"

#include <gtest/gtest.h>

#include "tests/store/store_fixture.hpp"

namespace audit::store::testing {
namespace {

class SignatureCacheTest : public StoreTest {
 protected:
  // The batch a replay of `events` would read (all of them, in time order).
  EventBatch batchOf(source::EventSource& source) {
    auto reader = source.openReader(kAllTime, {});
    EXPECT_TRUE(reader);
    EventBatch batch;
    auto r = (*reader)->next(batch, BatchLimits{.max_events = 1000, .max_bytes = 1 << 20});
    EXPECT_TRUE(r);
    return batch;
  }

  static std::string sig(char fill) { return std::string(64, fill); }
};

TEST_F(SignatureCacheTest, StoredSignaturesAreFoundPerKeyIdAndForm) {
  auto us = store_->region("us");
  ingest(*us, {event(1000, "a"), event(2000, "b"), event(3000, "c")});
  auto cache = store_->signatureCache();
  ASSERT_TRUE(cache);
  EventBatch batch = batchOf(*us);
  ASSERT_EQ(batch.size(), 3u);

  auto first = cache->lookup("us", batch, "kid-1", SignedForm::Json);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->found, 0u);
  ASSERT_EQ(first->keys.size(), 3u);
  ASSERT_EQ(first->signatures, std::vector<std::string>(3));

  // Only what was made is stored: the second event had none (already signed, say).
  ASSERT_TRUE(cache->store(first->keys, {sig('a'), "", sig('c')}));
  auto again = cache->lookup("us", batch, "kid-1", SignedForm::Json);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->found, 2u);
  EXPECT_EQ(again->signatures, (std::vector<std::string>{sig('a'), "", sig('c')}));
  EXPECT_EQ(again->keys, first->keys);

  // Another key, another form, another region: nothing.
  for (auto [region, kid, form] :
       {std::tuple{"us", "kid-2", SignedForm::Json}, std::tuple{"us", "kid-1", SignedForm::Cef},
        std::tuple{"eu", "kid-1", SignedForm::Json}}) {
    auto other = cache->lookup(region, batch, kid, form);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->found, 0u) << region << " " << kid;
  }

  // Kept across a restart.
  cache.reset();
  reopen();
  auto reopened = store_->signatureCache()->lookup("us", batch, "kid-1", SignedForm::Json);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->found, 2u);
}

TEST_F(SignatureCacheTest, RetentionRemovesTheSignaturesOfRemovedEvents) {
  auto us = store_->region("us");
  auto eu = store_->region("eu");
  ingest(*us, {event(1000, "a"), event(2000, "b"), event(3000, "c")});
  ingest(*eu, {event(1500, "x"), event(3500, "y")});
  auto cache = store_->signatureCache();
  EventBatch us_batch = batchOf(*us);
  EventBatch eu_batch = batchOf(*eu);
  auto us_keys = cache->lookup("us", us_batch, "kid", SignedForm::Json);
  auto eu_keys = cache->lookup("eu", eu_batch, "kid", SignedForm::Json);
  ASSERT_TRUE(us_keys && eu_keys);
  ASSERT_TRUE(cache->store(us_keys->keys, {sig('1'), sig('2'), sig('3')}));
  ASSERT_TRUE(cache->store(eu_keys->keys, {sig('4'), sig('5')}));

  ASSERT_TRUE(store_->removeBefore(2500));

  auto us_after = cache->lookup("us", us_batch, "kid", SignedForm::Json);
  auto eu_after = cache->lookup("eu", eu_batch, "kid", SignedForm::Json);
  ASSERT_TRUE(us_after && eu_after);
  EXPECT_EQ(us_after->signatures, (std::vector<std::string>{"", "", sig('3')}));
  EXPECT_EQ(eu_after->signatures, (std::vector<std::string>{"", sig('5')}));
}

TEST_F(SignatureCacheTest, AnInvalidRegionIsRefused) {
  EventBatch batch;
  batch.add(event(1, "a"), 1);
  auto found =
      store_->signatureCache()->lookup(std::string("a\0b", 3), batch, "kid", SignedForm::Json);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error(), source::Errc::invalid_argument);
}

}  // namespace
}  // namespace audit::store::testing
