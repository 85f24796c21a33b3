#include "daemon/replay_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "daemon/job_request.hpp"
#include "daemon/offload.hpp"
#include "kafka/kafka_source.hpp"
#include "webhook/jwks.hpp"

namespace audit::daemon {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::use_awaitable;

namespace {
constexpr auto kNever = asio::steady_timer::time_point::max();
constexpr auto kWebhookFlushEvery = std::chrono::seconds(1);

json::object ok(int code = 200) {
  json::object o;
  o["ok"] = true;
  o["code"] = code;
  return o;
}

json::object fail(int code, std::string error) {
  json::object o;
  o["ok"] = false;
  o["code"] = code;
  o["error"] = std::move(error);
  return o;
}

json::object fail(const Refusal& refusal) {
  return refusalAnswer(refusal);
}
}  // namespace

ReplayService::ReplayService(Runtime& runtime)
    : runtime_(runtime), idle_signal_(runtime.loop, kNever), flush_timer_(runtime.loop, kNever) {
  runtime_.on_attempt = [this](const std::string& region, const webhook::AttemptResult& a) {
    onAttempt(region, a);
  };
}

// A region's events live in the local store, or in a Kafka-API log (docs/kafka.md). A Kafka
// source is created once per region and kept: it holds the producer and broker clients.
store::EventSourcePtr ReplayService::sourceFor(const std::string& region) {
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
    spdlog::error("region={} kafka source unusable: {}; using the local store", region, detail);
    return runtime_.store.region(region);
  }
  kafka_sources_[region] = *source;
  return *source;
}

asio::awaitable<bool> ReplayService::start(std::string* error) {
  auto read_overrides = [&store = runtime_.store] {
    return store.listRecords(store::RecordKind::WebhookOverride);
  };
  auto stored_overrides = co_await offload(runtime_.workers, read_overrides);
  if (!stored_overrides) {
    *error = "cannot read webhook settings: " + stored_overrides.error().message();
    co_return false;
  }
  for (auto& [region, text] : *stored_overrides) {
    auto parsed = WebhookOverride::parse(text);
    if (!parsed) {
      spdlog::error("webhook settings of region={} are unreadable; the file's are used", region);
    } else if (!parsed->empty()) {
      spdlog::info(
          "region={} webhook: settings changed over the API are in force "
          "(audit-replayctl webhook reset --region {} drops them)",
          region, region);
      if (parsed->skip_ssl_verification.value_or(false)) {
        spdlog::warn(
            "region={} webhook: TLS certificate verification is OFF (changed over the API)",
            region);
      }
      overrides_[region] = std::move(*parsed);
    }
  }
  file_config_ = runtime_.config;
  file_loaded_ms_ = runtime_.clock.nowMillis();
  applyOverrides();

  auto work = [&store = runtime_.store] {
    auto jobs = store.listRecords(store::RecordKind::Job);
    auto hooks = store.listRecords(store::RecordKind::WebhookStatus);
    return std::make_pair(std::move(jobs), std::move(hooks));
  };
  auto loaded = co_await offload(runtime_.workers, work);
  if (!loaded.first || !loaded.second) {
    *error = "cannot read job records: " +
             (loaded.first ? loaded.second.error() : loaded.first.error()).message();
    co_return false;
  }
  for (auto& [region, text] : *loaded.second) {
    if (auto state = WebhookState::parse(text)) webhooks_[region] = *state;
  }
  for (auto& [region, text] : *loaded.first) {
    auto record = parseRecord(text);
    if (!record) {
      spdlog::error("job record of region={} is unreadable; ignoring it", region);
      continue;
    }
    auto job = std::make_shared<ReplayJob>(runtime_, *record, sourceFor(region));
    jobs_[region] = job;
    if (isActive(record->status)) {
      if (runtime_.region(region) == nullptr) {
        spdlog::warn("job region={} job={} resumes but its region is no longer configured", region,
                     record->id);
      }
      spdlog::info("resuming job region={} job={} status={} events_sent={}", region, record->id,
                   toString(record->status), record->progress.events_sent);
      launch(job);
    }
  }
  asio::co_spawn(runtime_.loop, flushLoop(), asio::detached);
  co_return true;
}

void ReplayService::launch(const ReplayJobPtr& job) {
  asio::co_spawn(runtime_.loop, job->run(), [this, job](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("job region={} job={} stopped by an exception: {}", job->record().region,
                         job->record().id, ex.what());
      }
    }
    if (job->record().status == JobStatus::Failed) failed_since_start_ = true;
    if (!anyActive()) idle_signal_.cancel();
  });
}

asio::awaitable<json::object> ReplayService::execute(json::object request) {
  // No request, however odd its shape, may stop the daemon (docs/cli.md).
  try {
    co_return co_await dispatch(std::move(request));
  } catch (const std::exception& e) {
    spdlog::error("request failed with an internal error: {}", e.what());
  }
  co_return fail(500, "internal error; see the daemon's log");
}

asio::awaitable<json::object> ReplayService::dispatch(json::object request) {
  const json::value* op = request.if_contains("op");
  if (op == nullptr || !op->is_string()) co_return fail(400, "op is required");
  std::string_view name = op->as_string();
  if (stopping_ && name != "ping") co_return fail(503, "audit-replayd is shutting down");
  if (name == "put_job") co_return co_await putJob(request);
  if (name == "get_job") co_return co_await getJob(request);
  if (name == "cancel_job") co_return co_await cancelJob(request);
  if (name == "list_jobs") co_return listJobs();
  if (name == "webhook_status") co_return webhookStatus(request);
  if (name == "ingest") co_return co_await ingest(request);
  if (name == "stats") co_return co_await stats();
  if (name == "ping") co_return ok();
  if (name == "health") co_return co_await health();
  if (name == "jwks") co_return jwks();
  if (name == "get_webhook") co_return getWebhook(request);
  if (name == "patch_webhook") co_return co_await patchWebhook(request);
  if (name == "reset_webhook") co_return co_await resetWebhook(request);
  co_return fail(400, "unknown op \"" + std::string(name) +
                          "\"; expected put_job, get_job, cancel_job, list_jobs, "
                          "webhook_status, get_webhook, patch_webhook, reset_webhook, ingest, "
                          "stats, jwks or ping");
}

asio::awaitable<json::object> ReplayService::putJob(const json::object& request) {
  const config::Config& config = *runtime_.config;
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, config, region, refusal)) co_return fail(refusal);
  std::optional<JobWebhook> own_webhook;
  if (!validateJobWebhook(request, config.regions.at(region), own_webhook, refusal)) {
    co_return fail(refusal);
  }
  // A job with its own webhook does not need the region's to be enabled.
  config::RegionSettings checked = config.regions.at(region);
  if (own_webhook) {
    checked.webhook.endpoint = own_webhook->endpoint;
    checked.webhook.enabled = true;
  }
  ValidRange range;
  if (!validateRange(request, checked, config.retention, runtime_.clock.nowMillis(), range,
                     refusal)) {
    co_return fail(refusal);
  }
  if (replacing_.contains(region)) {
    co_return fail(409, "the replay job of region " + region + " is being replaced");
  }
  if (auto it = jobs_.find(region); it != jobs_.end() && isActive(it->second->record().status)) {
    if (it->second->record().status == JobStatus::Running) {
      co_return fail(
          409, "a replay job is running in region " + region + "; wait for it to end or cancel it");
    }
    // An accepted or pending job is replaced (docs/http-api.md): stop it before the new one starts.
    replacing_.insert(region);
    auto previous = it->second;
    previous->stop();
    co_await previous->waitFinished();
    replacing_.erase(region);
  }

  JobRecord record;
  record.id = newJobId();
  record.region = region;
  record.start_at = range.start_at;
  record.end_at = range.end_at;
  record.first_ms = range.first_ms;
  record.last_ms = range.last_ms;
  record.created_ms = record.updated_ms = runtime_.clock.nowMillis();
  record.status = JobStatus::Accepted;
  if (own_webhook) {
    record.webhook_endpoint = own_webhook->endpoint;
    record.webhook_authorization = own_webhook->authorization;
  }
  auto work = [&store = runtime_.store, region, text = serializeRecord(record)] {
    return store.putRecord(store::RecordKind::Job, region, text);
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored) co_return fail(500, "cannot store the job: " + stored.error().message());

  auto job = std::make_shared<ReplayJob>(runtime_, record, sourceFor(region));
  jobs_[region] = job;
  auto answer = ok(202);
  answer["job"] = toView(job->record());
  spdlog::info("job accepted region={} job={} range={}..{}{}", region, record.id, record.start_at,
               record.end_at,
               own_webhook ? " endpoint=" + config::withoutPassword(own_webhook->endpoint) : "");
  launch(job);
  co_return answer;
}

asio::awaitable<json::object> ReplayService::getJob(const json::object& request) {
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) {
    // A region removed from the config may still have a stored job to show.
    auto* named = request.if_contains("region");
    if (!(named && named->is_string() && jobs_.contains(std::string(named->as_string())))) {
      co_return fail(refusal);
    }
    region = std::string(named->as_string());
  }
  auto it = jobs_.find(region);
  auto answer = ok();
  // A region that never had a job answers as Konnect does: "unconfigured", zero times.
  answer["job"] = it == jobs_.end() ? unconfiguredView(region) : toView(it->second->record());
  // Beside "job", not in it: the HTTP API answers "job" as Konnect shapes it.
  if (it != jobs_.end()) {
    if (auto retry = it->second->retryView()) answer["retry"] = std::move(*retry);
  }
  co_return answer;
}

asio::awaitable<json::object> ReplayService::cancelJob(const json::object& request) {
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) co_return fail(refusal);
  auto it = jobs_.find(region);
  if (it == jobs_.end()) co_return fail(404, "region " + region + " has no replay job");
  auto job = it->second;
  if (!isActive(job->record().status)) {
    co_return fail(409, std::string("the replay job of region ") + region + " already " +
                            toString(job->record().status));
  }
  job->cancel();
  co_await job->waitFinished();
  auto answer = ok();
  answer["job"] = toView(job->record());
  co_return answer;
}

json::object ReplayService::listJobs() const {
  json::array jobs;
  for (const auto& [region, job] : jobs_) jobs.push_back(toView(job->record()));
  auto answer = ok();
  answer["jobs"] = std::move(jobs);
  return answer;
}

json::object ReplayService::webhookStatus(const json::object& request) const {
  const config::Config& config = *runtime_.config;
  auto view = [&](const std::string& region) {
    auto it = webhooks_.find(region);
    return webhookView(region, runtime_.region(region),
                       it == webhooks_.end() ? WebhookState{} : it->second);
  };
  const json::value* named = request.if_contains("region");
  if (named != nullptr && !named->is_null()) {
    std::string region;
    Refusal refusal;
    if (!resolveRegion(request, config, region, refusal)) return fail(refusal);
    auto answer = ok();
    answer["webhook"] = view(region);
    return answer;
  }
  // No region: every region; with a single one also as "webhook" (HTTP API shape).
  json::array all;
  for (const auto& [region, settings] : config.regions) all.push_back(view(region));
  auto answer = ok();
  if (config.regions.size() == 1) answer["webhook"] = all.front();
  answer["webhooks"] = std::move(all);
  return answer;
}

asio::awaitable<json::object> ReplayService::ingest(const json::object& request) {
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) co_return fail(refusal);
  bool skip_invalid = false;
  if (auto* s = request.if_contains("skip_invalid"); s && !s->is_null()) {
    if (!s->is_bool()) co_return fail(400, "skip_invalid must be true or false");
    skip_invalid = s->as_bool();
  }
  // Events arrive as JSON text ("lines", stored byte for byte) or as objects ("events",
  // stored compactly serialised). Anything else in the arrays is rejected by position.
  std::vector<std::string> owned;
  std::vector<std::size_t> not_text;
  const json::value* lines = request.if_contains("lines");
  const json::value* events = request.if_contains("events");
  if ((lines == nullptr) == (events == nullptr)) {
    co_return fail(400, "ingest needs either lines (JSON text) or events (objects)");
  }
  if (!(lines ? lines : events)->is_array()) {
    co_return fail(400, std::string(lines ? "lines" : "events") + " must be an array");
  }
  for (const json::value& item : (lines ? lines : events)->as_array()) {
    if (lines && item.is_string()) {
      owned.emplace_back(item.as_string());
    } else if (events && item.is_object()) {
      owned.push_back(json::serialize(item));
    } else {
      not_text.push_back(owned.size());
      owned.emplace_back();
    }
  }
  auto work = [source = sourceFor(region), &owned, skip_invalid] {
    std::vector<std::string_view> views(owned.begin(), owned.end());
    return source->ingest(views, skip_invalid);
  };
  auto result = co_await offload(runtime_.workers, work);
  if (!result) co_return fail(500, "store failed: " + result.error().message());
  json::array rejected;
  for (const auto& r : result->rejected) {
    json::object item;
    item["index"] = r.index;
    bool wrong_type = std::binary_search(not_text.begin(), not_text.end(), r.index);
    item["reason"] = wrong_type ? (lines ? "not a JSON string" : "not a JSON object") : r.reason;
    rejected.push_back(std::move(item));
  }
  runtime_.counters.events_ingested += result->ingested;
  json::object answer;
  if (!skip_invalid && !result->rejected.empty()) {
    answer = fail(400, std::to_string(result->rejected.size()) +
                           " invalid event(s), nothing stored; first at index " +
                           std::to_string(result->rejected.front().index) + ": " +
                           std::string(rejected.front().as_object().at("reason").as_string()));
  } else {
    answer = ok();
  }
  answer["ingested"] = result->ingested;
  answer["duplicates"] = result->duplicates;
  answer["rejected"] = std::move(rejected);
  co_return answer;
}

asio::awaitable<json::object> ReplayService::stats() {
  auto work = [&store = runtime_.store] { return store.approximateSize(); };
  auto store_bytes = co_await offload(runtime_.workers, work);
  json::object s;
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(runtime_.clock.monotonicNow() -
                                                                 runtime_.started);
  s["uptime_seconds"] = uptime.count();
  s["events_ingested"] = runtime_.counters.events_ingested.load();
  s["events_sent"] = runtime_.counters.events_sent.load();
  s["batches_sent"] = runtime_.counters.batches_sent.load();
  s["bytes_sent"] = runtime_.counters.bytes_sent.load();
  s["retries"] = runtime_.counters.retries.load();
  if (runtime_.signer) s["signatures_made"] = runtime_.signer->signaturesMade();
  s["signatures_reused"] = runtime_.counters.signatures_reused.load();
  if (auto cache = runtime_.store.signatureCache()) s["signatures_stored"] = cache->written();
  s["store_bytes"] = store_bytes;
  std::size_t active = 0;
  json::object regions;
  for (const auto& [name, settings] : runtime_.config->regions) {
    json::object r;
    auto job = jobs_.find(name);
    r["job"] =
        job == jobs_.end() ? json::value(nullptr) : json::value(toView(job->second->record()));
    auto hook = webhooks_.find(name);
    r["webhook"] =
        webhookView(name, &settings, hook == webhooks_.end() ? WebhookState{} : hook->second);
    regions[name] = std::move(r);
  }
  for (const auto& [name, job] : jobs_) active += isActive(job->record().status) ? 1 : 0;
  s["jobs_active"] = active;
  s["regions"] = std::move(regions);
  s["delivery"] = runtime_.delivery.toJson();
  auto answer = ok();
  answer["stats"] = std::move(s);
  co_return answer;
}

asio::awaitable<json::object> ReplayService::health() {
  auto work = [&store = runtime_.store] { return store.healthy(); };
  bool healthy = co_await offload(runtime_.workers, work);
  if (!healthy) co_return fail(503, "the store is not answering");
  co_return ok();
}

json::object ReplayService::jwks() const {
  auto answer = ok();
  answer["jwks"] = json::parse(webhook::jwksJson(runtime_.signer.get(), runtime_.extra_jwks));
  return answer;
}

asio::awaitable<void> ReplayService::submitConfiguredJobs() {
  for (const config::JobSpec& spec : runtime_.config->jobs) {
    if (auto it = jobs_.find(spec.region); it != jobs_.end()) {
      const JobRecord& current = it->second->record();
      bool same = normalizeTime(current.start_at) == normalizeTime(spec.start_at) &&
                  normalizeTime(current.end_at) == normalizeTime(spec.end_at);
      if (current.status == JobStatus::Running || (same && current.status != JobStatus::Failed)) {
        spdlog::info("config job region={} range={}..{} kept: the region's job is {}", spec.region,
                     spec.start_at, spec.end_at, toString(current.status));
        continue;
      }
    }
    json::object request;
    request["op"] = "put_job";
    request["region"] = spec.region;
    request["start_at"] = spec.start_at;
    request["end_at"] = spec.end_at;
    auto answer = co_await execute(std::move(request));
    if (!answer.at("ok").as_bool()) {
      failed_since_start_ = true;
      spdlog::error("config job region={} range={}..{} refused ({}): {}", spec.region,
                    spec.start_at, spec.end_at, answer.at("code").as_int64(),
                    std::string(answer.at("error").as_string()));
    }
  }
}

void ReplayService::configurationChanged() {
  // The daemon has just put the file's new configuration in place: the API's webhook
  // settings stay laid over it until reset.
  file_config_ = runtime_.config;
  file_loaded_ms_ = runtime_.clock.nowMillis();
  applyOverrides();
  settingsChanged();
}

void ReplayService::settingsChanged() {
  for (auto& [region, job] : jobs_) {
    if (isActive(job->record().status)) job->settingsChanged();
  }
}

void ReplayService::applyOverrides() {
  if (!file_config_) file_config_ = runtime_.config;
  runtime_.config =
      overrides_.empty()
          ? file_config_
          : std::make_shared<const config::Config>(withOverrides(*file_config_, overrides_));
}

json::object ReplayService::getWebhook(const json::object& request) const {
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) return fail(refusal);
  const auto it = overrides_.find(region);
  const bool overridden = it != overrides_.end();
  auto answer = ok();
  answer["webhook"] =
      webhookConfigView(region, runtime_.config->regions.at(region).webhook, overridden,
                        overridden ? it->second.updated_ms : file_loaded_ms_);
  return answer;
}

asio::awaitable<json::object> ReplayService::patchWebhook(const json::object& request) {
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) co_return fail(refusal);
  const json::value* changes = request.if_contains("changes");
  if (changes == nullptr || !changes->is_object()) {
    refusal.code = 400;
    refusal.reason =
        "changes must be an object with any of endpoint, authorization, enabled, log_format, "
        "skip_ssl_verification";
    refusal.fields.emplace_back("changes", refusal.reason);
    co_return fail(refusal);
  }
  WebhookOverride next;
  if (auto it = overrides_.find(region); it != overrides_.end()) next = it->second;
  if (!mergePatch(changes->get_object(), next, refusal)) co_return fail(refusal);
  next.updated_ms = runtime_.clock.nowMillis();
  // Stored (synced) before it is in force: what a restart finds is what was answered.
  auto work = [&store = runtime_.store, region, text = next.serialize()] {
    return store.putRecord(store::RecordKind::WebhookOverride, region, text);
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored)
    co_return fail(500, "cannot store the webhook settings: " + stored.error().message());
  std::string fields;
  for (const auto& [key, value] : changes->get_object()) {
    fields += (fields.empty() ? "" : ",") + std::string(key);
  }
  overrides_[region] = std::move(next);
  applyOverrides();
  runtime_.generation += 1;  // from the next batch, as a reload
  settingsChanged();
  // Names only: the values (an authorization, a URL) stay out of the log.
  spdlog::info("region={} webhook changed over the API: {}", region, fields);
  if (changes->get_object().contains("skip_ssl_verification") &&
      runtime_.config->regions.at(region).webhook.skip_ssl_verification) {
    spdlog::warn("region={} webhook: TLS certificate verification is now OFF", region);
  }
  co_return getWebhook(request);
}

asio::awaitable<json::object> ReplayService::resetWebhook(const json::object& request) {
  std::string region;
  Refusal refusal;
  if (!resolveRegion(request, *runtime_.config, region, refusal)) co_return fail(refusal);
  WebhookOverride none;
  none.updated_ms = runtime_.clock.nowMillis();
  auto work = [&store = runtime_.store, region, text = none.serialize()] {
    return store.putRecord(store::RecordKind::WebhookOverride, region, text);
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored)
    co_return fail(500, "cannot store the webhook settings: " + stored.error().message());
  const bool had = overrides_.erase(region) > 0;
  applyOverrides();
  if (had) {
    runtime_.generation += 1;
    settingsChanged();
    spdlog::info("region={} webhook reset to the configuration file's settings", region);
  }
  co_return getWebhook(request);
}

bool ReplayService::anyActive() const {
  for (const auto& [region, job] : jobs_) {
    if (!job->finished() && isActive(job->record().status)) return true;
  }
  return false;
}

asio::awaitable<bool> ReplayService::waitIdle() {
  while (anyActive()) {
    idle_signal_.expires_at(kNever);
    co_await idle_signal_.async_wait(asio::as_tuple(use_awaitable));
  }
  co_return !failed_since_start_;
}

asio::awaitable<void> ReplayService::shutdown() {
  stopping_ = true;
  // Only jobs running in this process have a coroutine to wait for; an ended job loaded
  // from the store never ran here and never signals.
  std::vector<ReplayJobPtr> running;
  for (auto& [region, job] : jobs_) {
    if (!job->finished() && isActive(job->record().status)) running.push_back(job);
  }
  for (auto& job : running) job->stop();
  for (auto& job : running) co_await job->waitFinished();
  flush_timer_.cancel();
  co_await flushWebhookStates();
}

std::string ReplayService::statusLine() const {
  std::string line;
  for (const auto& [region, job] : jobs_) {
    const JobRecord& r = job->record();
    if (!line.empty()) line += "; ";
    line += region + ": " + toString(r.status);
    if (isActive(r.status)) {
      line += " " + std::to_string(r.progress.events_sent) + "/" +
              std::to_string(r.progress.events_total);
    }
  }
  return line.empty() ? "idle" : line;
}

void ReplayService::onAttempt(const std::string& region, const webhook::AttemptResult& attempt) {
  webhooks_[region].record(attempt, runtime_.clock.nowMillis());
  runtime_.delivery.attempt(region, attempt);
  webhooks_dirty_ = true;
}

asio::awaitable<void> ReplayService::flushWebhookStates() {
  if (!webhooks_dirty_) co_return;
  webhooks_dirty_ = false;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [region, state] : webhooks_) rows.emplace_back(region, state.serialize());
  auto work = [&store = runtime_.store, rows] {
    for (const auto& [region, text] : rows) {
      auto r = store.putRecord(store::RecordKind::WebhookStatus, region, text);
      if (!r) return r;
    }
    return store::Result<void>{};
  };
  auto stored = co_await offload(runtime_.workers, work);
  if (!stored) spdlog::error("webhook status not stored: {}", stored.error().message());
}

// Webhook status changes with every attempt; storing it synced each time would cost an
// fsync per batch, so it is stored at most once a second and at shutdown.
asio::awaitable<void> ReplayService::flushLoop() {
  while (!stopping_) {
    flush_timer_.expires_after(kWebhookFlushEvery);
    auto [ec] = co_await flush_timer_.async_wait(asio::as_tuple(use_awaitable));
    if (ec || stopping_) break;
    co_await flushWebhookStates();
  }
}

}  // namespace audit::daemon
