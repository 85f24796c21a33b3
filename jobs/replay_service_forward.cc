// ReplayService: each region's forwarding beside its replay job (jobs/replay_service.hpp,
// docs/forwarding.md).

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>

#include "jobs/job_request.hpp"
#include "jobs/replay_service.hpp"

namespace audit::jobs {
namespace asio = boost::asio;

void ReplayService::reconcileForwarders() {
  if (stopping_) return;
  for (auto it = forwarders_.begin(); it != forwarders_.end();) {
    const config::RegionSettings* region = runtime_.region(it->first);
    if (region == nullptr || !region->forward.enabled) {
      spdlog::info(
          "forward stops region={}: {}", it->first,
          region == nullptr ? "the region is no longer configured" : "forward.enabled is off");
      it->second->stop();
      retiring_.push_back(it->second);
      it = forwarders_.erase(it);
    } else {
      it->second->settingsChanged();
      ++it;
    }
  }
  for (const auto& [name, region] : runtime_.config->regions) {
    if (!region.forward.enabled || forwarders_.contains(name)) continue;
    auto source = sources_.sourceFor(name);
    auto forwarder = std::make_shared<Forwarder>(runtime_, static_cast<JobObserver&>(*this), name,
                                                 source ? *source : nullptr,
                                                 source ? std::string() : source.message());
    forwarders_[name] = forwarder;
    launch(forwarder);
  }
}

void ReplayService::launch(const ForwarderPtr& forwarder) {
  // A forwarder of the same region that is still storing its position goes first: the new
  // one starts from what it stored.
  std::vector<ForwarderPtr> predecessors;
  for (const auto& old : retiring_) {
    if (old->region() == forwarder->region()) predecessors.push_back(old);
  }
  auto run = [this, forwarder, predecessors]() -> asio::awaitable<void> {
    for (const auto& old : predecessors) co_await old->waitFinished();
    co_await forwarder->run();
  };
  asio::co_spawn(runtime_.loop, run(), [this, forwarder](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("forward region={} stopped by an exception: {}", forwarder->region(),
                         ex.what());
      }
    }
    std::erase(retiring_, forwarder);
  });
}

void ReplayService::wakeForwarder(const std::string& region) {
  if (auto it = forwarders_.find(region); it != forwarders_.end()) it->second->wake();
}

ForwardStatus ReplayService::forwardStatusOf(const std::string& region) const {
  if (auto it = forwarders_.find(region); it != forwarders_.end()) return it->second->status();
  ForwardStatus status;
  status.region = region;
  status.state = ForwardState::Disabled;
  status.reason = runtime_.region(region) == nullptr
                      ? "region " + region + " is not configured"
                      : "forward.enabled is off for region " + region;
  return status;
}

Outcome<ForwarderPtr> ReplayService::forwarderFor(const RegionName& named) const {
  if (stopping_) return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) return resolved.error();
  auto it = forwarders_.find(*resolved);
  if (it == forwarders_.end()) {
    return Refusal{409, "region " + *resolved + " does not forward (forward.enabled is off)", {}};
  }
  return it->second;
}

asio::awaitable<Outcome<ForwardStatus>> ReplayService::forwardStatus(RegionName named) {
  if (stopping_) co_return shuttingDown();
  auto resolved = resolveRegion(named, *runtime_.config);
  if (!resolved) co_return resolved.error();
  const std::string region = std::move(*resolved);
  auto it = forwarders_.find(region);
  if (it == forwarders_.end()) co_return forwardStatusOf(region);
  ForwarderPtr forwarder = it->second;
  co_await forwarder->refreshBacklog();
  co_return forwarder->status();
}

asio::awaitable<Outcome<ForwardStatus>> ReplayService::pauseForward(RegionName named) {
  auto found = forwarderFor(named);
  if (!found) co_return found.error();
  ForwarderPtr forwarder = std::move(*found);
  if (!co_await forwarder->pause()) {
    co_return Refusal{500, "the pause could not be stored; forwarding is paused until restart", {}};
  }
  co_await forwarder->refreshBacklog();
  co_return forwarder->status();
}

asio::awaitable<Outcome<ForwardStatus>> ReplayService::resumeForward(RegionName named) {
  auto found = forwarderFor(named);
  if (!found) co_return found.error();
  ForwarderPtr forwarder = std::move(*found);
  if (!co_await forwarder->resume()) {
    co_return Refusal{500, "forwarding resumed, but the resume could not be stored", {}};
  }
  co_await forwarder->refreshBacklog();
  co_return forwarder->status();
}

}  // namespace audit::jobs
