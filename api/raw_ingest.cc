#include "api/raw_ingest.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/vocabulary.hpp"

namespace audit::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

json::object failure(int code, std::string error) {
  json::object answer;
  answer["ok"] = false;
  answer["code"] = code;
  answer["error"] = std::move(error);
  return answer;
}

}  // namespace

bool isRawIngest(const json::object& request) {
  const auto* op = request.if_contains("op");
  return op != nullptr && op->is_string() &&
         protocol::parseOp(op->get_string()) == protocol::Op::IngestRaw;
}

asio::awaitable<json::object> serveRawIngest(asio::local::stream_protocol::socket& socket,
                                             std::string& buffer, json::object request,
                                             ControlApi& api, bool* close_after) {
  const auto* bytes = request.if_contains("bytes");
  if (bytes == nullptr || !bytes->is_int64() || bytes->get_int64() < 0) {
    *close_after = true;  // the body that follows cannot be told from the next request
    co_return failure(400, "ingest_raw needs \"bytes\": the length of the events that follow");
  }
  const auto n = static_cast<std::size_t>(bytes->get_int64());
  if (n > kMaxRawIngestBytes) {
    *close_after = true;
    co_return failure(413, "ingest_raw takes at most " + std::to_string(kMaxRawIngestBytes) +
                               " bytes a request; send smaller chunks");
  }
  jobs::BodyIngestOptions options;
  if (const auto* s = request.if_contains("skip_invalid"); s != nullptr && !s->is_null()) {
    if (!s->is_bool()) {
      *close_after = true;
      co_return failure(400, "skip_invalid must be true or false");
    }
    options.skip_invalid = s->get_bool();
  }
  if (buffer.size() < n) {
    const std::size_t missing = n - buffer.size();
    auto [ec, got] = co_await asio::async_read(socket, asio::dynamic_buffer(buffer),
                                               asio::transfer_exactly(missing),
                                               asio::as_tuple(asio::use_awaitable));
    if (ec) {
      *close_after = true;
      co_return failure(400, "the connection ended inside the events: " + ec.message());
    }
  }
  request.erase("bytes");
  request.erase("skip_invalid");
  request.erase("op");
  json::object answer =
      co_await api.ingestBody(std::move(request), std::string_view(buffer.data(), n), options);
  buffer.erase(0, n);
  co_return answer;
}

}  // namespace audit::api
