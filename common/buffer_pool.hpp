#pragma once
// Large byte buffers handed back after use, so the next batch is written into memory that
// is already mapped. A fresh 600 KB buffer per batch costs a page fault for every 4 KB the
// first time it is written; in an uncompressed replay that was a quarter of the daemon's
// CPU. Thread-safe: buffers are filled on worker threads and come back from the loop.

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace audit {

class BufferPool {
 public:
  /** Smaller buffers are not worth keeping: malloc serves them from memory it holds. */
  static constexpr std::size_t kMinCapacity = 64 * 1024;

  /** Keeps at most `max_buffers` idle buffers (the largest ones). */
  explicit BufferPool(std::size_t max_buffers) : max_buffers_(max_buffers) {}

  /** An empty buffer with the largest capacity kept, or a new one when none is idle. */
  std::string take();

  /** Keeps `buffer`'s storage for a later take() (if large enough); its contents are dropped. */
  void give(std::string buffer);

  std::size_t idle() const;

 private:
  const std::size_t max_buffers_;
  mutable std::mutex mutex_;
  std::vector<std::string> idle_;
};

}  // namespace audit
