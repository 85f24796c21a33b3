#include "common/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/event_batch.hpp"

namespace audit {
namespace {

std::string bufferWithCapacity(std::size_t capacity) {
  std::string s;
  s.reserve(capacity);
  s = "leftover";
  return s;
}

TEST(BufferPool, EmptyPoolHandsOutANewBuffer) {
  BufferPool pool(2);
  std::string b = pool.take();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(BufferPool, GivenStorageComesBackEmptyWithItsCapacity) {
  BufferPool pool(2);
  std::string b = bufferWithCapacity(1 << 20);
  const char* storage = b.data();
  pool.give(std::move(b));
  EXPECT_EQ(pool.idle(), 1u);
  std::string again = pool.take();
  EXPECT_TRUE(again.empty());
  EXPECT_GE(again.capacity(), 1u << 20);
  EXPECT_EQ(again.data(), storage);  // the same memory, not a copy
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(BufferPool, TakesTheLargestFirst) {
  BufferPool pool(3);
  pool.give(bufferWithCapacity(100'000));
  pool.give(bufferWithCapacity(10'000'000));
  pool.give(bufferWithCapacity(1'000'000));
  EXPECT_GE(pool.take().capacity(), 10'000'000u);
  EXPECT_GE(pool.take().capacity(), 1'000'000u);
  EXPECT_LT(pool.take().capacity(), 1'000'000u);
}

TEST(BufferPool, KeepsOnlyTheLargestWhenFull) {
  BufferPool pool(2);
  pool.give(bufferWithCapacity(100'000));
  pool.give(bufferWithCapacity(500'000));
  pool.give(bufferWithCapacity(200'000));  // replaces the 100'000
  pool.give(bufferWithCapacity(90'000));   // smaller than all kept: dropped
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_GE(pool.take().capacity(), 500'000u);
  std::string second = pool.take();
  EXPECT_GE(second.capacity(), 200'000u);
  EXPECT_LT(second.capacity(), 500'000u);
}

TEST(BufferPool, IgnoresSmallBuffersAndAZeroSizedPool) {
  BufferPool pool(2);
  pool.give(std::string());
  pool.give(bufferWithCapacity(BufferPool::kMinCapacity - 1));
  EXPECT_EQ(pool.idle(), 0u);
  pool.give(bufferWithCapacity(BufferPool::kMinCapacity));
  EXPECT_EQ(pool.idle(), 1u);
  BufferPool none(0);
  none.give(bufferWithCapacity(1 << 20));
  EXPECT_EQ(none.idle(), 0u);
}

TEST(BufferPool, ManyThreadsGiveAndTake) {
  BufferPool pool(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool] {
      for (int i = 0; i < 2000; ++i) {
        std::string b = pool.take();
        b.reserve(BufferPool::kMinCapacity + static_cast<std::size_t>(i % 50));
        b.assign(100, 'x');
        pool.give(std::move(b));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(pool.idle(), 4u);
  EXPECT_GE(pool.idle(), 1u);
}

TEST(EventBatch, AdoptedBufferHoldsTheEventsInItsStorage) {
  std::string buffer;
  buffer.reserve(4096);
  buffer = "old contents";
  const char* storage = buffer.data();
  EventBatch batch;
  batch.add("{\"stale\":1}", 1);
  batch.checkpoint = "stale";
  batch.adoptBuffer(std::move(buffer));
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.checkpoint.empty());
  batch.add("{\"a\":1}", 10);
  batch.add("{\"b\":2}", 20);
  EXPECT_EQ(batch.joined(), "{\"a\":1}\n{\"b\":2}");
  EXPECT_EQ(batch.time(1), 20);
  EXPECT_EQ(batch.joined().data(), storage);
}

}  // namespace
}  // namespace audit
