#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "api/control_server.hpp"
#include "api/export_streamer.hpp"
#include "api/http_api.hpp"
#include "api/protocol.hpp"
#include "api/spool_watcher.hpp"
#include "api/stats_source.hpp"
#include "common/cron.hpp"
#include "common/offload.hpp"
#include "daemon/logging.hpp"
#include "daemon/memory.hpp"
#include "daemon/systemd.hpp"
#include "jobs/replay_service.hpp"
#include "kafka/kafka_source.hpp"
#include "signing/jwks.hpp"

namespace audit::daemon {
namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr auto kRetentionEvery = std::chrono::minutes(10);
constexpr auto kStatusEvery = std::chrono::seconds(2);
constexpr auto kReleaseMemoryEvery = std::chrono::seconds(1);
// The webhook status is stored at most this often (and at shutdown), not synced per batch.
constexpr auto kWebhookFlushEvery = std::chrono::seconds(1);
// SIGTERM must end the process within 10 s (docs/systemd.md); jobs stop at their checkpoint well
// before this, the deadline only guards against a stuck store call.
constexpr auto kShutdownDeadline = std::chrono::seconds(8);

std::vector<std::string> regionNames(const config::Config& config) {
  std::vector<std::string> names;
  for (const auto& [name, region] : config.regions) names.push_back(name);
  return names;
}

/**
 * A Kafka source's properties are checked by librdkafka only when a client is made: a
 * reload makes one per Kafka region, so that a bad property refuses the reload (as it stops
 * the start) instead of refusing every later request of the region.
 */
void checkKafkaSources(config::LoadResult& loaded, const std::string& file_name) {
  if (!loaded.ok()) return;
  for (const auto& [name, region] : loaded.config->regions) {
    std::string error;
    if (region.kafka && !kafka::makeKafkaSource(*region.kafka, &error)) {
      loaded.errors.push_back({file_name, 0, 0, "regions." + name + ".source.kafka", error});
    }
  }
}

// Everything that lives as long as the loop runs. Members are declared in the order
// they must be destroyed in reverse: the loop's leftover handlers go while the workers and
// the store still exist (a coroutine suspended at shutdown, an export's, may hold a strand
// of the workers or a reader of the store), then the workers, then the store.
class Daemon {
 public:
  Daemon(const DaemonOptions& options, config::Config config, jobs::SigningKeys keys)
      : options_(options),
        keys_(std::move(keys)),
        workers_(std::max(2u, std::thread::hardware_concurrency())),
        signals_(loop_, SIGINT, SIGTERM, SIGHUP),
        cron_(loop_.get_executor(), scheduler_),
        deadline_(loop_) {
    config_ = std::make_shared<const config::Config>(std::move(config));
  }

  /** Joins the workers first: their last tasks may still post to the loop. */
  ~Daemon() { workers_.join(); }

  int run();

 private:
  int open();
  asio::awaitable<void> main();
  asio::awaitable<void> stop();
  asio::awaitable<void> handleSignals();
  void scheduleHousekeeping();
  asio::awaitable<void> applyRetention();
  void reload();

  DaemonOptions options_;
  std::shared_ptr<const config::Config> config_;
  jobs::SigningKeys keys_;  // as loaded at start, until the runtime takes them
  RealScheduler scheduler_;
  store::StorePtr store_;
  asio::thread_pool workers_;
  asio::io_context loop_{1};
  std::unique_ptr<jobs::Runtime> runtime_;
  std::unique_ptr<jobs::ReplayService> service_;
  std::unique_ptr<api::Protocol> protocol_;  // the front ends' JSON over service_
  std::unique_ptr<api::EngineStats> stats_;  // /metrics' typed stats of service_
  std::shared_ptr<api::ControlServer> control_;
  std::unique_ptr<api::ExportStreamer> exporter_;  // the export op over service_
  std::shared_ptr<api::SpoolWatcher> spool_;
  std::shared_ptr<api::HttpApi> http_;
  asio::signal_set signals_;
  Cron cron_;  // retention, status, watchdog, memory release, webhook-state flush
  std::string last_status_;
  asio::steady_timer deadline_;
  bool stopping_ = false;
  int exit_code_ = kExitOk;
};

int Daemon::open() {
  std::string detail;
  auto opened = store::Store::open(store::StoreOptions{config_->data_dir}, &detail);
  if (!opened) {
    spdlog::critical("cannot open the store in {}: {}{}{}", config_->data_dir.string(),
                     opened.error().message(), detail.empty() ? "" : ": ", detail);
    return kExitStore;
  }
  store_ = std::move(*opened);

  runtime_ = std::make_unique<jobs::Runtime>(loop_.get_executor(), workers_, *store_, scheduler_,
                                             config_, std::move(keys_.signer));
  runtime_->extra_jwks = std::move(keys_.extra_jwks);
  service_ = std::make_unique<jobs::ReplayService>(*runtime_);
  protocol_ = std::make_unique<api::Protocol>(*service_);
  stats_ = std::make_unique<api::EngineStats>(*service_);

  auto fds = systemd::takeListenFds();
  auto control = api::ControlServer::create(loop_.get_executor(), config_->control, *protocol_,
                                            fds.empty() ? -1 : fds.front());
  if (!control) {
    spdlog::critical("{}", control.message());
    return kExitConfig;
  }
  control_ = std::move(*control);
  exporter_ = std::make_unique<api::ExportStreamer>(*service_, workers_);
  control_->setStreamHandler(std::string(api::toString(api::Op::Export)),
                             [exporter = exporter_.get()](boost::json::object request,
                                                          api::ControlServer::Socket& socket) {
                               return exporter->stream(std::move(request), socket);
                             });
  spool_ = std::make_shared<api::SpoolWatcher>(loop_.get_executor(), workers_,
                                               config_->control.spool_dir,
                                               config_->control.poll_interval, *protocol_);
  if (Expected<> prepared = spool_->prepare(); !prepared) {
    spdlog::critical("{}", prepared.message());
    return kExitConfig;
  }
  if (config_->http) {
    auto http = api::HttpApi::create(loop_.get_executor(), *config_->http, *protocol_, *stats_);
    if (!http) {
      spdlog::critical("http: {}", http.message());
      return kExitConfig;
    }
    http_ = std::move(*http);
    http_->setRegions(regionNames(*config_));
  }
  std::string error;
  for (const auto& [name, region] : config_->regions) {
    // A Kafka source's properties are checked by librdkafka only when a client is made;
    // make one now so a bad property is a configuration error, not a surprise at ingest.
    if (region.kafka && !kafka::makeKafkaSource(*region.kafka, &error)) {
      spdlog::critical("regions.{}.source.kafka: {}", name, error);
      return kExitConfig;
    }
    if (region.webhook.configured() && region.webhook.skip_ssl_verification) {
      spdlog::warn(
          "region={} webhook.skip_ssl_verification is on: TLS certificates of {} are "
          "not verified",
          name, config::withoutPassword(region.webhook.endpoint));
    }
  }
  return kExitOk;
}

int Daemon::run() {
  if (int code = open(); code != kExitOk) return code;
  asio::co_spawn(loop_, main(), [this](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("stopped by an internal error: {}", ex.what());
      }
      exit_code_ = kExitJobFailed;
      loop_.stop();
    }
  });
  loop_.run();
  // Work still queued on the pool may post back to the loop; let it drain first.
  workers_.join();
  return exit_code_;
}

asio::awaitable<void> Daemon::main() {
  const Expected<> started = co_await service_->start();
  if (!started) {
    spdlog::critical("{}", started.message());
    exit_code_ = kExitStore;
    loop_.stop();
    co_return;
  }
  control_->start();
  if (http_) http_->start();
  asio::co_spawn(loop_, handleSignals(), asio::detached);
  scheduleHousekeeping();
  spdlog::info("audit-replayd {} ready: store={} socket={} regions={}{}", AUDIT_REPLAY_VERSION,
               config_->data_dir.string(), config_->control.socket.string(),
               config_->regions.size(),
               config_->http ? " http=" + config_->http->listen : std::string());
  systemd::notifyReady();
  systemd::notifyStatus(service_->statusLine());

  co_await service_->submitConfiguredJobs();
  if (options_.once) {
    co_await spool_->scanOnce();
    bool all_completed = co_await service_->waitIdle();
    if (!stopping_) {
      exit_code_ = all_completed ? kExitOk : kExitJobFailed;
      co_await stop();
    }
    co_return;
  }
  spool_->start();
}

asio::awaitable<void> Daemon::stop() {
  if (stopping_) co_return;
  stopping_ = true;
  spdlog::info("stopping: jobs are checkpointed and resume at the next start");
  systemd::notifyStopping();
  deadline_.expires_after(kShutdownDeadline);
  deadline_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      spdlog::error("shutdown took over {} s; exiting without waiting further",
                    kShutdownDeadline.count());
      loop_.stop();
    }
  });
  control_->stop();
  spool_->stop();
  if (http_) http_->stop();
  co_await service_->shutdown();
  signals_.cancel();
  cron_.stop();
  deadline_.cancel();
  loop_.stop();
}

asio::awaitable<void> Daemon::handleSignals() {
  for (;;) {
    auto [ec, signal] = co_await signals_.async_wait(as_tuple(use_awaitable));
    if (ec) co_return;
    if (signal == SIGHUP) {
      reload();
      continue;
    }
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    co_await stop();
    co_return;
  }
}

void Daemon::reload() {
  if (options_.config_file.empty()) {
    spdlog::warn("SIGHUP ignored: started without --config");
    return;
  }
  systemd::notifyReloading();
  auto loaded = config::loadConfigFile(options_.config_file);
  jobs::SigningKeys keys = jobs::loadSigningKeys(loaded, options_.config_file.string());
  checkKafkaSources(loaded, options_.config_file.string());
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) {
      spdlog::error("{}", config::redactUrlPasswords(e.toString()));
    }
    spdlog::error("reload refused: {} error(s); the running configuration is kept",
                  loaded.errors.size());
    systemd::notifyReady();
    return;
  }
  const config::Config& next = *loaded.config;
  if (next.data_dir != config_->data_dir || next.control.socket != config_->control.socket ||
      next.control.spool_dir != config_->control.spool_dir ||
      next.http.has_value() != config_->http.has_value() ||
      (next.http && next.http->listen != config_->http->listen)) {
    spdlog::warn(
        "data_dir, control.socket, control.spool_dir and http.listen take effect at "
        "the next start");
  }
  if (http_ && next.http) {
    if (Expected<> reloaded = http_->reload(*next.http); !reloaded) {
      spdlog::error("reload: http: {}; keeping the previous tokens", reloaded.message());
    }
  }
  config_ = std::make_shared<const config::Config>(*loaded.config);
  runtime_->config = config_;
  runtime_->signer = std::move(keys.signer);
  runtime_->extra_jwks = std::move(keys.extra_jwks);
  runtime_->generation += 1;
  applyLogSettings(config_->log);
  spool_->setInterval(config_->control.poll_interval);
  service_->configurationChanged();
  if (http_) http_->setRegions(regionNames(*config_));
  spdlog::info("configuration reloaded from {}: {} region(s)", options_.config_file.string(),
               config_->regions.size());
  systemd::notifyReady();
  asio::co_spawn(loop_, service_->submitConfiguredJobs(), asio::detached);
}

void Daemon::scheduleHousekeeping() {
  cron_.every(
      kRetentionEvery, "retention", [this] { return applyRetention(); }, /*run_now=*/true);
  cron_.every(kStatusEvery, "status", [this]() -> asio::awaitable<void> {
    std::string line = service_->statusLine();
    if (line != last_status_) systemd::notifyStatus(line);
    last_status_ = std::move(line);
    co_return;
  });
  if (auto every = systemd::watchdogPingInterval()) {
    // Pinged from the loop itself, so a stuck loop stops the pings and systemd restarts us.
    cron_.every(
        std::chrono::duration_cast<Millis>(*every), "watchdog",
        []() -> asio::awaitable<void> {
          systemd::notifyWatchdog();
          co_return;
        },
        /*run_now=*/true);
  }
  // The allocator keeps some free memory for speed (daemon/memory.cc); what it does not need
  // goes back to the kernel here, off the loop thread.
  cron_.every(kReleaseMemoryEvery, "memory", [this]() -> asio::awaitable<void> {
    auto work = [] { releaseFreeMemory(); };
    co_await offload(workers_, work);
  });
  cron_.every(kWebhookFlushEvery, "webhook status",
              [this] { return service_->flushWebhookStates(); });
  cron_.start();
}

asio::awaitable<void> Daemon::applyRetention() {
  EpochMillis cutoff = scheduler_.clock().nowMillis() - config_->retention.count();
  auto work = [&store = *store_, cutoff] { return store.removeBefore(cutoff); };
  auto removed = co_await offload(workers_, work);
  if (!removed) spdlog::error("retention: {}", removed.error().message());
}

}  // namespace

int runDaemon(const DaemonOptions& options, config::Config config, jobs::SigningKeys keys) {
  Daemon daemon(options, std::move(config), std::move(keys));
  return daemon.run();
}

}  // namespace audit::daemon
