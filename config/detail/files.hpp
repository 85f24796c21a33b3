#pragma once
// File checks done while loading, so `--check-config` catches a missing key or CA file
// before the daemon starts rather than when the first batch goes out.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace audit::config::detail {

/** @return nullopt when `file` is a regular file this process can open for reading; else why not.
 */
std::optional<std::string> checkReadableFile(const std::filesystem::path& file);

/**
 * Reads the first line of `file` into `line`, without its line ending and trailing white
 * space (editors add a final newline; a stray space would break an Authorization header).
 * @return nullopt on success; else why the file could not be read.
 */
std::optional<std::string> readFirstLine(const std::filesystem::path& file, std::string& line);

/**
 * Reads all of `file` into `text`; refuses files over `max_bytes` (a config file that large
 * is a mistake, such as a log file passed by accident).
 * @return nullopt on success; else why the file could not be read.
 */
std::optional<std::string> readWholeFile(const std::filesystem::path& file, std::size_t max_bytes,
                                         std::string& text);

}  // namespace audit::config::detail
