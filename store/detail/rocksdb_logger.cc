#include "store/detail/rocksdb_logger.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace audit::store::detail {
namespace {

class SpdlogRocksDbLogger final : public rocksdb::Logger {
 public:
  SpdlogRocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    int n = std::vsnprintf(line, sizeof line, format, ap);
    if (n < 0) return;
    switch (level) {
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        spdlog::warn("rocksdb: {}", line);
        break;
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
      case rocksdb::InfoLogLevel::FATAL_LEVEL:
      case rocksdb::InfoLogLevel::HEADER_LEVEL:
        spdlog::error("rocksdb: {}", line);
        break;
      default:
        spdlog::debug("rocksdb: {}", line);
        break;
    }
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> makeRocksDbLogger() {
  return std::make_shared<SpdlogRocksDbLogger>();
}

}  // namespace audit::store::detail
