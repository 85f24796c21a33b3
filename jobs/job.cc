#include "jobs/job.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>

#include "common/rfc3339.hpp"
#include "config/config.hpp"

namespace audit::jobs {
namespace json = boost::json;

std::string normalizeTime(std::string_view text) {
  const auto parsed = parseRfc3339(text);
  if (!parsed) return std::string(text);
  return parsed->has_fraction ? formatRfc3339Millis(parsed->ms) : formatRfc3339(parsed->ms);
}

json::object unconfiguredView(const std::string& region) {
  static constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";
  json::object progress;
  progress["events_total"] = 0;
  progress["events_sent"] = 0;
  progress["batches_sent"] = 0;
  progress["bytes_sent"] = 0;
  progress["last_event_at"] = nullptr;
  json::object o;
  o["id"] = nullptr;
  o["region"] = region;
  o["start_at"] = kZeroTime;
  o["end_at"] = kZeroTime;
  o["created_at"] = kZeroTime;
  o["updated_at"] = kZeroTime;
  o["status"] = "unconfigured";
  o["progress"] = std::move(progress);
  o["error"] = nullptr;
  return o;
}

json::object toView(const JobRecord& job) {
  json::object progress;
  progress["events_total"] = job.progress.events_total;
  progress["events_sent"] = job.progress.events_sent;
  progress["batches_sent"] = job.progress.batches_sent;
  progress["bytes_sent"] = job.progress.bytes_sent;
  if (job.progress.last_event_at) {
    progress["last_event_at"] = formatRfc3339Millis(*job.progress.last_event_at);
  } else {
    progress["last_event_at"] = nullptr;
  }
  json::object o;
  o["id"] = job.id;
  o["region"] = job.region;
  // Records stored before times were normalised still show in UTC.
  o["start_at"] = normalizeTime(job.start_at);
  o["end_at"] = normalizeTime(job.end_at);
  o["created_at"] = formatRfc3339(job.created_ms / 1000 * 1000);
  o["updated_at"] = formatRfc3339(job.updated_ms / 1000 * 1000);
  o["status"] = toString(job.status);
  o["progress"] = std::move(progress);
  o["events_total_exact"] = job.progress.events_total_exact;
  if (job.error) {
    json::object e;
    e["reason"] = job.error->reason;
    if (job.error->last_response_code != 0) {
      e["last_response_code"] = job.error->last_response_code;
    } else {
      e["last_response_code"] = nullptr;
    }
    o["error"] = std::move(e);
  } else {
    o["error"] = nullptr;
  }
  if (!job.webhook_endpoint.empty()) {
    o["webhook"] = json::object{{"endpoint", config::withoutPassword(job.webhook_endpoint)}};
  }
  return o;
}

namespace {
std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}
std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}
}  // namespace

std::string serializeRecord(const JobRecord& job) {
  json::object o = toView(job);
  o["first_ms"] = job.first_ms;
  o["last_ms"] = job.last_ms;
  o["created_ms"] = job.created_ms;
  o["updated_ms"] = job.updated_ms;
  o["checkpoint"] = hex(job.checkpoint);
  if (!job.webhook_endpoint.empty()) {
    // The stored form only: toView() never shows the authorization.
    o["webhook"] = json::object{{"endpoint", job.webhook_endpoint},
                                {"authorization", job.webhook_authorization}};
  }
  return json::serialize(o);
}

std::optional<JobRecord> parseRecord(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  try {
    JobRecord job;
    job.id = std::string(o.at("id").as_string());
    job.region = std::string(o.at("region").as_string());
    job.start_at = std::string(o.at("start_at").as_string());
    job.end_at = std::string(o.at("end_at").as_string());
    job.first_ms = o.at("first_ms").to_number<EpochMillis>();
    job.last_ms = o.at("last_ms").to_number<EpochMillis>();
    job.created_ms = o.at("created_ms").to_number<EpochMillis>();
    job.updated_ms = o.at("updated_ms").to_number<EpochMillis>();
    auto status = parseJobStatus(o.at("status").as_string());
    if (!status) return std::nullopt;
    job.status = *status;
    const json::object& p = o.at("progress").as_object();
    job.progress.events_total = p.at("events_total").to_number<std::uint64_t>();
    job.progress.events_sent = p.at("events_sent").to_number<std::uint64_t>();
    job.progress.batches_sent = p.at("batches_sent").to_number<std::uint64_t>();
    job.progress.bytes_sent = p.at("bytes_sent").to_number<std::uint64_t>();
    if (auto* exact = o.if_contains("events_total_exact"); exact && exact->is_bool()) {
      job.progress.events_total_exact = exact->as_bool();
    }
    if (auto* last = p.if_contains("last_event_at"); last && last->is_string()) {
      if (auto t = parseRfc3339(last->as_string())) job.progress.last_event_at = t->ms;
    }
    if (auto* err = o.if_contains("error"); err && err->is_object()) {
      JobError e;
      e.reason = std::string(err->as_object().at("reason").as_string());
      if (auto* code = err->as_object().if_contains("last_response_code");
          code && code->is_number()) {
        e.last_response_code = code->to_number<int>();
      }
      job.error = std::move(e);
    }
    auto cp = unhex(o.at("checkpoint").as_string());
    if (!cp) return std::nullopt;
    job.checkpoint = std::move(*cp);
    if (auto* hook = o.if_contains("webhook"); hook && hook->is_object()) {
      job.webhook_endpoint = std::string(hook->as_object().at("endpoint").as_string());
      if (auto* auth = hook->as_object().if_contains("authorization"); auth && auth->is_string()) {
        job.webhook_authorization = std::string(auth->as_string());
      }
    }
    return job;
  } catch (const std::exception&) {
    // A record we cannot read is reported by the caller; it never crashes the daemon.
    return std::nullopt;
  }
}

std::string newJobId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  std::string bytes(16, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  return hex(bytes);
}

}  // namespace audit::jobs
