#include "bench/bench_limits.hpp"

#include <time.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "bench/bench_dataset.hpp"
#include "store/event_store.hpp"
#include "webhook/http_client.hpp"

namespace audit::bench {
namespace {

namespace asio = boost::asio;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

store::StorePtr openStore(const std::filesystem::path& data_dir) {
  std::string detail;
  auto opened = store::Store::open({.data_dir = data_dir}, &detail);
  if (!opened) {
    std::fprintf(stderr, "replay_bench: cannot open the store in %s: %s\n", data_dir.c_str(),
                 detail.c_str());
    std::exit(1);
  }
  return std::move(*opened);
}

source::EventReaderPtr openReader(store::Store& store, const std::string& region,
                                  source::TimeRange range) {
  auto reader = store.region(region)->openReader(range, {});
  if (!reader) {
    std::fprintf(stderr, "replay_bench: openReader: %s\n", reader.error().message().c_str());
    std::exit(1);
  }
  return std::move(*reader);
}

// Batch byte cap high enough that only the event count ends a batch, as in the daemon
// cases (whose config sets batch.max_bytes to the same).
constexpr std::size_t kBatchBytes = 16u << 20;

// Posts until `duration` has passed; the first POST (connect) is not timed.
asio::awaitable<void> postLoop(webhook::WebhookClient& client,
                               const std::vector<webhook::EncodedBody>& bodies,
                               std::chrono::milliseconds duration, Throughput& out,
                               std::string& error) {
  auto check = [&](const webhook::AttemptResult& r) {
    if (r.error) {
      error = r.step + ": " + r.error.message();
    } else if (r.status / 100 != 2) {
      error = "receiver answered " + std::to_string(r.status);
    }
    return error.empty();
  };
  if (!check(co_await client.post(bodies.front(), {}))) co_return;
  const auto t0 = SteadyClock::now();
  const double c0 = threadCpuSeconds();
  for (std::size_t i = 0; SteadyClock::now() - t0 < duration; ++i) {
    const webhook::EncodedBody& body = bodies[i % bodies.size()];
    if (!check(co_await client.post(body, {}))) co_return;
    out.events += body.events;
    out.bytes += body.plain_bytes;
    out.wire_bytes += body.bytes.size();
  }
  out.seconds = secondsSince(t0);
  out.cpu_seconds = threadCpuSeconds() - c0;
  client.close();
}

// A bounded hand-over between the scanning thread and the sending thread.
class BodyQueue {
 public:
  explicit BodyQueue(std::size_t capacity) : capacity_(capacity) {}
  void push(std::optional<webhook::EncodedBody> body) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(std::move(body));
    not_empty_.notify_one();
  }
  /** nullopt: the scan ended. */
  std::optional<webhook::EncodedBody> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty(); });
    auto body = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return body;
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<std::optional<webhook::EncodedBody>> queue_;
};

// Sends what the queue hands over until it ends; blocking in pop() is fine here because
// nothing else runs on this io_context between two POSTs.
asio::awaitable<void> drainQueue(webhook::WebhookClient& client, BodyQueue& queue, Throughput& out,
                                 std::string& error) {
  for (;;) {
    std::optional<webhook::EncodedBody> body = queue.pop();
    if (!body) break;
    webhook::AttemptResult r = co_await client.post(*body, {});
    if (r.error || r.status / 100 != 2) {
      error = r.error ? r.step + ": " + r.error.message()
                      : "receiver answered " + std::to_string(r.status);
      break;
    }
    out.events += body->events;
    out.bytes += body->plain_bytes;
    out.wire_bytes += body->bytes.size();
  }
  client.close();
}

}  // namespace

Throughput measurePipeline(const std::filesystem::path& data_dir, const std::string& region,
                           source::TimeRange range, std::size_t batch_events,
                           const std::string& url) {
  store::StorePtr store = openStore(data_dir);
  asio::io_context ioc;
  webhook::ClientOptions settings;
  settings.endpoint = url;
  settings.timeout = Millis(30'000);
  auto created = webhook::WebhookClient::create(ioc.get_executor(), settings);
  if (!created) {
    std::fprintf(stderr, "replay_bench: webhook client: %s\n", created.message().c_str());
    std::exit(1);
  }
  webhook::WebhookClientPtr client = std::move(*created);
  std::string error;
  BodyQueue queue(4);
  Throughput t;
  const auto t0 = SteadyClock::now();
  std::thread scanner([&] {
    source::EventReaderPtr reader = openReader(*store, region, range);
    for (;;) {
      EventBatch batch;
      auto r = reader->next(batch, {.max_events = batch_events, .max_bytes = kBatchBytes});
      if (!r || batch.empty()) break;  // an error shows as a short count, checked by the caller
      // The one copy a JSON replay needs: the body the sender owns.
      queue.push(webhook::encodeBatch(
          batch, {.format = webhook::Format::Json, .compression = webhook::Compression::None}));
    }
    queue.push(std::nullopt);
  });
  asio::co_spawn(ioc, drainQueue(*client, queue, t, error), asio::detached);
  ioc.run();
  if (!error.empty()) {
    // Unblock the scanner before joining it.
    for (std::optional<webhook::EncodedBody> b = queue.pop(); b; b = queue.pop()) {
    }
  }
  scanner.join();
  t.seconds = secondsSince(t0);
  if (!error.empty()) {
    std::fprintf(stderr, "replay_bench: pipeline: %s\n", error.c_str());
    std::exit(1);
  }
  return t;
}

Throughput median(std::vector<Throughput> runs) {
  if (runs.empty()) return {};
  std::sort(runs.begin(), runs.end(), [](const Throughput& a, const Throughput& b) {
    return a.eventsPerSecond() < b.eventsPerSecond();
  });
  return runs[(runs.size() - 1) / 2];
}

Throughput measureScan(const std::filesystem::path& data_dir, const std::string& region,
                       source::TimeRange range, std::size_t batch_events) {
  store::StorePtr store = openStore(data_dir);
  Throughput t;
  const auto t0 = SteadyClock::now();
  const double c0 = threadCpuSeconds();
  // Opening the reader is part of the work (the daemon opens one per job).
  source::EventReaderPtr reader = openReader(*store, region, range);
  EventBatch batch;
  for (;;) {
    auto r = reader->next(batch, {.max_events = batch_events, .max_bytes = kBatchBytes});
    if (!r) {
      std::fprintf(stderr, "replay_bench: scan: %s\n", r.error().message().c_str());
      std::exit(1);
    }
    if (batch.empty()) break;
    t.events += batch.size();
    t.bytes += batch.eventBytes();
  }
  t.seconds = secondsSince(t0);
  t.cpu_seconds = threadCpuSeconds() - c0;
  return t;
}

std::vector<EventBatch> loadBatches(const std::filesystem::path& data_dir,
                                    const std::string& region, source::TimeRange range,
                                    std::size_t batch_events, std::size_t count) {
  store::StorePtr store = openStore(data_dir);
  source::EventReaderPtr reader = openReader(*store, region, range);
  std::vector<EventBatch> batches;
  while (batches.size() < count) {
    EventBatch batch;
    auto r = reader->next(batch, {.max_events = batch_events, .max_bytes = kBatchBytes});
    if (!r || batch.empty()) break;
    batches.push_back(std::move(batch));
  }
  return batches;
}

std::vector<webhook::EncodedBody> encodeAll(const std::vector<EventBatch>& batches,
                                            const webhook::EncodeOptions& options) {
  std::vector<webhook::EncodedBody> bodies;
  bodies.reserve(batches.size());
  for (const auto& b : batches) bodies.push_back(webhook::encodeBatch(b, options));
  return bodies;
}

Throughput measureEncode(const std::vector<EventBatch>& batches,
                         const webhook::EncodeOptions& options,
                         std::chrono::milliseconds duration) {
  Throughput t;
  const auto t0 = SteadyClock::now();
  const double c0 = threadCpuSeconds();
  for (std::size_t i = 0; SteadyClock::now() - t0 < duration; ++i) {
    const EventBatch& batch = batches[i % batches.size()];
    webhook::EncodedBody body = webhook::encodeBatch(batch, options);
    t.events += body.events;
    t.bytes += body.plain_bytes;
    t.wire_bytes += body.bytes.size();
  }
  t.seconds = secondsSince(t0);
  t.cpu_seconds = threadCpuSeconds() - c0;
  return t;
}

Throughput measureDelivery(const std::string& url, const std::vector<webhook::EncodedBody>& bodies,
                           std::chrono::milliseconds duration) {
  asio::io_context ioc;
  webhook::ClientOptions settings;
  settings.endpoint = url;
  settings.timeout = Millis(30'000);
  auto created = webhook::WebhookClient::create(ioc.get_executor(), settings);
  if (!created) {
    std::fprintf(stderr, "replay_bench: webhook client: %s\n", created.message().c_str());
    std::exit(1);
  }
  webhook::WebhookClientPtr client = std::move(*created);
  std::string error;
  Throughput t;
  asio::co_spawn(ioc, postLoop(*client, bodies, duration, t, error), asio::detached);
  ioc.run();
  if (!error.empty()) {
    std::fprintf(stderr, "replay_bench: delivery: %s\n", error.c_str());
    std::exit(1);
  }
  return t;
}

}  // namespace audit::bench
