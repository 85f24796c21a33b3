#pragma once
// The unit that flows from an event source to the webhook: events of one time-ordered
// slice of a range, stored back to back so a JSON body is the buffer itself.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

namespace audit {

class EventBatch {
 public:
  /** Appends one event (compact JSON, no newline inside). */
  void add(std::string_view event, EpochMillis time) {
    if (!ends_.empty()) data_.push_back('\n');
    data_.append(event);
    ends_.push_back(static_cast<std::uint32_t>(data_.size()));
    times_.push_back(time);
  }

  /** Writes the events into `buffer`'s storage (e.g. one from a BufferPool); drops contents. */
  void adoptBuffer(std::string buffer) {
    clear();
    data_ = std::move(buffer);
    data_.clear();
  }

  /** Room for `bytes` of joined events and `events` events, so filling never reallocates. */
  void reserve(std::size_t bytes, std::size_t events) {
    data_.reserve(bytes);
    ends_.reserve(events);
    times_.reserve(events);
  }

  std::size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }

  /** The events joined by '\n' (no trailing newline): exactly a JSON-lines body. */
  const std::string& joined() const { return data_; }

  /** Moves the joined events out (a body sent as is needs no copy); the batch is empty then. */
  std::string releaseJoined() {
    std::string out = std::move(data_);
    clear();
    return out;
  }

  std::string_view event(std::size_t i) const {
    std::size_t begin = i == 0 ? 0 : ends_[i - 1] + 1;
    return std::string_view(data_).substr(begin, ends_[i] - begin);
  }
  EpochMillis time(std::size_t i) const { return times_[i]; }

  /** Bytes of the events without separators. */
  std::size_t eventBytes() const { return data_.size() - (ends_.empty() ? 0 : ends_.size() - 1); }

  /**
   * Opaque position just after this batch's last event. A source resumes from it
   * exactly (RocksDB: the last key; a partitioned log: per-partition offsets).
   */
  std::string checkpoint;

  /** Stable identity of this batch's contents, for the Idempotency-Key. */
  std::string identity;

  void clear() {
    data_.clear();
    ends_.clear();
    times_.clear();
    checkpoint.clear();
    identity.clear();
  }

 private:
  std::string data_;
  std::vector<std::uint32_t> ends_;
  std::vector<EpochMillis> times_;
};

struct BatchLimits {
  std::size_t max_events = 1000;
  std::size_t max_bytes = 1 << 20;
};

}  // namespace audit
