#include "kafka/detail/checkpoint.hpp"

#include <charconv>

namespace audit::kafka::detail {
namespace {

constexpr std::string_view kMagic = "kafka1;";
constexpr std::string_view kArrivalMagic = "kafka-arrivals1;";

void appendCursors(std::string& out, std::span<const PartitionCursor> cursors) {
  bool first = true;
  for (const auto& c : cursors) {
    if (!first) out.push_back(',');
    first = false;
    out += std::to_string(c.partition);
    out.push_back(':');
    out += std::to_string(c.next);
    out.push_back(':');
    out += std::to_string(c.end);
  }
}

template <class Int>
bool parseNumber(std::string_view& text, Int& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr == text.data() || out < 0) return false;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return true;
}

bool expect(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

// FNV-1a, 64 bits: stable across builds and platforms, unlike std::hash.
std::uint64_t fnv1a(std::string_view text, std::uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::string encodeCheckpoint(std::string_view topic, std::span<const PartitionCursor> cursors) {
  std::string out(kMagic);
  out += topic;
  out.push_back(';');
  appendCursors(out, cursors);
  return out;
}

std::optional<std::vector<PartitionCursor>> decodeCheckpoint(std::string_view text,
                                                             std::string_view topic) {
  if (!text.starts_with(kMagic)) return std::nullopt;
  text.remove_prefix(kMagic.size());
  if (!text.starts_with(topic) || text.substr(topic.size(), 1) != ";") return std::nullopt;
  text.remove_prefix(topic.size() + 1);
  std::vector<PartitionCursor> cursors;
  while (!text.empty()) {
    if (!cursors.empty() && !expect(text, ',')) return std::nullopt;
    PartitionCursor c;
    if (!parseNumber(text, c.partition) || !expect(text, ':') || !parseNumber(text, c.next) ||
        !expect(text, ':') || !parseNumber(text, c.end)) {
      return std::nullopt;
    }
    // Written ascending with next <= end; anything else was not written by this code.
    if (c.next > c.end) return std::nullopt;
    if (!cursors.empty() && cursors.back().partition >= c.partition) return std::nullopt;
    cursors.push_back(c);
  }
  if (cursors.empty()) return std::nullopt;
  return cursors;
}

std::string encodeArrivalPosition(std::string_view topic, std::span<const ArrivalOffset> offsets) {
  std::string out(kArrivalMagic);
  out += topic;
  out.push_back(';');
  bool first = true;
  for (const auto& o : offsets) {
    if (!first) out.push_back(',');
    first = false;
    out += std::to_string(o.partition);
    out.push_back(':');
    out += std::to_string(o.next);
  }
  return out;
}

std::optional<std::vector<ArrivalOffset>> decodeArrivalPosition(std::string_view text,
                                                                std::string_view topic) {
  if (!text.starts_with(kArrivalMagic)) return std::nullopt;
  text.remove_prefix(kArrivalMagic.size());
  if (!text.starts_with(topic) || text.substr(topic.size(), 1) != ";") return std::nullopt;
  text.remove_prefix(topic.size() + 1);
  std::vector<ArrivalOffset> offsets;
  while (!text.empty()) {
    if (!offsets.empty() && !expect(text, ',')) return std::nullopt;
    ArrivalOffset o;
    if (!parseNumber(text, o.partition) || !expect(text, ':') || !parseNumber(text, o.next)) {
      return std::nullopt;
    }
    if (!offsets.empty() && offsets.back().partition >= o.partition) return std::nullopt;
    offsets.push_back(o);
  }
  if (offsets.empty()) return std::nullopt;
  return offsets;
}

std::string batchIdentity(std::span<const TakenSpan> spans) {
  std::string text;
  for (const TakenSpan& s : spans) {
    text += std::to_string(s.partition) + ":" + std::to_string(s.first) + "-" +
            std::to_string(s.last) + "/" + std::to_string(s.count) + ",";
  }
  // Two differently seeded passes, 128 bits: an accidental collision between two batches of
  // one job (the key is prefixed with the job id) is not a practical concern.
  std::uint64_t a = fnv1a(text, 0xcbf29ce484222325ULL);
  std::uint64_t b = fnv1a(text, 0x84222325cbf29ce4ULL);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[static_cast<std::size_t>(15 - i)] = kHex[(a >> (4 * i)) & 0xf];
    out[static_cast<std::size_t>(31 - i)] = kHex[(b >> (4 * i)) & 0xf];
  }
  return out;
}

}  // namespace audit::kafka::detail
