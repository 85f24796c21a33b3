#pragma once
// Typed reads of YAML nodes that report problems instead of throwing. Every read names the
// key path and the line and column of the key (the value of an empty key has no useful mark
// of its own: yaml-cpp places it on the next token, often the next line).
// Not thread-safe; one Reader per load.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace audit::config::detail {

/** Where a value sits: its key path ("regions.us.retry") and the mark of its key or list item. */
struct Location {
  std::string path;
  YAML::Mark mark;

  Location child(std::string_view key, const YAML::Mark& key_mark) const;
  Location item(std::size_t index, const YAML::Mark& item_mark) const;
};

/** One known key of a mapping and what to do with its value. */
struct Field {
  std::string_view name;
  std::function<void(const Location&, const YAML::Node&)> read;
  bool required = false;
};

/** A mapping entry as found in the file, for mappings whose keys are data (regions, headers). */
struct Entry {
  std::string key;
  Location at;
  YAML::Node value;
};

class Reader {
 public:
  Reader(std::string file, std::filesystem::path base_dir);

  void error(const Location& at, std::string message);
  bool hasErrors() const { return !errors_.empty(); }
  /** The errors found so far, ordered by line and column (file-level ones first). */
  std::vector<ConfigError> takeErrors();
  const std::filesystem::path& baseDir() const { return base_dir_; }

  /**
   * Reads a mapping key by key through `fields`. Reports a value that is not a mapping,
   * unknown and duplicate keys, and missing required keys. A key with an empty value
   * (`timeout:`, `http: ~`) is treated as absent: its reader is not called. An empty `node`
   * counts as an empty mapping.
   * @return false when `node` is not a mapping (nothing was read).
   */
  bool mapping(const Location& at, const YAML::Node& node, std::initializer_list<Field> fields);

  /**
   * The entries of a mapping whose keys are names chosen by the operator. Reports a value
   * that is not a mapping, keys that are not plain text and duplicate keys (those are left
   * out). An empty value yields no entries.
   */
  std::vector<Entry> entries(const Location& at, const YAML::Node& node);

  // Scalar reads: each returns false after reporting a problem, and then leaves `out` as is.

  /** Any scalar, as written. */
  bool text(const Location& at, const YAML::Node& node, std::string& out);
  /** Like text(), but also refuses an empty string. */
  bool nonEmptyText(const Location& at, const YAML::Node& node, std::string& out);
  /** true or false (also True/TRUE/False/FALSE); YAML 1.1's yes/no/on/off are refused. */
  bool boolean(const Location& at, const YAML::Node& node, bool& out);
  /** A duration such as 250ms or 7d, at least `min`. `example` shows the expected form. */
  bool duration(const Location& at, const YAML::Node& node, Millis& out, Millis min,
                std::string_view example);
  /** A size such as 512KiB, within [min, max] bytes. */
  bool size(const Location& at, const YAML::Node& node, std::size_t& out, std::uint64_t min,
            std::uint64_t max, std::string_view example);
  /** A whole decimal number within [min, max]. */
  bool integer(const Location& at, const YAML::Node& node, std::uint64_t& out, std::uint64_t min,
               std::uint64_t max);
  /** A path; relative ones are resolved against the config file's folder. */
  bool path(const Location& at, const YAML::Node& node, std::filesystem::path& out);

  /** One of `choices`, spelled exactly. */
  template <typename E>
  bool choice(const Location& at, const YAML::Node& node, E& out,
              std::initializer_list<std::pair<std::string_view, E>> choices) {
    std::string value;
    if (!text(at, node, value)) return false;
    std::string names;
    for (const auto& [name, e] : choices) {
      if (name == value) {
        out = e;
        return true;
      }
      names += names.empty() ? "" : ", ";
      names += name;
    }
    error(at, "expected one of " + names + ", got " + quote(value));
    return false;
  }

  /** `"text"` with quotes and control characters escaped; long values are cut short. */
  static std::string quote(std::string_view text);
  /** What a non-scalar node is, for "got a mapping" style messages. */
  static std::string describe(const YAML::Node& node);

 private:
  /** Reports `expected` when `node` is not a scalar. */
  bool requireScalar(const Location& at, const YAML::Node& node, std::string_view expected);

  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<ConfigError> errors_;
};

}  // namespace audit::config::detail
