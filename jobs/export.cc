#include "jobs/export.hpp"

#include "common/buffer_pool.hpp"
#include "jobs/export_state.hpp"
#include "webhook/gzip.hpp"

namespace audit::jobs {

ExportBatches::ExportBatches(std::unique_ptr<State> state) : state_(std::move(state)) {}

ExportBatches::~ExportBatches() = default;

ExportChunk ExportBatches::next() {
  State& s = *state_;
  ExportChunk chunk;
  EventBatch batch;
  batch.adoptBuffer(s.buffers.take());
  auto read = s.reader->next(batch, s.limits);
  if (!read) {
    std::string detail = s.reader->lastErrorDetail();
    chunk.error = detail.empty() ? read.error().message() : std::move(detail);
    return chunk;
  }
  if (batch.empty()) {
    chunk.end = true;
    return chunk;
  }
  webhook::EncodeOptions encode = s.encode;
  encode.signer = s.signer.get();
  chunk.events = batch.size();
  webhook::EncodedBody body = webhook::encodeBatch(std::move(batch), encode);
  // A signed or rendered body leaves the batch's buffer for the next read.
  s.buffers.give(batch.releaseJoined());
  if (s.gzip) {
    body.bytes.push_back('\n');
    chunk.bytes = webhook::gzipCompress(body.bytes);
    s.buffers.give(std::move(body.bytes));
  } else {
    chunk.bytes = std::move(body.bytes);  // its '\n' goes out as a buffer of its own
    chunk.newline = true;
  }
  return chunk;
}

void ExportBatches::recycle(std::string bytes) {
  state_->buffers.give(std::move(bytes));
}

}  // namespace audit::jobs
