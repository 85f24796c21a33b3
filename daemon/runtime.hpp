#pragma once
// What the job engine shares: the loop, the worker pool, the store, the clock, and the
// configuration in force. Config and signer are replaced on reload and read on the loop
// thread only; counters are atomics because workers and metrics read them too.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "daemon/delivery_metrics.hpp"
#include "store/event_store.hpp"
#include "webhook/retry_policy.hpp"
#include "webhook/signer.hpp"

namespace audit::daemon {

struct Counters {
  std::atomic<std::uint64_t> events_ingested{0};
  std::atomic<std::uint64_t> events_sent{0};
  std::atomic<std::uint64_t> batches_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> retries{0};
  // signing.cache: signatures of delivered events reused from the store.
  std::atomic<std::uint64_t> signatures_reused{0};
};

struct Runtime {
  Runtime(boost::asio::any_io_executor loop_executor, boost::asio::thread_pool& pool,
          store::Store& event_store, const Clock& time, std::shared_ptr<const config::Config> cfg,
          webhook::SignerPtr signing)
      : loop(std::move(loop_executor)),
        workers(pool),
        store(event_store),
        clock(time),
        config(std::move(cfg)),
        signer(std::move(signing)),
        started(time.monotonicNow()) {}

  boost::asio::any_io_executor loop;
  boost::asio::thread_pool& workers;
  store::Store& store;
  const Clock& clock;

  std::shared_ptr<const config::Config> config;
  webhook::SignerPtr signer;  // null: deliveries are not signed
  /** The keys of signing.extra_jwks_file (JWK objects), served beside the signer's. */
  std::vector<std::string> extra_jwks;
  std::uint64_t generation = 0;  // bumped by every applied reload

  Counters counters;
  DeliveryMetrics delivery;  // per region; loop thread only
  MonoTime started;

  /** Called on the loop after every delivery attempt (webhook status, docs/formats.md). */
  std::function<void(const std::string& region, const webhook::AttemptResult&)> on_attempt;

  const config::RegionSettings* region(const std::string& name) const {
    auto it = config->regions.find(name);
    return it == config->regions.end() ? nullptr : &it->second;
  }
};

}  // namespace audit::daemon
