#include "jobs/source_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kafka/kafka_source.hpp"

namespace audit::jobs {

Expected<source::EventSourcePtr> SourceRegistry::sourceFor(const std::string& region) {
  const config::RegionSettings* settings = runtime_.region(region);
  if (settings == nullptr || !settings->kafka) return runtime_.store.region(region);
  if (auto it = kafka_sources_.find(region); it != kafka_sources_.end()) return it->second;
  kafka::KafkaSourceOptions options;
  options.fetch_timeout = settings->retry.max_elapsed;
  // A lookup takes at most a quarter of the retry budget for an unreachable cluster, so a
  // few attempts fit in it whatever retry.max_elapsed is.
  options.request_timeout = std::min(options.request_timeout, settings->retry.max_elapsed / 4);
  std::string detail;
  auto source = kafka::makeKafkaSource(*settings->kafka, options, &detail);
  if (!source) {
    std::string reason = "the Kafka source of region " + region +
                         " cannot be used: " + (detail.empty() ? source.error().message() : detail);
    spdlog::error("region={} {}", region, reason);
    return Failure{std::move(reason)};
  }
  kafka_sources_[region] = *source;
  return *source;
}

}  // namespace audit::jobs
