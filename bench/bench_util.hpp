#pragma once
// Small helpers the benchmark programs share: command-line lists, a free loopback port, the
// end of a log file for an error message.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace audit::bench {

/** "a,b,,c" → {"a", "b", "c"}. */
std::vector<std::string> splitList(const std::string& text);

/** A TCP port on 127.0.0.1 that was free a moment ago (bound, read, closed). */
std::uint16_t freePort();

/** The last `lines` lines of `file`, each indented by four spaces. */
std::string fileTail(const std::filesystem::path& file, std::size_t lines);

}  // namespace audit::bench
