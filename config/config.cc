#include "config/config.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <system_error>

#include "common/units.hpp"
#include "config/detail/files.hpp"
#include "config/detail/network.hpp"
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

// Where the documents of a YAML stream start, as yaml-cpp's parser reports them; builds
// nothing. The first node's mark is kept too: it is where the document's content begins.
class DocumentStarts final : public YAML::EventHandler {
 public:
  struct Start {
    YAML::Mark document;
    YAML::Mark content;  // the root node's mark; null until one is seen
  };
  std::vector<Start> starts;

  void OnDocumentStart(const YAML::Mark& mark) override {
    starts.push_back(Start{mark, YAML::Mark::null_mark()});
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (!starts.empty() && starts.back().content.is_null()) starts.back().content = mark;
  }
};

// Marks count from after a UTF-8 byte order mark, which yaml-cpp skips.
std::string_view withoutBom(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

// The text from `mark` to the end of its line.
std::string_view lineFrom(std::string_view text, const YAML::Mark& mark) {
  text = withoutBom(text);
  if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text.size()) return {};
  std::string_view rest = text.substr(static_cast<std::size_t>(mark.pos));
  return rest.substr(0, rest.find_first_of("\r\n"));
}

// True when `line` starts with the document marker `marker` ("---" or "...").
bool isMarkerLine(std::string_view line, std::string_view marker) {
  return line.starts_with(marker) &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// True when the last line before `mark` that is not blank or a comment is a "..." document
// end (after which a document may start without "---").
bool followsDocumentEnd(std::string_view text, const YAML::Mark& mark) {
  text = withoutBom(text);
  if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) > text.size()) return false;
  std::string_view before = text.substr(0, static_cast<std::size_t>(mark.pos));
  while (!before.empty()) {
    std::size_t start = before.find_last_of('\n');
    std::string_view line = start == std::string_view::npos ? before : before.substr(start + 1);
    before = start == std::string_view::npos ? std::string_view() : before.substr(0, start);
    std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    return isMarkerLine(line, "...");
  }
  return false;
}

// The YAML document of a configuration file, or nullopt when there is none (an empty file,
// or only comments) or it cannot be trusted. A second document is an error, and so is text
// yaml-cpp cannot read as part of the first one.
//
// yaml-cpp 0.7's LoadAll() never returns on some garbage (a document starting with ','): its
// scanner stops advancing and every turn yields another empty document (jbeder/yaml-cpp#1040,
// fixed upstream after 0.8.0). So the stream is first walked with YAML::Parser for at most
// two documents (two are already an error), and only then is the first one built with
// YAML::Load(), which reads exactly one document. (NodeBuilder, which LoadAll() uses, is not
// public, and it alone sets the marks the reader needs for file:line:col.)
std::optional<YAML::Node> loadSingleDocument(const std::string& text, detail::Reader& reader) {
  DocumentStarts documents;
  {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (documents.starts.size() < 2 && parser.HandleNextDocument(documents)) {
    }
  }
  if (documents.starts.empty()) return std::nullopt;
  if (documents.starts.size() > 1) {
    const DocumentStarts::Start& second = documents.starts[1];
    YAML::Mark at = second.content.is_null() ? second.document : second.content;
    if (isMarkerLine(lineFrom(text, second.document), "---")) {
      reader.error(detail::Location{"", at},
                   "only one YAML document is allowed; remove the second '---'");
    } else if (followsDocumentEnd(text, second.document)) {
      reader.error(detail::Location{"", at},
                   "only one YAML document is allowed; remove what follows '...'");
    } else {
      // yaml-cpp ended the first document before this text, and no '---' (or '...' before
      // it) starts a second one: the text is not YAML it can read (say a stray ',', ']' or
      // '}' outside a flow collection). What it made of the first document is not to be
      // trusted, so it is not read.
      reader.error(
          detail::Location{"", second.document},
          "not valid YAML here: " + detail::Reader::quote(lineFrom(text, second.document)));
      return std::nullopt;
    }
  }
  return YAML::Load(text);
}

constexpr std::string_view kNoRegion =
    "at least one region is required, e.g. regions: {us: {webhook: {endpoint: "
    "https://siem.example.com/audit}}}";

// `whole_file` false: the file held more than the document read (already an error), so
// what is missing from it is not reported as well.
void readRoot(detail::Reader& reader, const YAML::Node& root, Config& config, bool whole_file) {
  using detail::Location;
  std::vector<detail::JobEntry> jobs;
  bool control_read = false;
  std::optional<Location> regions_at;
  bool regions_given = false;  // a non-empty mapping (whose entries may all be bad)
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
             regions_at = a;
             regions_given = n.IsMap() && n.size() > 0;
             detail::readRegions(reader, a, n, config.regions);
           }},
          {"jobs",
           [&](const Location& a, const YAML::Node& n) { detail::readJobs(reader, a, n, jobs); }},
      });
  // A daemon without a region has nothing to do: refuse rather than start idle.
  if (whole_file && config.regions.empty() && !regions_given) {
    reader.error(regions_at.value_or(Location{"regions", root.Mark()}), std::string(kNoRegion));
  }
  // After the whole file: `jobs:` may come before `regions:`.
  detail::checkJobs(reader, jobs, config.regions, config.jobs);
  // Standard Webhooks' v1a signatures use the signing key, wherever `signing:` is written.
  for (const auto& [name, region] : config.regions) {
    const auto& sw = region.webhook.standard_webhooks;
    if (sw && sw->asymmetric && !config.signing) {
      reader.error(Location{"regions." + name + ".webhook.standard_webhooks.asymmetric",
                            YAML::Mark::null_mark()},
                   "asymmetric: true signs with signing.key_file, which is not configured");
    }
  }
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
    // No document at all (an empty file, or only comments) means every default.
    if (auto root = loadSingleDocument(std::string(yaml_text), reader)) {
      readRoot(reader, *root, config, /*whole_file=*/!reader.hasErrors());
    } else if (!reader.hasErrors()) {
      // An empty file (or only comments) has no region either.
      reader.error(detail::Location{"regions", YAML::Mark()}, std::string(kNoRegion));
    }
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

std::optional<std::string> checkWebhookEndpoint(std::string_view endpoint) {
  return detail::checkEndpoint(endpoint);
}

std::string redactUrlPasswords(std::string_view text) {
  std::string out;
  std::size_t from = 0;
  for (;;) {
    const auto scheme_end = text.find("://", from);
    if (scheme_end == std::string_view::npos) break;
    const auto authority = scheme_end + 3;
    const auto authority_end = text.find_first_of("/?#\" \t\r\n", authority);
    const auto span =
        text.substr(authority, authority_end == std::string_view::npos ? std::string_view::npos
                                                                       : authority_end - authority);
    const auto at = span.rfind('@');
    const auto colon = at == std::string_view::npos ? at : span.substr(0, at).find(':');
    if (colon == std::string_view::npos) {
      out.append(text.substr(from, authority - from));
      from = authority;
      continue;
    }
    out.append(text.substr(from, authority + colon + 1 - from));
    out += "***";
    from = authority + at;  // from the '@' on
  }
  out.append(text.substr(from));
  return out;
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
