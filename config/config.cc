#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <system_error>

#include "common/units.hpp"
#include "config/detail/files.hpp"
#include "config/detail/reader.hpp"
#include "config/detail/sections.hpp"

namespace audit::config {
namespace {

// A configuration file is a few kilobytes; anything this large was passed by mistake.
constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;

std::filesystem::path absoluteDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  // absolute() only fails when the working directory is gone; the path as given is then
  // the best left to resolve against.
  return (ec ? dir : abs).lexically_normal();
}

void readRoot(detail::Reader& reader, const YAML::Node& root, Config& config) {
  using detail::Location;
  std::vector<detail::JobEntry> jobs;
  bool control_read = false;
  reader.mapping(
      Location{"", root.Mark()}, root,
      {
          {"data_dir",
           [&](const Location& a, const YAML::Node& n) { reader.path(a, n, config.data_dir); }},
          {"retention",
           [&](const Location& a, const YAML::Node& n) {
             reader.duration(a, n, config.retention, Millis(60'000), "7d");
           }},
          {"log", [&](const Location& a,
                      const YAML::Node& n) { detail::readLog(reader, a, n, config.log); }},
          {"control",
           [&](const Location& a, const YAML::Node& n) {
             control_read = true;
             detail::readControl(reader, a, n, config.control);
           }},
          {"http", [&](const Location& a,
                       const YAML::Node& n) { detail::readHttp(reader, a, n, config.http); }},
          {"signing",
           [&](const Location& a, const YAML::Node& n) {
             detail::readSigning(reader, a, n, config.signing);
           }},
          {"regions",
           [&](const Location& a, const YAML::Node& n) {
             detail::readRegions(reader, a, n, config.regions);
           }},
          {"jobs",
           [&](const Location& a, const YAML::Node& n) { detail::readJobs(reader, a, n, jobs); }},
      });
  // After the whole file: `jobs:` may come before `regions:`.
  detail::checkJobs(reader, jobs, config.regions, config.jobs);
  // readControl() also checks the socket path's length; run it on the defaults when the
  // section is absent, so that a default path too long for a unix socket is caught as well.
  if (!control_read) {
    detail::readControl(reader, Location{"control", YAML::Mark::null_mark()}, YAML::Node(),
                        config.control);
  }
}

}  // namespace

std::string ConfigError::toString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

Config defaultConfig(const std::filesystem::path& base_dir) {
  std::filesystem::path base = absoluteDir(base_dir);
  Config config;
  config.data_dir = base / "var/data";
  config.control.socket = base / "var/run/control.sock";
  config.control.spool_dir = base / "var/spool";
  return config;
}

LoadResult parseConfig(std::string_view yaml_text, const std::string& display_name,
                       const std::filesystem::path& base_dir) {
  std::filesystem::path base = absoluteDir(base_dir);
  detail::Reader reader(display_name, base);
  Config config = defaultConfig(base);
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml_text));
    if (documents.size() > 1) {
      reader.error(detail::Location{"", documents[1].Mark()},
                   "only one YAML document is allowed; remove the second '---'");
    }
    // No document at all (an empty file, or only comments) means every default.
    if (!documents.empty()) readRoot(reader, documents.front(), config);
  } catch (const YAML::Exception& e) {
    // A syntax error leaves nothing trustworthy to read further: report it alone.
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    return LoadResult{std::nullopt, {ConfigError{display_name, line, column, "", e.msg}}};
  }
  LoadResult result;
  result.errors = reader.takeErrors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult loadConfigFile(const std::filesystem::path& file) {
  std::string text;
  if (auto problem = detail::readWholeFile(file, kMaxConfigBytes, text)) {
    return LoadResult{std::nullopt, {ConfigError{file.string(), 0, 0, "", *problem}}};
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(file, ec);
  if (ec) abs = file;
  abs = abs.lexically_normal();
  LoadResult result = parseConfig(text, file.string(), abs.parent_path());
  if (result.config) result.config->source_file = abs;
  return result;
}

const char* toString(EventFormat f) {
  switch (f) {
    case EventFormat::Json:
      return "json";
    case EventFormat::Cef:
      return "cef";
    case EventFormat::Cps:
      return "cps";
  }
  return "unknown";
}

const char* toString(Compression c) {
  switch (c) {
    case Compression::Gzip:
      return "gzip";
    case Compression::None:
      return "none";
  }
  return "unknown";
}

const char* toString(LogLevel l) {
  switch (l) {
    case LogLevel::Trace:
      return "trace";
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "unknown";
}

const char* toString(LogFormat f) {
  switch (f) {
    case LogFormat::Text:
      return "text";
    case LogFormat::Json:
      return "json";
  }
  return "unknown";
}

}  // namespace audit::config
