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

#include "daemon/control_server.hpp"
#include "daemon/export_stream.hpp"
#include "daemon/http_api.hpp"
#include "daemon/logging.hpp"
#include "daemon/memory.hpp"
#include "daemon/offload.hpp"
#include "daemon/replay_service.hpp"
#include "daemon/spool_watcher.hpp"
#include "daemon/systemd.hpp"
#include "kafka/kafka_source.hpp"
#include "webhook/jwks.hpp"

namespace audit::daemon {
namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr auto kRetentionEvery = std::chrono::minutes(10);
constexpr auto kStatusEvery = std::chrono::seconds(2);
constexpr auto kReleaseMemoryEvery = std::chrono::seconds(1);
// SIGTERM must end the process within 10 s (docs/systemd.md); jobs stop at their checkpoint well
// before this, the deadline only guards against a stuck store call.
constexpr auto kShutdownDeadline = std::chrono::seconds(8);

std::vector<std::string> regionNames(const config::Config& config) {
  std::vector<std::string> names;
  for (const auto& [name, region] : config.regions) names.push_back(name);
  return names;
}

webhook::SignerPtr loadSigner(const config::Config& config, std::string* error) {
  if (!config.signing) return nullptr;
  return webhook::Signer::loadPem(config.signing->key_file, error);
}

/** The keys of signing.extra_jwks_file; false with *error when the file is not a JWKS. */
bool loadExtraJwks(const config::Config& config, std::vector<std::string>* keys,
                   std::string* error) {
  keys->clear();
  if (!config.signing || !config.signing->extra_jwks_file) return true;
  auto loaded = webhook::loadJwksFile(*config.signing->extra_jwks_file, error);
  if (!loaded) return false;
  *keys = std::move(*loaded);
  return true;
}

// Everything that lives as long as the loop runs. Members are declared in the order
// they must be destroyed in reverse: workers join before the store closes.
class Daemon {
 public:
  Daemon(const DaemonOptions& options, config::Config config)
      : options_(options),
        workers_(std::max(2u, std::thread::hardware_concurrency())),
        signals_(loop_, SIGINT, SIGTERM, SIGHUP),
        retention_timer_(loop_),
        status_timer_(loop_),
        watchdog_timer_(loop_),
        memory_timer_(loop_),
        deadline_(loop_) {
    config_ = std::make_shared<const config::Config>(std::move(config));
  }

  int run();

 private:
  int open();
  asio::awaitable<void> main();
  asio::awaitable<void> stop();
  asio::awaitable<void> handleSignals();
  asio::awaitable<void> retentionLoop();
  asio::awaitable<void> statusLoop();
  asio::awaitable<void> watchdogLoop(std::chrono::microseconds every);
  asio::awaitable<void> releaseMemoryLoop();
  void reload();

  DaemonOptions options_;
  std::shared_ptr<const config::Config> config_;
  RealClock clock_;
  asio::io_context loop_{1};
  store::StorePtr store_;
  asio::thread_pool workers_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<ReplayService> service_;
  std::shared_ptr<ControlServer> control_;
  std::unique_ptr<ExportStreamer> exporter_;
  std::shared_ptr<SpoolWatcher> spool_;
  std::shared_ptr<HttpApi> http_;
  asio::signal_set signals_;
  asio::steady_timer retention_timer_;
  asio::steady_timer status_timer_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer memory_timer_;
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

  std::string error;
  auto signer = loadSigner(*config_, &error);
  if (config_->signing && !signer) {
    spdlog::critical("signing.key_file: {}", error);
    return kExitConfig;
  }
  std::vector<std::string> extra_jwks;
  if (!loadExtraJwks(*config_, &extra_jwks, &error)) {
    spdlog::critical("signing.extra_jwks_file: {}", error);
    return kExitConfig;
  }
  runtime_ =
      std::make_unique<Runtime>(loop_.get_executor(), workers_, *store_, clock_, config_, signer);
  runtime_->extra_jwks = std::move(extra_jwks);
  service_ = std::make_unique<ReplayService>(*runtime_);

  auto fds = systemd::takeListenFds();
  control_ = ControlServer::create(loop_.get_executor(), config_->control, *service_,
                                   fds.empty() ? -1 : fds.front(), &error);
  if (!control_) {
    spdlog::critical("{}", error);
    return kExitConfig;
  }
  exporter_ = std::make_unique<ExportStreamer>(
      *runtime_,
      [service = service_.get()](const std::string& r) { return service->sourceFor(r); });
  control_->setStreamHandler("export", [exporter = exporter_.get()](boost::json::object request,
                                                                    ControlServer::Socket& socket) {
    return exporter->stream(std::move(request), socket);
  });
  spool_ =
      std::make_shared<SpoolWatcher>(loop_.get_executor(), workers_, config_->control.spool_dir,
                                     config_->control.poll_interval, *service_);
  if (!spool_->prepare(&error)) {
    spdlog::critical("{}", error);
    return kExitConfig;
  }
  if (config_->http) {
    http_ = HttpApi::create(loop_.get_executor(), *config_->http, *service_, &error);
    if (!http_) {
      spdlog::critical("http: {}", error);
      return kExitConfig;
    }
    http_->setRegions(regionNames(*config_));
  }
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
  std::string error;
  bool started = co_await service_->start(&error);
  if (!started) {
    spdlog::critical("{}", error);
    exit_code_ = kExitStore;
    loop_.stop();
    co_return;
  }
  control_->start();
  if (http_) http_->start();
  asio::co_spawn(loop_, handleSignals(), asio::detached);
  asio::co_spawn(loop_, retentionLoop(), asio::detached);
  asio::co_spawn(loop_, statusLoop(), asio::detached);
  asio::co_spawn(loop_, releaseMemoryLoop(), asio::detached);
  if (auto every = systemd::watchdogPingInterval()) {
    asio::co_spawn(loop_, watchdogLoop(*every), asio::detached);
  }
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
  retention_timer_.cancel();
  status_timer_.cancel();
  watchdog_timer_.cancel();
  memory_timer_.cancel();
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
  std::string error;
  webhook::SignerPtr signer;
  if (loaded.ok()) {
    signer = loadSigner(*loaded.config, &error);
    if (loaded.config->signing && !signer) {
      loaded.errors.push_back({options_.config_file.string(), 0, 0, "signing.key_file", error});
    }
  }
  std::vector<std::string> extra_jwks;
  if (loaded.ok() && !loadExtraJwks(*loaded.config, &extra_jwks, &error)) {
    loaded.errors.push_back(
        {options_.config_file.string(), 0, 0, "signing.extra_jwks_file", error});
  }
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
  if (http_ && next.http && !http_->reload(*next.http, &error)) {
    spdlog::error("reload: http: {}; keeping the previous tokens", error);
  }
  config_ = std::make_shared<const config::Config>(*loaded.config);
  runtime_->config = config_;
  runtime_->signer = signer;
  runtime_->extra_jwks = std::move(extra_jwks);
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

asio::awaitable<void> Daemon::retentionLoop() {
  while (!stopping_) {
    EpochMillis cutoff = clock_.nowMillis() - config_->retention.count();
    auto work = [&store = *store_, cutoff] { return store.removeBefore(cutoff); };
    auto removed = co_await offload(workers_, work);
    if (!removed) spdlog::error("retention: {}", removed.error().message());
    retention_timer_.expires_after(kRetentionEvery);
    auto [ec] = co_await retention_timer_.async_wait(as_tuple(use_awaitable));
    if (ec) co_return;
  }
}

asio::awaitable<void> Daemon::statusLoop() {
  std::string last;
  while (!stopping_) {
    status_timer_.expires_after(kStatusEvery);
    auto [ec] = co_await status_timer_.async_wait(as_tuple(use_awaitable));
    if (ec) co_return;
    std::string line = service_->statusLine();
    if (line != last) systemd::notifyStatus(line);
    last = std::move(line);
  }
}

// Pinged from the loop itself, so a stuck loop stops the pings and systemd restarts us.
asio::awaitable<void> Daemon::watchdogLoop(std::chrono::microseconds every) {
  while (!stopping_) {
    systemd::notifyWatchdog();
    watchdog_timer_.expires_after(every);
    auto [ec] = co_await watchdog_timer_.async_wait(as_tuple(use_awaitable));
    if (ec) co_return;
  }
}

// The allocator keeps some free memory for speed (daemon/memory.cc); what it does not need
// goes back to the kernel here, off the loop thread.
asio::awaitable<void> Daemon::releaseMemoryLoop() {
  while (!stopping_) {
    memory_timer_.expires_after(kReleaseMemoryEvery);
    auto [ec] = co_await memory_timer_.async_wait(as_tuple(use_awaitable));
    if (ec) co_return;
    auto work = [] { releaseFreeMemory(); };
    co_await offload(workers_, work);
  }
}

}  // namespace

int runDaemon(const DaemonOptions& options, config::Config config) {
  Daemon daemon(options, std::move(config));
  return daemon.run();
}

}  // namespace audit::daemon
