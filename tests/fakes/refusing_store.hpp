#pragma once
// A store::Store that passes everything to a real store, except that job records are refused
// (no space) once `job_writes_left` reaches 0: how engine tests make a status transition
// fail to be stored. The counters are atomic: set by the test, read on the workers.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/event_store.hpp"

namespace audit::fakes {

/** The real store, except that job records are refused once `job_writes_left` is 0. */
class RefusingStore final : public store::Store {
 public:
  explicit RefusingStore(store::Store& inner) : inner_(inner) {}

  std::atomic<int> job_writes_left{-1};  // -1: no limit
  std::atomic<int> refused{0};

  source::EventSourcePtr region(std::string_view name) override { return inner_.region(name); }
  source::Result<void> putRecord(store::RecordKind kind, std::string_view key,
                                 std::string_view value) override {
    if (kind == store::RecordKind::Job && job_writes_left >= 0) {
      if (job_writes_left == 0) {
        ++refused;
        return source::Errc::no_space;
      }
      --job_writes_left;
    }
    return inner_.putRecord(kind, key, value);
  }
  source::Result<std::optional<std::string>> getRecord(store::RecordKind kind,
                                                       std::string_view key) override {
    return inner_.getRecord(kind, key);
  }
  source::Result<std::vector<std::pair<std::string, std::string>>> listRecords(
      store::RecordKind kind) override {
    return inner_.listRecords(kind);
  }
  source::Result<std::size_t> removeBefore(EpochMillis cutoff) override {
    return inner_.removeBefore(cutoff);
  }
  std::uint64_t approximateSize() override { return inner_.approximateSize(); }
  bool healthy() override { return inner_.healthy(); }

 private:
  store::Store& inner_;
};

}  // namespace audit::fakes
