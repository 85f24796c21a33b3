#pragma once
// The read → encode → deliver pipeline a replay job and forwarding share: reads happen in
// order on a strand of the worker pool, each batch is then encoded (compressed, signed) on
// any worker, and up to kWindow prepared batches wait while the loop delivers the oldest.
// The owner delivers and pops them in order. All methods run on the event loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/buffer_pool.hpp"
#include "common/event_batch.hpp"
#include "jobs/runtime.hpp"
#include "signing/signer.hpp"
#include "source/event_source.hpp"
#include "store/signature_cache.hpp"
#include "webhook/encoder.hpp"

namespace audit::jobs {

/** How a job signs: the signer and, with signing.cache, where signatures are kept. */
struct JobSigning {
  signing::SignerPtr signer;
  store::SignatureCachePtr cache;  // null: sign every event
  std::string region;
};

/** One batch read and encoded, ready to deliver. */
struct PreparedBatch {
  std::uint64_t generation = 0;
  /** Nothing more to read: a range's end, or (arrival order) nothing stored yet. */
  bool end = false;
  std::optional<std::string> error;
  boost::system::error_code error_code;  // with error: source::Errc::busy may pass
  std::size_t events = 0;
  EpochMillis last_time = 0;
  std::string checkpoint;
  std::string identity;
  source::Skipped skipped;  // passed over by the reader (a forwarding gap)
  webhook::EncodedBody body;
  // signing.cache: the batch's cache keys and the signatures made for it (stored once the
  // batch was delivered), and how many were reused instead of made.
  std::vector<std::string> signature_keys;
  std::vector<std::string> signatures_made;
  std::size_t reused = 0;
};

/** What every batch is read and encoded with; a new generation drops what was prepared. */
struct PipelineSettings {
  std::uint64_t generation = 0;
  BatchLimits limits;
  webhook::EncodeOptions encode;
  std::shared_ptr<const JobSigning> signing;  // null: deliveries are not signed
};

/** The region's batch limits, encoding and signing, as configured now. */
PipelineSettings pipelineSettings(const Runtime& runtime, const config::RegionSettings& region);

class BatchPipeline {
 public:
  BatchPipeline(boost::asio::any_io_executor loop, boost::asio::thread_pool& workers);

  /** Settings for the batches read from now on (drops the window). */
  void configure(PipelineSettings settings);
  const PipelineSettings& settings() const { return settings_; }

  /** The reader to read from (drops the window); null stops reading. */
  void setReader(std::shared_ptr<source::EventReader> reader);
  bool hasReader() const { return reader_ != nullptr; }

  /** Queues reads until kWindow batches are prepared or on their way. */
  void fill();
  /** The oldest batch, once prepared; null when interrupt() ended the wait. */
  boost::asio::awaitable<PreparedBatch*> front();
  /** Drops the oldest batch (delivered or skipped); its body's buffer is reused. */
  void pop();
  /** Drops every batch; reads still queued for the current reader are read and dropped. */
  void clear() { window_.clear(); }
  /** Ends a front() wait. */
  void interrupt();

  /** signing.cache: stores the signatures made for a delivered batch, on a worker. */
  void keepSignatures(PreparedBatch& batch);

  /** Encodes `batch` into `prepared` (on a worker); with signing.cache, signatures made
   *  before are reused and new ones kept in `prepared` until the batch is delivered. */
  static void encodeInto(PreparedBatch& prepared, EventBatch&& batch, webhook::EncodeOptions encode,
                         const JobSigning* signing);

 private:
  struct Slot;

  boost::asio::any_io_executor loop_;
  boost::asio::thread_pool& workers_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> read_strand_;
  PipelineSettings settings_;
  std::shared_ptr<source::EventReader> reader_;
  std::deque<std::shared_ptr<Slot>> window_;
  std::shared_ptr<BufferPool> buffers_;  // shared with reads and encodes still queued
  std::shared_ptr<Slot> waiting_on_;
};

}  // namespace audit::jobs
