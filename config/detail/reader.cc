#include "config/detail/reader.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>

#include "common/units.hpp"
#include "config/config.hpp"

namespace audit::config::detail {
namespace {

// yaml-cpp counts from 0 and uses -1 for "no position"; messages count from 1 and use 0.
int oneBased(int zero_based) {
  return zero_based < 0 ? 0 : zero_based + 1;
}

std::string formatSize(std::uint64_t bytes) {
  struct Unit {
    std::uint64_t factor;
    const char* name;
  };
  for (Unit u : {Unit{1ull << 30, "GiB"}, Unit{1ull << 20, "MiB"}, Unit{1ull << 10, "KiB"}}) {
    if (bytes != 0 && bytes % u.factor == 0) return std::to_string(bytes / u.factor) + u.name;
  }
  return std::to_string(bytes) + "B";
}

std::string lineOf(const YAML::Mark& mark) {
  return std::to_string(oneBased(mark.line));
}

}  // namespace

Location Location::child(std::string_view key, const YAML::Mark& key_mark) const {
  std::string child_path = path;
  if (!child_path.empty()) child_path += '.';
  child_path += key;
  return Location{std::move(child_path), key_mark};
}

Location Location::item(std::size_t index, const YAML::Mark& item_mark) const {
  return Location{path + "[" + std::to_string(index) + "]", item_mark};
}

Reader::Reader(std::string file, std::filesystem::path base_dir)
    : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

void Reader::error(const Location& at, std::string message) {
  errors_.push_back(ConfigError{file_, oneBased(at.mark.line), oneBased(at.mark.column), at.path,
                                std::move(message)});
}

std::vector<ConfigError> Reader::takeErrors() {
  // Stable, so errors found at the same place keep the order they were found in.
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::exchange(errors_, {});
}

bool Reader::mapping(const Location& at, const YAML::Node& node,
                     std::initializer_list<Field> fields) {
  if (!node.IsNull() && !node.IsMap()) {
    error(at, "expected a mapping, got " + describe(node));
    return false;
  }
  std::map<std::string, YAML::Mark, std::less<>> seen;
  if (node.IsMap()) {
    // By value: yaml-cpp's iterators hand out a temporary, so `it->first` would dangle.
    for (const auto& pair : node) {
      const YAML::Node& key = pair.first;
      if (!key.IsScalar()) {
        error(at.child("?", key.Mark()), "keys must be plain text, got " + describe(key));
        continue;
      }
      Location child = at.child(key.Scalar(), key.Mark());
      const Field* field = nullptr;
      for (const Field& f : fields) {
        if (f.name == key.Scalar()) field = &f;
      }
      if (field == nullptr) {
        std::string known;
        for (const Field& f : fields) {
          known += known.empty() ? "" : ", ";
          known += f.name;
        }
        error(child, "unknown key; expected one of: " + known);
        continue;
      }
      if (auto prev = seen.find(key.Scalar()); prev != seen.end()) {
        error(child, "duplicate key (first given on line " + lineOf(prev->second) + ")");
        continue;
      }
      seen.emplace(key.Scalar(), key.Mark());
      // An empty value (`timeout:` or `timeout: ~`) means the same as leaving the key out, so
      // an operator can blank a setting to get its default back.
      if (pair.second.IsNull()) {
        if (field->required) error(child, "required key has no value");
        continue;
      }
      field->read(child, pair.second);
    }
  }
  for (const Field& f : fields) {
    // A missing key has no line of its own; the mapping that lacks it is the place to look.
    if (f.required && seen.find(f.name) == seen.end()) {
      error(at.child(f.name, at.mark), "required key missing");
    }
  }
  return true;
}

std::vector<Entry> Reader::entries(const Location& at, const YAML::Node& node) {
  std::vector<Entry> out;
  if (node.IsNull()) return out;
  if (!node.IsMap()) {
    error(at, "expected a mapping, got " + describe(node));
    return out;
  }
  std::map<std::string, YAML::Mark, std::less<>> seen;
  for (const auto& pair : node) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) {
      error(at.child("?", key.Mark()), "keys must be plain text, got " + describe(key));
      continue;
    }
    Location child = at.child(key.Scalar(), key.Mark());
    if (auto prev = seen.find(key.Scalar()); prev != seen.end()) {
      error(child, "duplicate key (first given on line " + lineOf(prev->second) + ")");
      continue;
    }
    seen.emplace(key.Scalar(), key.Mark());
    out.push_back(Entry{key.Scalar(), std::move(child), pair.second});
  }
  return out;
}

bool Reader::requireScalar(const Location& at, const YAML::Node& node, std::string_view expected) {
  if (node.IsScalar()) return true;
  error(at, "expected " + std::string(expected) + ", got " + describe(node));
  return false;
}

bool Reader::text(const Location& at, const YAML::Node& node, std::string& out) {
  if (!requireScalar(at, node, "a string")) return false;
  out = node.Scalar();
  return true;
}

bool Reader::nonEmptyText(const Location& at, const YAML::Node& node, std::string& out) {
  std::string value;
  if (!text(at, node, value)) return false;
  if (value.empty()) {
    error(at, "must not be empty");
    return false;
  }
  out = std::move(value);
  return true;
}

bool Reader::boolean(const Location& at, const YAML::Node& node, bool& out) {
  if (!requireScalar(at, node, "true or false")) return false;
  const std::string& v = node.Scalar();
  if (v == "true" || v == "True" || v == "TRUE") {
    out = true;
    return true;
  }
  if (v == "false" || v == "False" || v == "FALSE") {
    out = false;
    return true;
  }
  error(at, "expected true or false, got " + quote(v));
  return false;
}

bool Reader::duration(const Location& at, const YAML::Node& node, Millis& out, Millis min,
                      std::string_view example) {
  std::string expected = "a duration like " + std::string(example);
  if (!requireScalar(at, node, expected)) return false;
  auto d = parseDuration(node.Scalar());
  if (!d) {
    error(at, "expected " + expected + ", got " + quote(node.Scalar()));
    return false;
  }
  if (*d < min) {
    error(at, "must be at least " + formatDuration(min) + ", got " + quote(node.Scalar()));
    return false;
  }
  out = *d;
  return true;
}

bool Reader::size(const Location& at, const YAML::Node& node, std::size_t& out, std::uint64_t min,
                  std::uint64_t max, std::string_view example) {
  std::string expected = "a size like " + std::string(example);
  if (!requireScalar(at, node, expected)) return false;
  auto bytes = parseSize(node.Scalar());
  if (!bytes) {
    error(at, "expected " + expected + ", got " + quote(node.Scalar()));
    return false;
  }
  if (*bytes < min || *bytes > max) {
    error(at, "must be between " + formatSize(min) + " and " + formatSize(max) + ", got " +
                  quote(node.Scalar()));
    return false;
  }
  out = static_cast<std::size_t>(*bytes);
  return true;
}

bool Reader::integer(const Location& at, const YAML::Node& node, std::uint64_t& out,
                     std::uint64_t min, std::uint64_t max) {
  if (!requireScalar(at, node, "a whole number")) return false;
  const std::string& v = node.Scalar();
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || ptr != v.data() + v.size() || v.empty()) {
    error(at, "expected a whole number, got " + quote(v));
    return false;
  }
  if (n < min || n > max) {
    // A bound as large as the type is a technical limit, not advice worth printing.
    bool open_ended = max >= std::numeric_limits<std::uint32_t>::max();
    std::string range = open_ended && n < min ? "at least " + std::to_string(min)
                        : open_ended
                            ? "at most " + std::to_string(max)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    error(at, "must be " + range + ", got " + v);
    return false;
  }
  out = n;
  return true;
}

bool Reader::path(const Location& at, const YAML::Node& node, std::filesystem::path& out) {
  std::string value;
  if (!nonEmptyText(at, node, value)) return false;
  // A shell expands ~, YAML does not: "~/data" would silently become <config dir>/~/data.
  if (value.front() == '~') {
    error(at, "~ is not expanded here; write the full path, got " + quote(value));
    return false;
  }
  std::filesystem::path p(value);
  out = (p.is_absolute() ? p : base_dir_ / p).lexically_normal();
  return true;
}

std::string Reader::quote(std::string_view raw) {
  constexpr std::size_t kMaxShown = 64;
  // A URL's password never reaches a message (it may be a webhook's or a broker's).
  const std::string redacted = redactUrlPasswords(raw);
  const std::string_view text = redacted;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  if (text.size() > kMaxShown) out += "...";
  return out;
}

std::string Reader::describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "no value";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

}  // namespace audit::config::detail
