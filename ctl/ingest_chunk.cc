#include "ctl/ingest_chunk.hpp"

#include "protocol/vocabulary.hpp"

namespace audit::ctl {

namespace {

// The escape of byte `c`, or nullptr when it stands for itself; `\u00XX` is built by the
// caller for the other control characters.
const char* shortEscape(unsigned char c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default:
      return nullptr;
  }
}

}  // namespace

std::size_t jsonStringSize(std::string_view text) {
  std::size_t size = 2;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (shortEscape(c) != nullptr) {
      size += 2;
    } else if (c < 0x20) {
      size += 6;
    } else {
      size += 1;
    }
  }
  return size;
}

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + jsonStringSize(text));
  out += '"';
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (const char* escape = shortEscape(c)) {
      out += escape;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
}

IngestChunk::IngestChunk(std::string_view region, bool skip_invalid, std::size_t max_lines,
                         std::size_t max_bytes, Wire wire)
    : wire_(wire), max_lines_(max_lines), max_bytes_(max_bytes) {
  prefix_ = R"({"op":")";
  prefix_ += protocol::toString(wire == Wire::Raw ? protocol::Op::IngestRaw : protocol::Op::Ingest);
  prefix_ += R"(","region":)";
  appendJsonString(prefix_, region);
  if (wire == Wire::Raw) {
    prefix_ +=
        skip_invalid ? R"(,"skip_invalid":true,"bytes":)" : R"(,"skip_invalid":false,"bytes":)";
    return;
  }
  prefix_ +=
      skip_invalid ? R"(,"skip_invalid":true,"lines":[)" : R"(,"skip_invalid":false,"lines":[)";
}

bool IngestChunk::fits(std::string_view line) const {
  if (empty()) return true;
  if (size() >= max_lines_) return false;
  if (wire_ == Wire::Raw) return body_.size() + line.size() + 1 <= max_bytes_;
  return body_.size() + 1 + jsonStringSize(line) <= max_bytes_;
}

void IngestChunk::add(std::string_view line, std::size_t line_number) {
  if (wire_ == Wire::Raw) {
    body_ += line;
    body_ += '\n';
    line_numbers_.push_back(line_number);
    return;
  }
  if (!body_.empty()) body_ += ',';
  appendJsonString(body_, line);
  line_numbers_.push_back(line_number);
}

std::string IngestChunk::requestLine() const {
  if (wire_ == Wire::Raw) {
    // The last line's '\n' is the one ControlClient::call ends every request with.
    std::string out;
    const std::string bytes = std::to_string(body_.size());
    out.reserve(prefix_.size() + bytes.size() + 2 + body_.size());
    out += prefix_;
    out += bytes;
    out += "}\n";
    out.append(body_, 0, body_.empty() ? 0 : body_.size() - 1);
    return out;
  }
  std::string out;
  out.reserve(prefix_.size() + body_.size() + 2);
  out += prefix_;
  out += body_;
  out += "]}";
  return out;
}

std::string IngestChunk::requestHead(std::size_t bytes) const {
  return prefix_ + std::to_string(bytes) + "}\n";
}

void IngestChunk::clear() {
  body_.clear();
  line_numbers_.clear();
}

}  // namespace audit::ctl
