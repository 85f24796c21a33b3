#include "daemon/journal_sink.hpp"

#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <mutex>
#include <string>
#include <vector>

// The location macros of sd-journal.h would record this file as every record's CODE_FILE;
// the sink sends the caller's location itself.
#ifndef SD_JOURNAL_SUPPRESS_LOCATION
#define SD_JOURNAL_SUPPRESS_LOCATION
#endif
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>
#include <systemd/sd-journal.h>

namespace audit::daemon::systemd {
namespace {

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

bool endsValue(char c) {
  switch (c) {
    case ',':
    case ';':
    case ':':
    case ')':
    case ']':
    case '}':
      return true;
    default:
      return std::isspace(static_cast<unsigned char>(c)) != 0;
  }
}

int priorityOf(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LOG_DEBUG;
    case spdlog::level::info:
      return LOG_INFO;
    case spdlog::level::warn:
      return LOG_WARNING;
    case spdlog::level::err:
      return LOG_ERR;
    case spdlog::level::critical:
      return LOG_CRIT;
    default:
      return LOG_INFO;  // `off` is never logged; keep the compiler's exhaustiveness check quiet
  }
}

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const int priority = priorityOf(msg.level);

    // Each field is one "NAME=value" buffer; sd_journal_sendv switches to its binary-safe
    // encoding by itself when a value holds a newline (a multi-line exception message).
    std::vector<std::string> fields;
    fields.reserve(14);
    fields.push_back("MESSAGE=" + std::string(payload));
    fields.push_back("PRIORITY=" + std::to_string(priority));
    fields.push_back("SYSLOG_IDENTIFIER=" + std::string(kSyslogIdentifier));
    for (const auto& field : findLogFields(payload)) {
      fields.push_back(std::string(field.name->journal) + "=" + std::string(field.value));
    }
    if (!msg.source.empty()) {
      fields.push_back(std::string("CODE_FILE=") + msg.source.filename);
      fields.push_back("CODE_LINE=" + std::to_string(msg.source.line));
      fields.push_back(std::string("CODE_FUNC=") + msg.source.funcname);
    }
    fields.push_back("TID=" + std::to_string(msg.thread_id));

    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    const int rc = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    if (rc >= 0) return;

    // journald is gone (stopping, restarting) or was never there. stderr of a service is itself
    // a journal stream, which reads the "<N>" prefix as the priority; elsewhere it is readable.
    std::string line = "<" + std::to_string(priority) + ">" + std::string(payload) + "\n";
    // Deliberately ignored: there is nowhere left to report a failed write of a log line.
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line.data(), line.size());
  }

  void flush_() override {}  // every record is one datagram, sent when it is logged
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> makeJournalSink() {
  return std::make_shared<JournalSink>();
}

std::vector<LogField> findLogFields(std::string_view line) {
  std::vector<LogField> out;
  for (const auto& name : kLogFields) {
    bool taken = false;
    for (const auto& field : out) taken = taken || field.name->json == name.json;
    if (taken) continue;
    if (auto value = findLogToken(line, name.token)) out.push_back({&name, *value});
  }
  return out;
}

std::string_view levelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

std::optional<std::string_view> findLogToken(std::string_view line, std::string_view key) {
  for (std::size_t pos = line.find(key); pos != std::string_view::npos;
       pos = line.find(key, pos + 1)) {
    const std::size_t eq = pos + key.size();
    if (eq >= line.size() || line[eq] != '=') continue;
    if (pos > 0 && isWordChar(line[pos - 1])) continue;  // "subregion=" is another key

    std::size_t begin = eq + 1;
    std::size_t end = begin;
    if (begin < line.size() && line[begin] == '"') {
      ++begin;
      end = line.find('"', begin);
      if (end == std::string_view::npos) end = line.size();
    } else {
      while (end < line.size() && !endsValue(line[end])) ++end;
    }
    if (end > begin) return line.substr(begin, end - begin);
  }
  return std::nullopt;
}

}  // namespace audit::daemon::systemd
