#pragma once
// Events, reading helpers and a log capture shared by the Kafka tests.

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/event_batch.hpp"
#include "source/event_source.hpp"
#include "source/event_time.hpp"

namespace audit::kafka::testing {

inline constexpr source::TimeRange kAllTime{std::numeric_limits<EpochMillis>::min(),
                                            std::numeric_limits<EpochMillis>::max()};

/** A small event at time `rt` whose bytes differ by `tag`. */
inline std::string event(EpochMillis rt, std::string_view tag) {
  return R"({"rt":)" + std::to_string(rt) + R"(,"id":")" + std::string(tag) + R"("})";
}

struct ReadEvent {
  EpochMillis time;
  std::string bytes;
  bool operator==(const ReadEvent&) const = default;
  auto operator<=>(const ReadEvent&) const = default;
};

inline std::vector<std::string_view> views(const std::vector<std::string>& events) {
  return {events.begin(), events.end()};
}

/** Appends a batch's events, checking what every batch promises. */
inline void collect(const EventBatch& batch, BatchLimits limits, std::vector<ReadEvent>& out) {
  EXPECT_LE(batch.size(), std::max<std::size_t>(limits.max_events, 1));
  if (batch.size() > 1) {
    EXPECT_LE(batch.eventBytes(), limits.max_bytes);
  }
  EXPECT_FALSE(batch.checkpoint.empty());
  EXPECT_FALSE(batch.identity.empty());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(batch.time(i - 1), batch.time(i)) << "batch not in time order";
    }
    out.push_back({batch.time(i), std::string(batch.event(i))});
  }
}

/** Reads `reader` to its end; stops (with a failure) on an error. */
inline std::vector<ReadEvent> drain(source::EventReader& reader, BatchLimits limits = {}) {
  std::vector<ReadEvent> out;
  EventBatch batch;
  for (;;) {
    auto r = reader.next(batch, limits);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || batch.empty()) break;
    collect(batch, limits, out);
  }
  return out;
}

inline std::vector<ReadEvent> sorted(std::vector<ReadEvent> events) {
  std::sort(events.begin(), events.end());
  return events;
}

/**
 * Collects what is logged from construction on, besides printing it as before.
 *
 * librdkafka's threads log at any moment, also while a test's sources are being destroyed,
 * and spdlog::warn reads the default logger through a raw pointer without a lock: replacing
 * the default logger while they run would free it under them. So the capturing logger is
 * installed once per test program and never replaced, and the logger it replaced is kept
 * alive; a LogCapture only clears and reads the collected text.
 */
class LogCapture {
 public:
  LogCapture() { sink().clear(); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() { return sink().text(); }

 private:
  class Sink final : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string text() {
      std::lock_guard lock(mutex_);
      return text_;
    }
    void clear() {
      std::lock_guard lock(mutex_);
      text_.clear();
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      spdlog::memory_buf_t formatted;
      formatter_->format(msg, formatted);
      text_.append(formatted.data(), formatted.size());
    }
    void flush_() override {}

   private:
    std::string text_;
  };

  static Sink& sink() {
    struct Installed {
      std::shared_ptr<spdlog::logger> previous;
      std::shared_ptr<Sink> capture;
    };
    // Never freed: both loggers must outlive every thread that may still log.
    static Installed* const installed = [] {
      auto* kept = new Installed{spdlog::default_logger(), std::make_shared<Sink>()};
      std::vector<spdlog::sink_ptr> sinks = kept->previous->sinks();
      sinks.push_back(kept->capture);
      auto logger = std::make_shared<spdlog::logger>("capture", sinks.begin(), sinks.end());
      logger->set_level(spdlog::level::info);
      spdlog::set_default_logger(std::move(logger));  // the registry keeps it
      return kept;
    }();
    return *installed->capture;
  }
};

}  // namespace audit::kafka::testing
