#include "sink/detail/decoding.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <cctype>

namespace audit::sink::detail {

namespace beast = boost::beast;

ReceivedRequest describe(const beast::http::request_header<>& header) {
  ReceivedRequest request;
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
  for (const auto& field : header) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto [it, inserted] = request.headers.try_emplace(std::move(name), field.value());
    if (!inserted) it->second.append(", ").append(field.value());
  }
  return request;
}

Reply refusal(int status, std::string why) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(why);
  return reply;
}

BodyDecoder::Decoded BodyDecoder::decode(std::string_view content_encoding, std::string& raw,
                                         std::size_t cap) {
  if (content_encoding.empty() || beast::iequals(content_encoding, "identity"))
    return Decoded{&raw, std::nullopt};
  if (!beast::iequals(content_encoding, "gzip") && !beast::iequals(content_encoding, "x-gzip"))
    return Decoded{nullptr, refusal(415, "unsupported Content-Encoding")};
  // Decoded on the connection's I/O thread: the receiver's threads do nothing else, and
  // libdeflate takes about 1 ms for a 600 KB batch.
  switch (gunzip_.decompress(raw, inflated_, cap)) {
    case Gunzipper::Result::Ok:
      return Decoded{&inflated_, std::nullopt};
    case Gunzipper::Result::TooLarge:
      return Decoded{nullptr, refusal(413, "gunzipped body too large")};
    case Gunzipper::Result::BadData:
      break;
  }
  return Decoded{nullptr, refusal(400, "body is not valid gzip")};
}

}  // namespace audit::sink::detail
