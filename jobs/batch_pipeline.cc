#include "jobs/batch_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "jobs/webhook_options.hpp"

namespace audit::jobs {
namespace asio = boost::asio;

namespace {
// Prepared batches waiting for delivery: enough to keep both cores encoding while one
// batch is in flight, few enough that memory stays flat whatever the range.
constexpr std::size_t kWindow = 4;
// Batch buffers idle between a delivery and the next read: the window, the batch on the
// wire and one being read.
constexpr std::size_t kIdleBuffers = kWindow + 2;
constexpr auto kNever = asio::steady_timer::time_point::max();
}  // namespace

struct BatchPipeline::Slot {
  explicit Slot(const asio::any_io_executor& ex) : ready(ex, kNever) {}
  std::optional<PreparedBatch> value;
  asio::steady_timer ready;  // canceled when value is set (or the wait is interrupted)
};

BatchPipeline::BatchPipeline(asio::any_io_executor loop, asio::thread_pool& workers)
    : loop_(std::move(loop)),
      workers_(workers),
      read_strand_(asio::make_strand(workers.get_executor())),
      buffers_(std::make_shared<BufferPool>(kIdleBuffers)) {}

void BatchPipeline::configure(PipelineSettings settings) {
  settings_ = std::move(settings);
  window_.clear();
}

void BatchPipeline::setReader(std::shared_ptr<source::EventReader> reader) {
  reader_ = std::move(reader);
  window_.clear();
}

void BatchPipeline::encodeInto(PreparedBatch& prepared, EventBatch&& batch,
                               webhook::EncodeOptions encode, const JobSigning* signing) {
  encode.signer = signing != nullptr ? signing->signer.get() : nullptr;
  std::vector<std::string> known;
  if (encode.signer != nullptr && signing->cache) {
    // A cache that fails to answer costs only signatures: sign them all.
    const auto form =
        encode.format == webhook::Format::Cef ? store::SignedForm::Cef : store::SignedForm::Json;
    auto found = signing->cache->lookup(signing->region, batch, encode.signer->kid(), form);
    if (found) {
      prepared.signature_keys = std::move(found->keys);
      prepared.reused = found->found;
      known = std::move(found->signatures);
      encode.known_signatures = &known;
      encode.made_signatures = &prepared.signatures_made;
    }
  }
  prepared.body = webhook::encodeBatch(std::move(batch), encode);
}

void BatchPipeline::fill() {
  if (!reader_) return;
  while (window_.size() < kWindow) {
    auto slot = std::make_shared<Slot>(loop_);
    window_.push_back(slot);
    auto deliver = [slot, loop = loop_](PreparedBatch prepared) {
      asio::post(loop, [slot, prepared = std::move(prepared)]() mutable {
        slot->value = std::move(prepared);
        slot->ready.cancel();
      });
    };
    // Reads run one at a time, in order, on the strand; encodes run on any worker.
    asio::post(read_strand_, [weak_reader = std::weak_ptr(reader_), deliver, settings = settings_,
                              buffers = buffers_, &workers = workers_]() mutable {
      // A reader replaced or dropped since (reopened, job ended) is not read further: its
      // queued reads would only wait on an unreachable source.
      std::shared_ptr<source::EventReader> reader = weak_reader.lock();
      if (!reader) return;
      PreparedBatch prepared;
      prepared.generation = settings.generation;
      EventBatch batch;
      batch.adoptBuffer(buffers->take());
      auto read = reader->next(batch, settings.limits);
      prepared.skipped = reader->takeSkipped();
      if (!read) {
        // The source's words (which partitions, what the broker said) if any.
        std::string detail = reader->lastErrorDetail();
        prepared.error = detail.empty() ? read.error().message() : std::move(detail);
        prepared.error_code = read.error();
        deliver(std::move(prepared));
        return;
      }
      prepared.checkpoint = batch.checkpoint;
      prepared.identity = batch.identity;
      if (batch.empty()) {
        // No event, but a checkpoint: the reader passed over a gap (arrival order).
        prepared.end = prepared.checkpoint.empty();
        buffers->give(batch.releaseJoined());
        deliver(std::move(prepared));
        return;
      }
      prepared.events = batch.size();
      prepared.last_time = batch.time(batch.size() - 1);
      asio::post(workers, [batch = std::move(batch), prepared = std::move(prepared),
                           encode = settings.encode, signing = std::move(settings.signing), deliver,
                           buffers = std::move(buffers)]() mutable {
        encodeInto(prepared, std::move(batch), encode, signing.get());
        // A compressed or signed body leaves the batch's buffer for the next read.
        buffers->give(batch.releaseJoined());
        deliver(std::move(prepared));
      });
    });
  }
}

asio::awaitable<PreparedBatch*> BatchPipeline::front() {
  if (window_.empty()) co_return nullptr;
  auto slot = window_.front();
  if (!slot->value) {
    waiting_on_ = slot;
    co_await slot->ready.async_wait(asio::as_tuple(asio::use_awaitable));
    waiting_on_.reset();
  }
  // The slot may have been dropped meanwhile (clear(), a new reader): then it is no batch.
  if (window_.empty() || window_.front() != slot || !slot->value) co_return nullptr;
  co_return &*slot->value;
}

void BatchPipeline::pop() {
  if (window_.empty()) return;
  if (auto& value = window_.front()->value) buffers_->give(std::move(value->body.bytes));
  window_.pop_front();
}

PipelineSettings pipelineSettings(const Runtime& runtime, const config::RegionSettings& region) {
  PipelineSettings settings;
  settings.generation = runtime.generation;
  settings.limits = BatchLimits{region.batch.max_events, region.batch.max_bytes};
  settings.encode = encodeOptions(region.webhook);
  const auto& signing = runtime.config->signing;
  if (runtime.signer) {
    settings.signing = std::make_shared<const JobSigning>(JobSigning{
        runtime.signer, signing && signing->cache ? runtime.store.signatureCache() : nullptr,
        region.name});
  }
  return settings;
}

void BatchPipeline::keepSignatures(PreparedBatch& batch) {
  std::size_t made = 0;
  for (const auto& sig : batch.signatures_made) made += sig.empty() ? 0 : 1;
  const auto& signing = settings_.signing;
  if (made == 0 || !signing || !signing->cache) return;
  asio::post(workers_, [signing, keys = std::move(batch.signature_keys),
                        sigs = std::move(batch.signatures_made)] {
    if (auto stored = signing->cache->store(keys, sigs); !stored) {
      spdlog::warn(
          "region={}: signature cache write failed ({}); these events are signed "
          "again by their next replay",
          signing->region, stored.error().message());
    }
  });
}

void BatchPipeline::interrupt() {
  if (waiting_on_) waiting_on_->ready.cancel();
}

}  // namespace audit::jobs
