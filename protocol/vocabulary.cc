#include "protocol/vocabulary.hpp"

#include <array>
#include <utility>

namespace audit::protocol {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 18> kOps{{
    {Op::PutJob, "put_job"},
    {Op::GetJob, "get_job"},
    {Op::CancelJob, "cancel_job"},
    {Op::ListJobs, "list_jobs"},
    {Op::WebhookStatus, "webhook_status"},
    {Op::GetWebhook, "get_webhook"},
    {Op::PatchWebhook, "patch_webhook"},
    {Op::ResetWebhook, "reset_webhook"},
    {Op::ForwardStatus, "forward_status"},
    {Op::ForwardPause, "forward_pause"},
    {Op::ForwardResume, "forward_resume"},
    {Op::Ingest, "ingest"},
    {Op::IngestRaw, "ingest_raw"},
    {Op::Export, "export"},
    {Op::Stats, "stats"},
    {Op::Health, "health"},
    {Op::Jwks, "jwks"},
    {Op::Ping, "ping"},
}};

constexpr std::array<std::pair<JobStatus, std::string_view>, 5> kStatuses{{
    {JobStatus::Accepted, "accepted"},
    {JobStatus::Pending, "pending"},
    {JobStatus::Running, "running"},
    {JobStatus::Completed, "completed"},
    {JobStatus::Failed, "failed"},
}};

template <class Table, class Key>
std::string_view nameIn(const Table& table, Key key) {
  for (const auto& [known, name] : table) {
    if (known == key) return name;
  }
  return "unknown";
}

template <class Table>
auto keyIn(const Table& table, std::string_view name)
    -> std::optional<typename Table::value_type::first_type> {
  for (const auto& [key, known] : table) {
    if (known == name) return key;
  }
  return std::nullopt;
}

}  // namespace

std::string_view toString(Op op) {
  return nameIn(kOps, op);
}
std::optional<Op> parseOp(std::string_view name) {
  return keyIn(kOps, name);
}
std::string_view toString(JobStatus status) {
  return nameIn(kStatuses, status);
}
std::optional<JobStatus> parseJobStatus(std::string_view name) {
  return keyIn(kStatuses, name);
}

}  // namespace audit::protocol
