#include "jobs/runtime.hpp"

namespace audit::jobs {

std::shared_ptr<RateLimiter> Runtime::rateLimiter(const std::string& name) {
  if (rate_limiters_generation_ != generation) {
    rate_limiters_.clear();
    rate_limiters_generation_ = generation;
  }
  const config::RegionSettings* settings = region(name);
  if (settings == nullptr || !settings->rate_limit.limited()) return nullptr;
  auto& limiter = rate_limiters_[name];
  if (!limiter) {
    const auto& limit = settings->rate_limit;
    auto rate = [](const auto& value) {
      return value ? std::optional<double>(static_cast<double>(*value)) : std::nullopt;
    };
    limiter =
        std::make_shared<RateLimiter>(rate(limit.events_per_second), rate(limit.bytes_per_second));
  }
  return limiter;
}

}  // namespace audit::jobs
