#pragma once
// An EventSource kept in memory: the third implementation the source contract suite runs
// over (tests/kafka/source_contract_test.cc), and the source of engine tests that need events
// without RocksDB or a broker (tests/jobs/replay_job_test.cc). Thread-safe.
//
// Events are kept in (time, arrival) order, deduplicated by bytes like the local store; a
// checkpoint is the number of events of the reader's snapshot already read, in decimal.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "source/event_source.hpp"
#include "source/event_time.hpp"

namespace audit::fakes {

class MemorySource final : public source::EventSource {
 public:
  source::Result<source::IngestReport> ingest(std::span<const std::string_view> events,
                                              bool skip_invalid, std::size_t index_base) override {
    source::IngestReport report;
    std::vector<std::pair<EpochMillis, std::string>> good;
    for (std::size_t i = 0; i < events.size(); ++i) {
      std::string text = compact(trim(events[i]));
      source::EventTime time = source::extractEventTime(text);
      if (!time.ok) {
        report.rejected.push_back({index_base + i, time.reason});
        continue;
      }
      good.emplace_back(time.ms, std::move(text));
    }
    if (!report.rejected.empty() && !skip_invalid) return report;
    std::lock_guard lock(mutex_);
    for (auto& [time, text] : good) {
      if (!seen_.insert(text).second) {
        ++report.duplicates;
        continue;
      }
      events_.emplace(std::make_pair(time, next_seq_++), std::move(text));
      ++report.ingested;
    }
    return report;
  }

  source::Result<std::uint64_t> count(source::TimeRange range) override {
    return snapshot(range).size();
  }

  source::Result<source::EventReaderPtr> openReader(source::TimeRange range,
                                                    std::string_view checkpoint) override {
    std::size_t position = 0;
    if (!checkpoint.empty()) {
      auto [ptr, ec] =
          std::from_chars(checkpoint.data(), checkpoint.data() + checkpoint.size(), position);
      if (ec != std::errc() || ptr != checkpoint.data() + checkpoint.size()) {
        return source::Errc::invalid_argument;
      }
    }
    return source::EventReaderPtr(std::make_unique<Reader>(snapshot(range), position));
  }

 private:
  using Event = std::pair<EpochMillis, std::string>;

  class Reader final : public source::EventReader {
   public:
    Reader(std::vector<Event> events, std::size_t position)
        : events_(std::move(events)), position_(std::min(position, events_.size())) {}

    source::Result<void> next(EventBatch& out, BatchLimits limits) override {
      out.clear();
      const std::size_t first = position_;
      std::size_t bytes = 0;
      while (position_ < events_.size() &&
             out.size() < std::max<std::size_t>(limits.max_events, 1)) {
        const Event& e = events_[position_];
        if (!out.empty() && bytes + e.second.size() > limits.max_bytes) break;
        out.add(e.second, e.first);
        bytes += e.second.size();
        ++position_;
      }
      if (out.empty()) return {};
      out.checkpoint = std::to_string(position_);
      out.identity = std::to_string(first) + "-" + std::to_string(position_);
      return {};
    }

   private:
    std::vector<Event> events_;
    std::size_t position_;
  };

  static std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n";
    std::size_t begin = text.find_first_not_of(kSpace);
    if (begin == std::string_view::npos) return {};
    return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
  }

  /** Valid JSON without white space outside strings: one line, as the store keeps it. */
  static std::string compact(std::string_view text) {
    if (text.find_first_of("\r\n") == std::string_view::npos) return std::string(text);
    std::string out;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        continue;
      }
      out.push_back(c);
    }
    return out;
  }

  std::vector<Event> snapshot(source::TimeRange range) {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    for (const auto& [key, text] : events_) {
      if (key.first >= range.first && key.first <= range.last) out.emplace_back(key.first, text);
    }
    return out;
  }

  std::mutex mutex_;
  std::map<std::pair<EpochMillis, std::uint64_t>, std::string> events_;
  std::set<std::string> seen_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace audit::fakes
