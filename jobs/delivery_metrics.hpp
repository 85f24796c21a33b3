#pragma once
// Per-region delivery counters for GET /metrics: events, batches and bytes delivered, every
// attempt by outcome and status code, and how long batches took to be delivered. Updated and
// read on the loop thread only (attempts, deliveries and the stats op all run there).

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "webhook/retry_policy.hpp"

namespace audit::jobs {

/** Upper bounds (seconds) of the delivery-duration histogram's buckets; +Inf is implied. */
inline constexpr std::array<double, 14> kDeliveryBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                         1,     2.5,  5,     10,   30,  60,   300};

class DeliveryMetrics {
 public:
  /** One region's counters. */
  struct Region {
    std::uint64_t events = 0;
    std::uint64_t batches = 0;
    std::uint64_t bytes = 0;
    std::map<std::pair<std::string, int>, std::uint64_t> attempts;  // (outcome, code); 0: none
    std::array<std::uint64_t, kDeliveryBuckets.size()> buckets{};   // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };

  /** One webhook attempt: "delivered" (2xx), "http_error" (any other answer) or
   *  "transport_error" (no answer: connect, TLS, timeout, reset). */
  void attempt(const std::string& region, const webhook::AttemptResult& result);
  /** A batch answered 2xx, `seconds` after its first attempt started (retries included). */
  void delivered(const std::string& region, std::uint64_t events, std::uint64_t bytes,
                 double seconds);

  /**
   * {"<region>": {"events_sent":…, "batches_sent":…, "bytes_sent":…,
   *   "attempts": [{"outcome":…, "code":…, "count":…}, …],
   *   "delivery_seconds": {"buckets":[cumulative counts, one per kDeliveryBuckets], "count":…,
   *   "sum":…}}} — the "delivery" part of the stats op.
   */
  boost::json::object toJson() const;

  /** Every region's counters, by name (what /metrics renders). */
  const std::map<std::string, Region>& regions() const { return regions_; }

 private:
  std::map<std::string, Region> regions_;
};

}  // namespace audit::jobs
