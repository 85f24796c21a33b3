#include "jobs/forward_record.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace audit::jobs {
namespace json = boost::json;

std::string_view toString(ForwardState state) {
  switch (state) {
    case ForwardState::Following:
      return "following";
    case ForwardState::CatchingUp:
      return "catching_up";
    case ForwardState::Retrying:
      return "retrying";
    case ForwardState::Paused:
      return "paused";
    case ForwardState::Disabled:
      return "disabled";
  }
  return "disabled";
}

namespace {
json::value optionalTime(const std::optional<EpochMillis>& ms) {
  return ms ? json::value(*ms) : json::value(nullptr);
}

std::optional<EpochMillis> readOptionalTime(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->as_int64();
}

std::uint64_t readCount(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return 0;
}
}  // namespace

std::string serializeForward(const ForwardRecord& record) {
  json::object o;
  o["position"] = record.position;
  o["last_forwarded_ms"] = optionalTime(record.last_forwarded_at);
  o["events_forwarded"] = record.events_forwarded;
  o["batches_forwarded"] = record.batches_forwarded;
  o["gap_events"] = record.gap_events;
  o["gap_first_ms"] = optionalTime(record.gap_first_at);
  o["gap_last_ms"] = optionalTime(record.gap_last_at);
  o["paused_by_operator"] = record.paused_by_operator;
  o["updated_ms"] = record.updated_ms;
  return json::serialize(o);
}

std::optional<ForwardRecord> parseForward(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  const json::value* position = o.if_contains("position");
  if (position == nullptr || !position->is_string()) return std::nullopt;
  ForwardRecord record;
  record.position = std::string(position->as_string());
  record.last_forwarded_at = readOptionalTime(o, "last_forwarded_ms");
  record.events_forwarded = readCount(o, "events_forwarded");
  record.batches_forwarded = readCount(o, "batches_forwarded");
  record.gap_events = readCount(o, "gap_events");
  record.gap_first_at = readOptionalTime(o, "gap_first_ms");
  record.gap_last_at = readOptionalTime(o, "gap_last_ms");
  if (const json::value* paused = o.if_contains("paused_by_operator");
      paused && paused->is_bool()) {
    record.paused_by_operator = paused->as_bool();
  }
  record.updated_ms = readOptionalTime(o, "updated_ms").value_or(0);
  return record;
}

}  // namespace audit::jobs
