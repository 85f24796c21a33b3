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

// One JSON object per line: {"time":…,"level":…,"msg":…} and, lifted out of the message's
// `key=value` tokens (journal_sink.hpp), "region", "job", "attempt", "status_code", "endpoint"
// and "request_id" when the line names them. Level names are the configuration's (warn, not
// warning).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    time_formatter_.format(msg, time_buf_);
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string line = "{\"time\":\"";
    line.append(time_buf_.data(), time_buf_.size());
    time_buf_.clear();
    line += "\",\"level\":\"";
    line += systemd::levelName(msg.level);
    line += "\",\"msg\":";
    line += boost::json::serialize(boost::json::string(payload));
    for (const auto& field : systemd::findLogFields(payload)) {
      line += ",\"";
      line += field.name->json;
      line += "\":";
      const bool digits = !field.value.empty() && field.value.size() <= 15 &&
                          field.value.find_first_not_of("0123456789") == std::string_view::npos;
      if (field.name->numeric && digits) {
        line += field.value;
      } else {
        line += boost::json::serialize(boost::json::string(field.value));
      }
    }
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

class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view name = systemd::levelName(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

bool to_journal = false;

void applyFormat(const config::LogSettings& settings) {
  if (to_journal) {
    spdlog::set_pattern("%v");  // the journal adds time, level and identity itself
  } else if (settings.format == config::LogFormat::Json) {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  } else {
    // %* is the level as the configuration names it (warn, error), not spdlog's "warning".
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<LevelFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%*%$ %v");
    spdlog::set_formatter(std::move(formatter));
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
