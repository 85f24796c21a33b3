#pragma once
// Bounds on what one HTTP client can hold (docs/http-api.md and the slowloris defences).

#include <chrono>
#include <cstddef>

namespace audit::api {

/** The defaults are the product's; tests shorten them. */
struct HttpLimits {
  /** From a connection's opening (or a request's first byte) to the request's last byte. */
  std::chrono::milliseconds request_timeout{10'000};
  /** How long a kept-alive connection may sit between requests. */
  std::chrono::milliseconds idle_timeout{30'000};
  /** How long a connection that never passed the token check may sit between requests. */
  std::chrono::milliseconds unproven_idle_timeout{5'000};
  /** Connections one client address may hold before passing the token check. */
  std::size_t max_unproven_per_client = 32;
  /** Writing one response. */
  std::chrono::milliseconds write_timeout{10'000};
  /** Connections served at once; more are answered 503 and closed. */
  std::size_t max_connections = 256;
  /** Connections being refused at once; beyond this, new ones are closed unanswered. */
  std::size_t max_refusing = 64;
  std::size_t header_limit = 8 * 1024;  // request line + fields; beyond: 431
  std::size_t body_limit = 64 * 1024;   // beyond: 413 (docs/http-api.md)
  /** POST /v2/audit-logs, as received (compressed or not); set from http.max_ingest_bytes. */
  std::size_t ingest_body_limit = 64u << 20;
};

}  // namespace audit::api
