#pragma once
// What an ExportBatches holds (jobs/export.hpp): made by ReplayService::openExport, read by
// ExportBatches. Private to jobs/.

#include <memory>

#include "common/buffer_pool.hpp"
#include "common/event_batch.hpp"
#include "jobs/export.hpp"
#include "signing/signer.hpp"
#include "source/event_source.hpp"
#include "webhook/encoder.hpp"

namespace audit::jobs {

struct ExportBatches::State {
  std::shared_ptr<source::EventReader> reader;
  BatchLimits limits;
  webhook::EncodeOptions encode;  // without its signer, which is `signer`
  signing::SignerPtr signer;      // null: unsigned, as the webhook's deliveries
  bool gzip = false;
  // Buffers written come back for the next reads: fresh multi-MiB buffers cost a page
  // fault every 4 KiB. kExportReadAhead batches are read ahead at most, one being written.
  BufferPool buffers{kExportReadAhead + 2};
};

}  // namespace audit::jobs
