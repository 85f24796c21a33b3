#include "api/http/ingest_route.hpp"

#include <spdlog/spdlog.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <exception>
#include <optional>
#include <string>

#include "common/expected.hpp"

namespace audit::api::http {
namespace {

namespace json = boost::json;
using boost::beast::iequals;

std::string_view trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

/** Content-Encoding gzip (or x-gzip), Content-Type application/gzip, or the gzip magic. */
Expected<bool> isGzip(const Request& request) {
  const std::string_view encoding = trimmed(request[bhttp::field::content_encoding]);
  if (iequals(encoding, "gzip") || iequals(encoding, "x-gzip")) return true;
  if (!encoding.empty() && !iequals(encoding, "identity")) {
    return Failure{"Content-Encoding \"" + std::string(encoding) +
                   "\" is not supported; send gzip or none"};
  }
  std::string_view type = request[bhttp::field::content_type];
  type = trimmed(type.substr(0, type.find(';')));
  if (iequals(type, "application/gzip") || iequals(type, "application/x-gzip")) return true;
  const std::string_view body = request.body();
  return body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f &&
         static_cast<unsigned char>(body[1]) == 0x8b;
}

Expected<bool> skipInvalid(std::string_view target) {
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) return false;  // the handler checked the target already
  const auto params = url->params();
  const auto it = params.find("skip_invalid");
  if (it == params.end()) return false;
  const std::string value = (*it).has_value ? std::string((*it).value) : std::string("true");
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return Failure{"skip_invalid must be true or false, got \"" + value + "\""};
}

json::array rejectedOf(const json::object& answer) {
  if (const auto* r = answer.if_contains("rejected"); r != nullptr && r->is_array()) {
    return r->get_array();
  }
  return {};
}

/** The answer of ControlApi::ingestBody as the HTTP response. */
Response toResponse(const json::object& answer, std::string_view request_id) {
  const auto* ok = answer.if_contains("ok");
  if (ok != nullptr && ok->is_bool() && ok->get_bool()) {
    json::object body;
    body["ingested"] = answer.contains("ingested") ? answer.at("ingested") : json::value(0);
    body["duplicates"] = answer.contains("duplicates") ? answer.at("duplicates") : json::value(0);
    body["rejected"] = rejectedOf(answer);
    return jsonResponse(200, body);
  }
  const auto* code = answer.if_contains("code");
  const unsigned status =
      code != nullptr && code->is_int64() ? sanitizeStatus(code->get_int64()) : 500;
  const auto* error = answer.if_contains("error");
  const std::string_view detail = error != nullptr && error->is_string()
                                      ? std::string_view(error->get_string())
                                      : std::string_view("ingest failed");
  Response response = problemResponse(status >= 400 ? status : 500, detail, request_id);
  json::array rejected = rejectedOf(answer);
  if (!rejected.empty()) {
    // The problem as written, plus every bad line: as "rejected" (the success answer's
    // shape) and as Konnect's "invalid_parameters".
    boost::system::error_code ec;
    json::value problem = json::parse(response.body(), ec);
    if (!ec && problem.is_object()) {
      json::array invalid;
      for (const auto& item : rejected) {
        const auto& r = item.as_object();
        json::object parameter;
        parameter["field"] = "line " + json::serialize(r.at("line"));
        parameter["reason"] = r.at("reason");
        invalid.push_back(std::move(parameter));
      }
      problem.as_object()["invalid_parameters"] = std::move(invalid);
      problem.as_object()["rejected"] = std::move(rejected);
      response.body() = json::serialize(problem);
      response.prepare_payload();
    }
  }
  if (status == 503) response.set(bhttp::field::retry_after, "5");
  return response;
}

json::object failedAnswer(std::string_view error) {
  json::object answer;
  answer["ok"] = false;
  answer["code"] = 500;
  answer["error"] = error;
  return answer;
}

boost::asio::awaitable<json::object> callIngest(ControlApi& api, json::object control,
                                                std::string_view body,
                                                jobs::BodyIngestOptions options) {
  try {
    json::object answer = co_await api.ingestBody(std::move(control), body, options);
    co_return answer;
  } catch (const std::exception& e) {
    spdlog::error("http: ingest failed with an exception: {}", e.what());
  }
  co_return failedAnswer("internal error");
}

}  // namespace

bool isIngestRequest(const bhttp::request_header<>& header) {
  if (header.method() != bhttp::verb::post) return false;
  const std::string_view target = header.target();
  return target.substr(0, target.find('?')) == kIngestPath;
}

boost::asio::awaitable<Response> serveIngest(ControlApi& api, const Request& request,
                                             json::object control, std::string_view request_id) {
  const Expected<bool> gzip = isGzip(request);
  if (!gzip) co_return problemResponse(415, gzip.message(), request_id);
  const Expected<bool> skip = skipInvalid(request.target());
  if (!skip) {
    const std::string error = skip.message();
    co_return problemResponse(400, error, request_id, {{"skip_invalid", error}});
  }
  const jobs::BodyIngestOptions options{*gzip, *skip};
  const json::object answer = co_await callIngest(api, std::move(control), request.body(), options);
  co_return toResponse(answer, request_id);
}

}  // namespace audit::api::http
