#pragma once
// What the job engine shares: the loop, the worker pool, the store, the clock, and the
// configuration in force. Config and signer are replaced on reload and read on the loop
// thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/rate_limit.hpp"
#include "common/scheduler.hpp"
#include "config/config.hpp"
#include "signing/signer.hpp"
#include "store/event_store.hpp"

namespace audit::jobs {

struct Runtime {
  Runtime(boost::asio::any_io_executor loop_executor, boost::asio::thread_pool& pool,
          store::Store& event_store, Scheduler& time, std::shared_ptr<const config::Config> cfg,
          signing::SignerPtr signing)
      : loop(std::move(loop_executor)),
        workers(pool),
        store(event_store),
        scheduler(time),
        clock(time.clock()),
        config(std::move(cfg)),
        signer(std::move(signing)),
        started(clock.monotonicNow()) {}

  boost::asio::any_io_executor loop;
  boost::asio::thread_pool& workers;
  store::Store& store;
  Scheduler& scheduler;  // every wait of the engine; real or simulated time
  const Clock& clock;    // the scheduler's

  std::shared_ptr<const config::Config> config;
  signing::SignerPtr signer;  // null: deliveries are not signed
  /** The keys of signing.extra_jwks_file (JWK objects), served beside the signer's. */
  std::vector<std::string> extra_jwks;
  std::uint64_t generation = 0;  // bumped by every applied reload

  MonoTime started;

  const config::RegionSettings* region(const std::string& name) const {
    auto it = config->regions.find(name);
    return it == config->regions.end() ? nullptr : &it->second;
  }

  /**
   * The region's rate_limit as configured now; null: unlimited. One limiter per region,
   * shared by its replay job and its forwarding, since the limit protects the region's
   * webhook. A reload makes new ones.
   */
  std::shared_ptr<RateLimiter> rateLimiter(const std::string& name);

 private:
  std::map<std::string, std::shared_ptr<RateLimiter>> rate_limiters_;
  std::uint64_t rate_limiters_generation_ = 0;
};

}  // namespace audit::jobs
