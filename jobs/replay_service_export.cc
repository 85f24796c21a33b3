// ReplayService: exports, checked and opened for api/export_streamer (jobs/export.hpp).

#include <algorithm>
#include <tuple>

#include "common/offload.hpp"
#include "jobs/export_state.hpp"
#include "jobs/job_request.hpp"
#include "jobs/log_format.hpp"
#include "jobs/replay_service.hpp"
#include "jobs/webhook_options.hpp"

namespace audit::jobs {
namespace asio = boost::asio;

namespace {

// A plain export reads in larger batches than the webhook's (fewer, larger writes): lines do
// not depend on how events are grouped.
constexpr std::size_t kPlainBatchEvents = 4000;
constexpr std::size_t kPlainBatchBytes = 4u << 20;

}  // namespace

Outcome<ExportPlan> ReplayService::planExport(const ExportRequest& request) const {
  const config::Config& config = *runtime_.config;
  ExportPlan plan;
  auto resolved = resolveRegion(request.region, config);
  if (!resolved) return resolved.error();
  plan.region = std::move(*resolved);
  // An export needs no webhook: the range rules are those of a replay otherwise.
  const config::RegionSettings& region = config.regions.at(plan.region);
  config::RegionSettings unchecked_webhook = region;
  unchecked_webhook.webhook.endpoint = "export";
  unchecked_webhook.webhook.enabled = true;
  auto range = validateRange(request.start_at, request.end_at, unchecked_webhook, config.retention,
                             runtime_.clock.nowMillis());
  if (!range) return range.error();
  plan.range = std::move(*range);
  plan.format = region.webhook.log_format;
  if (request.format) {
    const std::optional<config::EventFormat> named = parseLogFormat(*request.format);
    if (!named) return Refusal{400, "format must be json, cef or cps", {}};
    plan.format = *named;
  }
  plan.gzip = request.gzip;
  // A gzip export keeps the webhook's batches, one gzip member each, as the receiver would
  // get them.
  plan.limits = plan.gzip
                    ? BatchLimits{region.batch.max_events, region.batch.max_bytes}
                    : BatchLimits{std::max<std::size_t>(region.batch.max_events, kPlainBatchEvents),
                                  std::max<std::size_t>(region.batch.max_bytes, kPlainBatchBytes)};
  return plan;
}

asio::awaitable<Outcome<OpenedExport>> ReplayService::openExport(ExportPlan plan) {
  auto found = sources_.sourceFor(plan.region);
  if (!found) co_return Refusal{503, found.message(), {}};
  source::EventSourcePtr source = std::move(*found);
  // Sized and opened off the loop, over one view: the export holds what was counted.
  source::TimeRange span{plan.range.first_ms, plan.range.last_ms};
  auto open = [source, span] {
    std::string detail;
    auto planned = source->plan(span, &detail);
    if (!planned) {
      return std::make_tuple(std::uint64_t{0}, source::EventReaderPtr{},
                             detail.empty() ? planned.error().message() : detail);
    }
    auto reader = source->openReaderAt(span, planned->checkpoint, planned->view);
    if (!reader) {
      return std::make_tuple(std::uint64_t{0}, source::EventReaderPtr{}, reader.error().message());
    }
    return std::make_tuple(planned->count, std::move(*reader), std::string());
  };
  auto [total, opened, open_error] = co_await offload(runtime_.workers, open);
  if (!opened) co_return Refusal{500, "store failed: " + open_error, {}};
  auto state = std::make_unique<ExportBatches::State>();
  state->reader = std::shared_ptr<source::EventReader>(std::move(opened));
  state->limits = plan.limits;
  state->encode.format = webhookFormat(plan.format);
  state->encode.compression = webhook::Compression::None;
  state->signer = runtime_.signer;
  state->gzip = plan.gzip;
  OpenedExport out;
  out.events_total = total;
  out.batches = std::make_shared<ExportBatches>(std::move(state));
  co_return out;
}

}  // namespace audit::jobs
