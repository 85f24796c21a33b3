#include "kafka/detail/record_time.hpp"

#include <charconv>
#include <string_view>

namespace audit::kafka::detail {

std::size_t formatTimeHeader(EpochMillis ms, char* out) {
  auto [end, ec] = std::to_chars(out, out + 24, ms);
  return ec == std::errc() ? static_cast<std::size_t>(end - out) : 0;
}

source::EventTime recordEventTime(const rd_kafka_message_t& message) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const void* value = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_last(headers, kTimeHeader, &value, &size) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        value != nullptr && size > 0 && size < 24) {
      const char* text = static_cast<const char*>(value);
      EpochMillis ms = 0;
      auto [end, ec] = std::from_chars(text, text + size, ms);
      if (ec == std::errc() && end == text + size) return source::EventTime{true, ms, {}};
    }
  }
  return source::extractEventTime(
      std::string_view(static_cast<const char*>(message.payload), message.len));
}

}  // namespace audit::kafka::detail
