#include "common/buffer_pool.hpp"

#include <algorithm>

namespace audit {
namespace {

bool smallerCapacity(const std::string& a, const std::string& b) {
  return a.capacity() < b.capacity();
}

}  // namespace

std::string BufferPool::take() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return {};
  auto largest = std::max_element(idle_.begin(), idle_.end(), smallerCapacity);
  std::string buffer = std::move(*largest);
  idle_.erase(largest);
  return buffer;
}

void BufferPool::give(std::string buffer) {
  if (buffer.capacity() < kMinCapacity || max_buffers_ == 0) return;
  buffer.clear();
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_buffers_) {
    idle_.push_back(std::move(buffer));
    return;
  }
  auto smallest = std::min_element(idle_.begin(), idle_.end(), smallerCapacity);
  if (smallest->capacity() < buffer.capacity()) *smallest = std::move(buffer);
  // Otherwise the newcomer is the smallest and is freed.
}

std::size_t BufferPool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace audit
