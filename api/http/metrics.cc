#include "api/http/metrics.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http/process_metrics.hpp"
#include "jobs/delivery_metrics.hpp"
#include "jobs/webhook_state.hpp"
#include "protocol/vocabulary.hpp"

namespace audit::api::http {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

/** One metric family; emitted only when it has at least one sample. */
class Family {
 public:
  Family(std::string_view name, std::string_view type, std::string_view help)
      : name_(name), type_(type), help_(help) {}

  void add(const Labels& labels, double value) { addSample({}, labels, value); }

  /** A sample named the family's name plus `suffix` (a histogram's _bucket, _sum, _count). */
  void addSample(std::string_view suffix, const Labels& labels, double value) {
    samples_ += name_;
    samples_ += suffix;
    if (!labels.empty()) {
      samples_ += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        if (!first) samples_ += ',';
        first = false;
        samples_ += key;
        samples_ += "=\"";
        appendEscaped(label_value);
        samples_ += '"';
      }
      samples_ += '}';
    }
    samples_ += ' ';
    appendNumber(value);
    samples_ += '\n';
  }

  void renderTo(std::string& out) const {
    if (samples_.empty()) return;
    out.append("# HELP ").append(name_).append(" ").append(help_).append("\n");
    out.append("# TYPE ").append(name_).append(" ").append(type_).append("\n");
    out += samples_;
  }

 private:
  // The exposition format's label escapes; anything else (UTF-8 included) passes as is.
  void appendEscaped(std::string_view value) {
    for (const char c : value) {
      switch (c) {
        case '\\':
          samples_ += "\\\\";
          break;
        case '"':
          samples_ += "\\\"";
          break;
        case '\n':
          samples_ += "\\n";
          break;
        default:
          samples_ += c;
      }
    }
  }

  void appendNumber(double value) {
    if (std::isnan(value)) {
      samples_ += "NaN";
    } else if (std::isinf(value)) {
      samples_ += value > 0 ? "+Inf" : "-Inf";
    } else if (value == std::trunc(value) && std::fabs(value) < 9.007199254740992e15) {
      // Counters read best as integers ("1000000", not to_chars' shortest "1e+06").
      samples_ += std::to_string(static_cast<long long>(value));
    } else {
      std::array<char, 64> buf{};
      const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
      // 64 bytes holds any double's shortest form; a failure would be a library bug.
      samples_.append(buf.data(), ec == std::errc{} ? end : buf.data());
    }
  }

  std::string_view name_;
  std::string_view type_;
  std::string_view help_;
  std::string samples_;
};

/** A figure of the stats as a sample's value. */
template <class T>
double sample(T value) {
  return static_cast<double>(value);
}

/** The scalar figures of the stats, by their name in the stats op; none: not counted. */
std::optional<double> figure(const jobs::Stats& stats, std::string_view key) {
  if (key == "events_ingested") return sample(stats.totals.events_ingested);
  if (key == "events_sent") return sample(stats.totals.events_sent);
  if (key == "batches_sent") return sample(stats.totals.batches_sent);
  if (key == "bytes_sent") return sample(stats.totals.bytes_sent);
  if (key == "retries") return sample(stats.totals.retries);
  if (key == "signatures_made" && stats.signatures_made) return sample(*stats.signatures_made);
  if (key == "signatures_reused") return sample(stats.totals.signatures_reused);
  if (key == "signatures_stored" && stats.signatures_stored) {
    return sample(*stats.signatures_stored);
  }
  if (key == "store_bytes") return sample(stats.store_bytes);
  if (key == "uptime_seconds") return sample(stats.uptime_seconds);
  return std::nullopt;
}

// The le labels of audit_replay_delivery_duration_seconds, in the order of the stats' buckets
// (jobs/delivery_metrics.hpp, kDeliveryBuckets).
constexpr std::array<std::string_view, 14> kLatencyBounds{"0.005", "0.01", "0.025", "0.05", "0.1",
                                                          "0.25",  "0.5",  "1",     "2.5",  "5",
                                                          "10",    "30",   "60",    "300"};

constexpr std::array<std::string_view, 5> kJobStatuses{"accepted", "pending", "running",
                                                       "completed", "failed"};
constexpr std::array<std::string_view, 5> kForwardStates{"following", "catching_up", "retrying",
                                                         "paused", "disabled"};

static_assert(kLatencyBounds.size() == jobs::kDeliveryBuckets.size());

}  // namespace

std::string renderMetrics(const jobs::Stats* stats, const HttpStats& http) {
  struct Scalar {
    std::string_view key;
    Family family;
  };
  std::array scalars{
      Scalar{"events_ingested",
             {"audit_replay_events_ingested_total", "counter", "Events stored by ingest."}},
      Scalar{"events_sent",
             {"audit_replay_events_sent_total", "counter", "Events delivered to webhooks (2xx)."}},
      Scalar{"batches_sent",
             {"audit_replay_batches_sent_total", "counter", "Batches delivered to webhooks."}},
      Scalar{"bytes_sent",
             {"audit_replay_bytes_sent_total", "counter", "Body bytes delivered to webhooks."}},
      Scalar{"retries", {"audit_replay_retries_total", "counter", "Batch deliveries retried."}},
      Scalar{"signatures_made",
             {"audit_replay_signatures_made_total", "counter",
              "Ed25519 signatures made with the loaded signing key."}},
      Scalar{"signatures_reused",
             {"audit_replay_signatures_reused_total", "counter",
              "Signatures of delivered events taken from the signature cache."}},
      Scalar{"signatures_stored",
             {"audit_replay_signatures_stored_total", "counter",
              "Signatures of delivered events written to the signature cache."}},
      Scalar{"store_bytes",
             {"audit_replay_store_bytes", "gauge", "Estimated size of the event store on disk."}},
      Scalar{"uptime_seconds",
             {"audit_replay_uptime_seconds", "gauge", "Seconds since the daemon started."}},
  };
  if (stats != nullptr) {
    for (auto& scalar : scalars) {
      if (const auto value = figure(*stats, scalar.key)) scalar.family.add({}, *value);
    }
  }

  Family job_status{"audit_replay_job_status", "gauge",
                    "1 for the region's replay job's current status, 0 for the others."};
  Family job_total{"audit_replay_job_events", "gauge",
                   "Events in the range of the region's replay job."};
  Family job_sent{"audit_replay_job_events_sent", "gauge",
                  "Events of the region's replay job delivered so far."};
  Family webhook_code{"audit_replay_webhook_last_response_code", "gauge",
                      "HTTP status of the region's last webhook attempt."};
  Family webhook_active{"audit_replay_webhook_active", "gauge",
                        "1 when the region's webhook status is active."};
  Family forward_state{"audit_replay_forward_state", "gauge",
                       "1 for the state the region's forwarding is in, 0 for the others."};
  Family forward_last{"audit_replay_forward_last_forwarded_timestamp_seconds", "gauge",
                      "Event time of the last event the region's forwarding delivered."};
  Family forward_lag{"audit_replay_forward_lag_seconds", "gauge",
                     "How long the oldest event waiting to be forwarded has waited."};
  Family forward_backlog{"audit_replay_forward_backlog_events", "gauge",
                         "Events stored and not yet forwarded."};
  Family forward_events{"audit_replay_forward_events_total", "counter",
                        "Events the region's forwarding delivered (kept across restarts)."};
  Family forward_gaps{"audit_replay_forward_gap_events_total", "counter",
                      "Events removed by retention before they were forwarded."};
  if (stats != nullptr) {
    for (const jobs::RegionStats& entry : stats->regions) {
      const std::string_view region = entry.region;
      const Labels by_region{{"region", region}};
      if (entry.job) {
        const std::string_view status = protocol::toString(entry.job->status);
        for (const auto candidate : kJobStatuses) {
          job_status.add({{"region", region}, {"status", candidate}}, candidate == status ? 1 : 0);
        }
        job_total.add(by_region, sample(entry.job->progress.events_total));
        job_sent.add(by_region, sample(entry.job->progress.events_sent));
      }
      const jobs::WebhookStatus& webhook = entry.webhook;
      // As the stats op shows it: a code only for an attempt that got an answer.
      if (webhook.state.last_attempt_at && webhook.state.last_response_code != 0) {
        webhook_code.add(by_region, sample(webhook.state.last_response_code));
      }
      const std::string_view status =
          jobs::webhookStatusName(webhook.settings ? &*webhook.settings : nullptr, webhook.state);
      webhook_active.add(by_region, status == "active" ? 1 : 0);
      const jobs::ForwardStatus& forward = webhook.forward;
      const std::string_view forward_now = jobs::toString(forward.state);
      for (const auto candidate : kForwardStates) {
        forward_state.add({{"region", region}, {"state", candidate}},
                          candidate == forward_now ? 1 : 0);
      }
      if (forward.state == jobs::ForwardState::Disabled && forward.record.position.empty()) {
        continue;  // a region that never forwarded has no figures
      }
      if (forward.record.last_forwarded_at) {
        forward_last.add(by_region,
                         static_cast<double>(*forward.record.last_forwarded_at) / 1000.0);
      }
      forward_lag.add(by_region, forward.lag_seconds);
      forward_backlog.add(by_region, sample(forward.backlog_events));
      forward_events.add(by_region, sample(forward.record.events_forwarded));
      forward_gaps.add(by_region, sample(forward.record.gap_events));
    }
  }

  // Per region, since the daemon started: what was delivered, every attempt, and how long
  // batches took to be delivered.
  Family region_events{"audit_replay_region_events_sent_total", "counter",
                       "Events delivered to the region's webhook (2xx)."};
  Family region_batches{"audit_replay_region_batches_sent_total", "counter",
                        "Batches delivered to the region's webhook (2xx)."};
  Family region_bytes{"audit_replay_region_bytes_sent_total", "counter",
                      "Body bytes (after compression) delivered to the region's webhook."};
  Family attempts{"audit_replay_webhook_attempts_total", "counter",
                  "Webhook delivery attempts by outcome (delivered, http_error, "
                  "transport_error) and HTTP status code (none without an answer)."};
  Family latency{"audit_replay_delivery_duration_seconds", "histogram",
                 "Time from a batch's first delivery attempt to its 2xx answer, retries "
                 "included."};
  if (stats != nullptr) {
    for (const auto& [name, entry] : stats->delivery.regions()) {
      const std::string_view region = name;
      const Labels by_region{{"region", region}};
      region_events.add(by_region, sample(entry.events));
      region_batches.add(by_region, sample(entry.batches));
      region_bytes.add(by_region, sample(entry.bytes));
      for (const auto& [key, count] : entry.attempts) {
        const auto& [outcome, code] = key;
        const std::string code_text = code > 0 ? std::to_string(code) : std::string("none");
        attempts.add({{"region", region}, {"outcome", outcome}, {"code", code_text}},
                     sample(count));
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < entry.buckets.size(); ++i) {
        cumulative += entry.buckets[i];
        latency.addSample("_bucket", {{"region", region}, {"le", kLatencyBounds[i]}},
                          sample(cumulative));
      }
      latency.addSample("_bucket", {{"region", region}, {"le", "+Inf"}}, sample(entry.count));
      latency.addSample("_sum", by_region, entry.sum);
      latency.addSample("_count", by_region, sample(entry.count));
    }
  }

  Family build_info{"audit_replay_build_info", "gauge",
                    "Always 1; the version of the running daemon in a label."};
  build_info.add({{"version", AUDIT_REPLAY_VERSION}}, 1);

  const ProcessStats process = readProcessStats();
  Family cpu{"process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds."};
  if (process.cpu_seconds) cpu.add({}, *process.cpu_seconds);
  Family start{"process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds."};
  if (process.start_time) start.add({}, *process.start_time);
  Family rss{"process_resident_memory_bytes", "gauge", "Resident memory size in bytes."};
  if (process.resident_bytes) rss.add({}, *process.resident_bytes);
  Family vsz{"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes."};
  if (process.virtual_bytes) vsz.add({}, *process.virtual_bytes);
  Family fds{"process_open_fds", "gauge", "Number of open file descriptors."};
  if (process.open_fds) fds.add({}, *process.open_fds);
  Family max_fds{"process_max_fds", "gauge", "Maximum number of open file descriptors."};
  if (process.max_fds) max_fds.add({}, *process.max_fds);

  Family stats_up{"audit_replay_stats_up", "gauge",
                  "1 when the daemon's stats could be read for this scrape."};
  stats_up.add({}, stats != nullptr ? 1 : 0);
  Family requests{"audit_replay_http_requests_total", "counter",
                  "HTTP API requests answered, by route template and status code."};
  for (const auto& [key, count] : http.requests) {
    const std::string code = std::to_string(key.second);
    requests.add({{"route", key.first}, {"code", code}}, static_cast<double>(count));
  }
  Family open{"audit_replay_http_open_connections", "gauge", "HTTP API connections open."};
  open.add({}, static_cast<double>(http.open_connections));
  Family rejected{"audit_replay_http_rejected_connections_total", "counter",
                  "HTTP API connections refused with 503 at the connection limit."};
  rejected.add({}, static_cast<double>(http.rejected_connections));

  std::string out;
  for (const auto& scalar : scalars) scalar.family.renderTo(out);
  for (const auto* family : {&job_status,
                             &job_total,
                             &job_sent,
                             &webhook_code,
                             &webhook_active,
                             &forward_state,
                             &forward_last,
                             &forward_lag,
                             &forward_backlog,
                             &forward_events,
                             &forward_gaps,
                             &region_events,
                             &region_batches,
                             &region_bytes,
                             &attempts,
                             &latency,
                             &build_info,
                             &stats_up,
                             &requests,
                             &open,
                             &rejected,
                             &cpu,
                             &start,
                             &rss,
                             &vsz,
                             &fds,
                             &max_fds}) {
    family->renderTo(out);
  }
  return out;
}

}  // namespace audit::api::http
