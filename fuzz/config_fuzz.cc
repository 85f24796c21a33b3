// Fuzzes the YAML configuration loader (config/config.hpp). parseConfig() promises never to
// throw (but for std::bad_alloc) and to return either a config or errors, each located.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    audit::config::LoadResult result = audit::config::parseConfig(yaml, "fuzz.yaml", "/tmp");
    if (result.errors.empty() != result.config.has_value()) {
      std::fprintf(stderr, "config: expected either a config or errors\n");
      __builtin_trap();
    }
    for (const auto& e : result.errors) {
      if (e.message.empty()) {
        std::fprintf(stderr, "config: an error without a message: %s\n", e.toString().c_str());
        __builtin_trap();
      }
    }
  } catch (const std::bad_alloc&) {
    // Allowed by the contract; -rss_limit_mb catches real memory blow-ups.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parseConfig threw: %s\n", e.what());
    __builtin_trap();
  } catch (...) {
    std::fprintf(stderr, "parseConfig threw a non-std exception\n");
    __builtin_trap();
  }
  return 0;
}
