#pragma once
// From a parsed request to what the ledger and the script see: the header as a
// ReceivedRequest, and the body decoded per its Content-Encoding.

#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sink/detail/gunzip.hpp"
#include "sink/receiver.hpp"

namespace audit::sink::detail {

/** Method, target and headers (names lower-cased, repeated ones joined with ", "). */
ReceivedRequest describe(const boost::beast::http::request_header<>& header);

/** A plain answer with `status` and `why` as its body. */
Reply refusal(int status, std::string why);

/** Decodes bodies of one connection; keeps its output buffer between requests, so it is
 *  not thread-safe. */
class BodyDecoder {
 public:
  struct Decoded {
    std::string* plain = nullptr;  // the raw body itself, or this decoder's buffer
    std::optional<Reply> refusal;  // set (and `plain` null) when the body cannot be used
  };

  /** identity/none: `raw` as is; gzip (or x-gzip): gunzipped, at most `cap` bytes (else 413),
   *  400 when not gzip; any other encoding: 415. */
  Decoded decode(std::string_view content_encoding, std::string& raw, std::size_t cap);

 private:
  Gunzipper gunzip_;
  std::string inflated_;
};

}  // namespace audit::sink::detail
