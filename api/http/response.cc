#include "api/http/response.hpp"

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

namespace audit::api::http {
namespace {

Response withBody(unsigned status, std::string_view content_type, std::string body) {
  Response response{static_cast<bhttp::status>(status), 11};
  response.set(bhttp::field::server, "audit-replay/" AUDIT_REPLAY_VERSION);
  response.set(bhttp::field::content_type, content_type);
  // Job state changes from one moment to the next and answers may be per-token: no caches.
  response.set(bhttp::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

Response jsonResponse(unsigned status, const boost::json::value& body) {
  return withBody(status, "application/json", boost::json::serialize(body));
}

std::string newRequestId() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // The id only correlates an answer with a log line; without the CSPRNG a counter mixed
    // with the clock is still unique within the process.
    static std::atomic<std::uint64_t> counter{0};
    const auto a = counter.fetch_add(1) + 1;
    const auto b =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (std::size_t i = 0; i < 8; ++i) {
      bytes[i] = static_cast<unsigned char>(a >> (8 * i));
      bytes[8 + i] = static_cast<unsigned char>(b >> (8 * i));
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(bytes.size() * 2);
  for (const unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 0xf];
  }
  return id;
}

std::string traceInstance(std::string_view request_id) {
  return "audit-replay:trace:" + std::string(request_id);
}

std::string_view problemTitle(unsigned status) {
  switch (status) {
    // Konnect's titles where they differ from the reason phrase.
    case 409:
      return "Resource Conflict";
    case 413:
      return "Payload Too Large";
    default:
      break;
  }
  const auto phrase = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  const std::string_view reason(phrase.data(), phrase.size());
  return reason.empty() || reason == "<unknown-status>" ? std::string_view("Error") : reason;
}

Response problemResponse(unsigned status, std::string_view detail, std::string_view request_id,
                         const InvalidParameters& invalid) {
  status = sanitizeStatus(status);
  boost::json::object problem{
      {"status", status},
      {"title", problemTitle(status)},
      {"detail", detail},
      {"instance", traceInstance(request_id)},
  };
  if (status == 400) {
    boost::json::array params;
    for (const auto& p : invalid) {
      params.push_back(boost::json::object{{"field", p.field}, {"reason", p.reason}});
    }
    if (params.empty())
      params.push_back(boost::json::object{{"field", "request"}, {"reason", detail}});
    problem["invalid_parameters"] = std::move(params);
  }
  return withBody(status, "application/problem+json", boost::json::serialize(problem));
}

unsigned sanitizeStatus(long long status) {
  return status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 500;
}

}  // namespace audit::api::http
