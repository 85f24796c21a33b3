#include "daemon/http/response.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace audit::daemon::http {
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

Response problemResponse(unsigned status, std::string_view detail, std::string_view instance) {
  status = sanitizeStatus(status);
  const auto phrase = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  const std::string_view reason(phrase.data(), phrase.size());
  boost::json::object problem{
      {"status", status},
      {"title", reason.empty() ? std::string_view("Error") : reason},
      {"detail", detail},
      {"instance", instance},
  };
  return withBody(status, "application/problem+json", boost::json::serialize(problem));
}

unsigned sanitizeStatus(long long status) {
  return status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 500;
}

}  // namespace audit::daemon::http
