#pragma once
// Where each region's events are stored and read from: the local store, or the region's
// Kafka-API log (docs/kafka.md). A Kafka source is built once per region and kept — it holds
// the producer and the broker clients — until the configuration changes. A Kafka source that
// cannot be built is refused with the reason, never replaced by the local store: its events
// are not the region's, and what would be ingested there would never reach the log.
// Event loop only.

#include <map>
#include <string>

#include "common/expected.hpp"
#include "jobs/runtime.hpp"
#include "source/event_source.hpp"

namespace audit::jobs {

class SourceRegistry {
 public:
  explicit SourceRegistry(Runtime& runtime) : runtime_(runtime) {}

  /** The region's source; fails with the reason, which is also logged, when its Kafka
   *  source cannot be built. Never the local store in its place. */
  Expected<source::EventSourcePtr> sourceFor(const std::string& region);

  /** The configuration changed: Kafka sources are built again, from the new settings, when
   *  next needed (and checked then); a running job keeps the source it started with. */
  void configurationChanged() { kafka_sources_.clear(); }

 private:
  Runtime& runtime_;
  std::map<std::string, source::EventSourcePtr> kafka_sources_;
};

}  // namespace audit::jobs
