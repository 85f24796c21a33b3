#pragma once
// A webhook receiver: the project's sink program and the tests' real HTTP(S) server.
// Reads every byte of every request, gunzips, splits lines, and answers per a script
// that can inject faults (fail N times, 429 + Retry-After, 400, close mid-response, hang).
// Runs its own I/O thread; all public members are thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace audit::sink {

struct TlsFiles {
  std::string cert_chain_file;   // PEM
  std::string private_key_file;  // PEM
};

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::size_t wire_bytes = 0;                  // body as received
  std::string body;                            // decompressed when Content-Encoding: gzip
  std::size_t line_count = 0;                  // non-empty '\n'-separated lines of `body`
  int status = 0;  // status answered; 0 while undecided or when not answered
};

/** What to do with one request. */
struct Reply {
  enum class Kind { Respond, CloseMidResponse, Hang, CloseWithoutAnswer };
  Kind kind = Kind::Respond;
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;  // e.g. {"Retry-After", "1"}
  std::chrono::milliseconds delay{0};          // answer after this long
};

/** Decides the reply to the n-th request (0-based). Default: 200. Called on an I/O thread
 *  after the whole body was read and decompressed. Requests the receiver refuses itself
 *  (413 too large, 400 bad gzip, 415 unknown encoding) take an index but skip the script. */
using Script = std::function<Reply(const ReceivedRequest&, std::size_t n)>;

struct ReceiverOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  std::optional<TlsFiles> tls;
  bool keep_requests = true;  // false: only count (the sink in benchmarks)
  /** false: a compressed body is not gunzipped, only its bytes are counted (its events are
   *  not; plain_bytes counts it as received): a benchmark's receiver that costs next to
   *  nothing, so that the sender is measured alone. */
  bool decompress = true;
  std::size_t max_body = 256u << 20;  // larger bodies get 413; gunzipped ones 16x this
  unsigned threads = 1;               // I/O threads; each connection still runs on one strand
  /** Deadline of each request read (header, then body) and each response write; also the
   *  idle time after which a keep-alive connection is closed. */
  std::chrono::milliseconds io_timeout{60'000};
  /** A GET of this path answers toJson(stats()) and is not counted; empty: no such path. */
  std::string stats_target;
  /** Unexpected I/O failures ("handshake: ..."), called on an I/O thread. Default: silent. */
  std::function<void(const std::string&)> log;
};

struct ReceiverStats {
  std::uint64_t requests = 0;  // every request received, refused and faulted ones too
  std::uint64_t events = 0;    // lines in 2xx-answered requests
  std::uint64_t wire_bytes = 0;
  std::uint64_t plain_bytes = 0;
  std::uint64_t connections = 0;
  std::uint64_t accepted = 0;  // 2xx-answered requests
};

/** {"requests":…,"events":…,"wire_bytes":…,"plain_bytes":…,"connections":…,"accepted":…} */
std::string toJson(const ReceiverStats& stats);

class Receiver {
 public:
  explicit Receiver(ReceiverOptions options, Script script = {});
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  /** Binds, listens, starts the I/O thread(s). @return the bound port. Throws on bind failure.
   *  A stopped receiver may be started again (on a new port when options.port is 0). */
  std::uint16_t start();
  /** Closes the listener and every connection (hanging ones too) and joins the I/O threads.
   *  Prompt; idempotent. Must not be called from a Script (it runs on an I/O thread). */
  void stop();

  std::uint16_t port() const;
  std::string url(const std::string& path = "/audit") const;  // "http(s)://127.0.0.1:PORT/audit"

  void setScript(Script script);
  ReceiverStats stats() const;
  std::vector<ReceivedRequest> requests() const;  // when keep_requests
  /** Every event line of 2xx-answered requests, in arrival order (empty unless keep_requests).
   *  A request counts as answered once its answer is handed to a connection still open. */
  std::vector<std::string> acceptedEvents() const;

  /** Waits until `pred(stats())` holds or the deadline passes. @return whether it held.
   *  `pred` runs without the receiver's lock, so it may call the receiver. */
  bool waitFor(const std::function<bool(const ReceiverStats&)>& pred,
               std::chrono::milliseconds deadline) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace audit::sink
