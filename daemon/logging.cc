#include "daemon/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "daemon/journal_sink.hpp"
#include "daemon/systemd.hpp"

namespace audit::daemon {
namespace {

spdlog::level::level_enum toSpdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::Trace:
      return spdlog::level::trace;
    case config::LogLevel::Debug:
      return spdlog::level::debug;
    case config::LogLevel::Info:
      return spdlog::level::info;
    case config::LogLevel::Warn:
      return spdlog::level::warn;
    case config::LogLevel::Error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// One JSON object per line: {"time":…,"level":…,"msg":…}, the message escaped properly.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    time_formatter_.format(msg, time_buf_);
    std::string line = "{\"time\":\"";
    line.append(time_buf_.data(), time_buf_.size());
    time_buf_.clear();
    line += "\",\"level\":\"";
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"msg\":";
    line += boost::json::serialize(
        boost::json::string(std::string_view(msg.payload.data(), msg.payload.size())));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  spdlog::pattern_formatter time_formatter_{"%Y-%m-%dT%H:%M:%S.%eZ", spdlog::pattern_time_type::utc,
                                            ""};
  spdlog::memory_buf_t time_buf_;
};

bool to_journal = false;

void applyFormat(const config::LogSettings& settings) {
  if (to_journal) {
    spdlog::set_pattern("%v");  // the journal adds time, level and identity itself
  } else if (settings.format == config::LogFormat::Json) {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
}

}  // namespace

void setupLogging(const config::LogSettings& settings) {
  to_journal = systemd::stderrIsJournal();
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (to_journal) {
    sink = systemd::makeJournalSink();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>("audit-replayd", sink);
  spdlog::set_default_logger(logger);
  applyLogSettings(settings);
}

void applyLogSettings(const config::LogSettings& settings) {
  spdlog::set_level(toSpdlog(settings.level));
  spdlog::flush_on(spdlog::level::info);
  applyFormat(settings);
}

}  // namespace audit::daemon
