#include "jobs/delivery_metrics.hpp"

#include <boost/json/array.hpp>

namespace audit::jobs {

void DeliveryMetrics::attempt(const std::string& region, const webhook::AttemptResult& result) {
  const char* outcome = "transport_error";
  if (result.status >= 200 && result.status < 300) {
    outcome = "delivered";
  } else if (result.status != 0) {
    outcome = "http_error";
  }
  regions_[region].attempts[{outcome, result.status}] += 1;
}

void DeliveryMetrics::delivered(const std::string& region, std::uint64_t events,
                                std::uint64_t bytes, double seconds) {
  Region& r = regions_[region];
  r.events += events;
  r.batches += 1;
  r.bytes += bytes;
  for (std::size_t i = 0; i < kDeliveryBuckets.size(); ++i) {
    if (seconds <= kDeliveryBuckets[i]) {
      r.buckets[i] += 1;
      break;
    }
  }
  r.count += 1;
  r.sum += seconds;
}

boost::json::object DeliveryMetrics::toJson() const {
  boost::json::object out;
  for (const auto& [name, r] : regions_) {
    boost::json::array attempts;
    for (const auto& [key, count] : r.attempts) {
      attempts.push_back(
          boost::json::object{{"outcome", key.first}, {"code", key.second}, {"count", count}});
    }
    boost::json::array buckets;
    std::uint64_t cumulative = 0;
    for (const auto n : r.buckets) {
      cumulative += n;
      buckets.push_back(cumulative);
    }
    out[name] = boost::json::object{
        {"events_sent", r.events},
        {"batches_sent", r.batches},
        {"bytes_sent", r.bytes},
        {"attempts", std::move(attempts)},
        {"delivery_seconds",
         boost::json::object{{"buckets", std::move(buckets)}, {"count", r.count}, {"sum", r.sum}}},
    };
  }
  return out;
}

}  // namespace audit::jobs
