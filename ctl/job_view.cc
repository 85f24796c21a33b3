#include "ctl/job_view.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "common/rfc3339.hpp"
#include "ctl/format.hpp"

namespace audit::ctl {

namespace json = boost::json;

std::string stringField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::uint64_t countField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return v->get_int64() > 0 ? static_cast<std::uint64_t>(v->get_int64()) : 0;
  if (v->is_double()) return v->get_double() > 0 ? static_cast<std::uint64_t>(v->get_double()) : 0;
  if (v->is_string()) {
    std::uint64_t n = 0;
    const json::string& s = v->get_string();
    std::from_chars(s.data(), s.data() + s.size(), n);
    return n;
  }
  return 0;
}

namespace {

std::optional<std::int64_t> codeField(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

std::string orDash(std::string text) {
  return text.empty() ? "-" : text;
}

}  // namespace

JobView parseJob(const json::object& job) {
  JobView v;
  v.id = stringField(job, "id");
  v.region = stringField(job, "region");
  v.start_at = stringField(job, "start_at");
  v.end_at = stringField(job, "end_at");
  v.created_at = stringField(job, "created_at");
  v.updated_at = stringField(job, "updated_at");
  v.status = stringField(job, "status");
  v.state = protocol::parseJobStatus(v.status);
  if (const json::value* p = job.if_contains("progress"); p != nullptr && p->is_object()) {
    const json::object& progress = p->get_object();
    v.events_total = countField(progress, "events_total");
    v.events_sent = countField(progress, "events_sent");
    v.batches_sent = countField(progress, "batches_sent");
    v.bytes_sent = countField(progress, "bytes_sent");
    v.last_event_at = stringField(progress, "last_event_at");
  }
  if (const json::value* e = job.if_contains("error"); e != nullptr && e->is_object()) {
    v.error_reason = stringField(e->get_object(), "reason");
    v.last_response_code = codeField(e->get_object(), "last_response_code");
  }
  return v;
}

void readRetry(const json::object& answer, JobView& job) {
  const json::value* r = answer.if_contains("retry");
  if (r == nullptr || !r->is_object()) return;
  const json::object& retry = r->get_object();
  JobView::Retry out;
  out.attempt = countField(retry, "attempt");
  out.last_response_code = codeField(retry, "last_response_code");
  out.next_attempt_at = stringField(retry, "next_attempt_at");
  out.reason = stringField(retry, "reason");
  job.retry = std::move(out);
}

std::string formatRetry(const JobView::Retry& retry, std::int64_t now_ms) {
  std::string text = "retrying: attempt " + std::to_string(retry.attempt);
  text += retry.last_response_code ? ", last response " + std::to_string(*retry.last_response_code)
                                   : std::string(", no response");
  if (const auto next = parseRfc3339(retry.next_attempt_at)) {
    const std::int64_t left_ms = std::max<std::int64_t>(0, next->ms - now_ms);
    text += ", next try in " + std::to_string((left_ms + 999) / 1000) + "s";
  }
  return text;
}

std::string formatProgressCount(const JobView& job) {
  bool total_known = job.events_total > 0 || job.is(protocol::JobStatus::Running) || job.ended();
  return groupThousands(job.events_sent) + "/" +
         (total_known ? groupThousands(job.events_total) : std::string("?"));
}

std::string formatRange(const JobView& job) {
  return job.start_at + " .. " + job.end_at;
}

std::string formatJobTable(const std::vector<JobView>& jobs, EpochMillis now) {
  Table table;
  table.addRow({"REGION", "STATUS", "PROGRESS", "RANGE", "UPDATED"});
  for (const auto& job : jobs) {
    table.addRow({job.region, job.status, formatProgressCount(job), formatRange(job),
                  formatAgo(now, job.updated_at)});
  }
  return table.render();
}

std::string formatJobDetails(const JobView& job, EpochMillis now) {
  // A region that never had a job: the daemon answers "unconfigured" with zero times.
  if (job.unconfigured()) return "region " + job.region + ": no job yet\n";
  Table t;
  t.addRow({"job:", job.id});
  t.addRow({"region:", job.region});
  t.addRow({"status:", job.status});
  t.addRow({"range:", formatRange(job)});
  std::string progress = formatProgressCount(job) + " events";
  if (job.events_total > 0) {
    progress +=
        " (" +
        std::to_string(std::min<std::uint64_t>(100, job.events_sent * 100 / job.events_total)) +
        "%)";
  }
  progress += ", " + groupThousands(job.batches_sent) + " batches, " + formatBytes(job.bytes_sent);
  t.addRow({"progress:", progress});
  t.addRow({"last event:", orDash(job.last_event_at)});
  t.addRow({"created:", job.created_at.empty()
                            ? "-"
                            : job.created_at + " (" + formatAgo(now, job.created_at) + ")"});
  t.addRow({"updated:", job.updated_at.empty()
                            ? "-"
                            : job.updated_at + " (" + formatAgo(now, job.updated_at) + ")"});
  if (job.retry) {
    t.addRow({"delivery:", formatRetry(*job.retry, now) +
                               (job.retry->reason.empty() ? "" : " (" + job.retry->reason + ")")});
  }
  if (job.error_reason) {
    std::string error = orDash(*job.error_reason);
    if (job.last_response_code)
      error += " (last response code " + std::to_string(*job.last_response_code) + ")";
    t.addRow({"error:", error});
  }
  return t.render();
}

std::string formatJobLine(const JobView& job) {
  return "job " + job.id + "  region " + job.region + "  " + job.status + "  " + formatRange(job);
}

std::string formatJobOutcome(const JobView& job) {
  if (job.is(protocol::JobStatus::Completed)) {
    return "completed: " + groupThousands(job.events_sent) + " events in " +
           groupThousands(job.batches_sent) + " batches (" + formatBytes(job.bytes_sent) + ")";
  }
  std::string line =
      job.status + ": " + (job.error_reason ? orDash(*job.error_reason) : "no reason given");
  if (job.last_response_code)
    line += " (last response code " + std::to_string(*job.last_response_code) + ")";
  line += " after " + formatProgressCount(job) + " events";
  return line;
}

std::string formatWebhookTable(const std::vector<json::object>& webhooks, EpochMillis now) {
  Table table;
  table.addRow({"REGION", "ENABLED", "STATUS", "LAST ATTEMPT", "CODE", "MESSAGE"});
  for (const auto& w : webhooks) {
    std::string last = stringField(w, "last_attempt_at");
    table.addRow({stringField(w, "region"), orDash(stringField(w, "webhook_enabled")),
                  orDash(stringField(w, "webhook_status")),
                  last.empty() ? "-" : formatAgo(now, last),
                  orDash(stringField(w, "last_response_code")),
                  orDash(stringField(w, "last_response_message"))});
  }
  return table.render();
}

std::string formatWebhookDetails(const json::object& w, EpochMillis now) {
  Table t;
  t.addRow({"region:", stringField(w, "region")});
  t.addRow({"enabled:", orDash(stringField(w, "webhook_enabled"))});
  t.addRow({"status:", orDash(stringField(w, "webhook_status"))});
  std::string last = stringField(w, "last_attempt_at");
  t.addRow({"last attempt:", last.empty() ? "-" : last + " (" + formatAgo(now, last) + ")"});
  t.addRow({"last response:", orDash(stringField(w, "last_response_code"))});
  t.addRow({"message:", orDash(stringField(w, "last_response_message"))});
  if (const json::value* f = w.if_contains("forward"); f != nullptr && f->is_object()) {
    const json::object& forward = f->get_object();
    std::string line = stringField(forward, "state");
    if (line != "disabled") {
      line += ", backlog " + groupThousands(countField(forward, "backlog_events")) + " events";
    }
    if (const std::string reason = stringField(forward, "reason"); !reason.empty()) {
      line += " (" + reason + ")";
    }
    t.addRow({"forwarding:", line});
  }
  return t.render();
}

std::string formatStats(const json::object& stats) {
  Table t;
  auto count = [&](const char* label, std::string_view key) {
    if (stats.contains(key)) t.addRow({label, groupThousands(countField(stats, key))});
  };
  if (stats.contains("uptime_seconds")) {
    t.addRow({"uptime:", formatUptime(std::chrono::seconds(countField(stats, "uptime_seconds")))});
  }
  count("events ingested:", "events_ingested");
  count("events sent:", "events_sent");
  count("batches sent:", "batches_sent");
  if (stats.contains("bytes_sent"))
    t.addRow({"bytes sent:", formatBytes(countField(stats, "bytes_sent"))});
  count("retries:", "retries");
  if (stats.contains("store_bytes"))
    t.addRow({"store size:", formatBytes(countField(stats, "store_bytes"))});
  std::string out = t.render();

  const json::value* regions = stats.if_contains("regions");
  if (regions == nullptr || !regions->is_object() || regions->get_object().empty()) return out;
  // The daemon's regions are {"job": job|null, "webhook": {…}}: a table of both. Other
  // shapes print their fields as key=value.
  Table table;
  table.addRow({"  REGION", "JOB", "PROGRESS", "WEBHOOK"});
  std::string other;
  bool any_row = false;
  for (const auto& [name, value] : regions->get_object()) {
    const json::object* region = value.if_object();
    const json::value* job = region != nullptr ? region->if_contains("job") : nullptr;
    const json::value* hook = region != nullptr ? region->if_contains("webhook") : nullptr;
    if (job == nullptr && hook == nullptr) {
      other += "  " + std::string(name) + ": " + json::serialize(value) + "\n";
      continue;
    }
    std::vector<std::string> row{"  " + std::string(name), "-", "-", "-"};
    if (job != nullptr && job->is_object()) {
      JobView view = parseJob(job->get_object());
      row[1] = orDash(view.status);
      row[2] = formatProgressCount(view);
    }
    if (hook != nullptr && hook->is_object()) {
      const json::object& w = hook->get_object();
      row[3] = orDash(stringField(w, "webhook_status"));
      if (stringField(w, "webhook_enabled") == "false") row[3] += " (disabled)";
    }
    table.addRow(std::move(row));
    any_row = true;
  }
  out += "regions:\n";
  if (any_row) out += table.render();
  out += other;
  return out;
}

}  // namespace audit::ctl
