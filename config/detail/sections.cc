#include "config/detail/sections.hpp"

#include "common/rfc3339.hpp"
#include "config/detail/files.hpp"
#include "config/detail/network.hpp"

namespace audit::config::detail {
namespace {

// sockaddr_un::sun_path is 108 bytes on Linux, one of them the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;

/** "0660", "660" or YAML 1.2's "0o660"; always octal, as chmod reads it. */
bool parseMode(std::string_view text, std::uint32_t& out) {
  if (text.substr(0, 2) == "0o" || text.substr(0, 2) == "0O") text.remove_prefix(2);
  if (text.empty() || text.size() > 4) return false;
  std::uint32_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return false;
    mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  // Set-id and sticky bits mean nothing on a socket.
  if (mode > 0777) return false;
  out = mode;
  return true;
}

void readTime(Reader& reader, const Location& at, const YAML::Node& node, std::string& out) {
  std::string value;
  if (!reader.nonEmptyText(at, node, value)) return;
  if (!parseRfc3339(value)) {
    reader.error(at, "expected an RFC 3339 time with a zone like 2026-11-20T00:00:00Z, got " +
                         Reader::quote(value));
    return;
  }
  out = std::move(value);
}

}  // namespace

void readLog(Reader& reader, const Location& at, const YAML::Node& node, LogSettings& out) {
  reader.mapping(at, node,
                 {
                     {"level",
                      [&](const Location& a, const YAML::Node& n) {
                        reader.choice(a, n, out.level,
                                      {{"trace", LogLevel::Trace},
                                       {"debug", LogLevel::Debug},
                                       {"info", LogLevel::Info},
                                       {"warn", LogLevel::Warn},
                                       {"error", LogLevel::Error}});
                      }},
                     {"format",
                      [&](const Location& a, const YAML::Node& n) {
                        reader.choice(a, n, out.format,
                                      {{"text", LogFormat::Text}, {"json", LogFormat::Json}});
                      }},
                 });
}

void readControl(Reader& reader, const Location& at, const YAML::Node& node, ControlSettings& out) {
  std::optional<Location> socket_at;
  reader.mapping(
      at, node,
      {
          {"socket",
           [&](const Location& a, const YAML::Node& n) {
             if (reader.path(a, n, out.socket)) socket_at = a;
           }},
          {"socket_mode",
           [&](const Location& a, const YAML::Node& n) {
             std::string value;
             if (!reader.text(a, n, value)) return;
             if (!parseMode(value, out.socket_mode)) {
               reader.error(a, "expected an octal file mode up to 0777 like \"0660\", got " +
                                   Reader::quote(value));
             }
           }},
          {"spool_dir",
           [&](const Location& a, const YAML::Node& n) { reader.path(a, n, out.spool_dir); }},
          {"poll_interval",
           [&](const Location& a, const YAML::Node& n) {
             reader.duration(a, n, out.poll_interval, Millis(10), "1s");
           }},
          {"max_connections",
           [&](const Location& a, const YAML::Node& n) {
             std::uint64_t value = 0;
             if (reader.integer(a, n, value, 1, 100'000)) out.max_connections = value;
           }},
          {"idle_timeout",
           [&](const Location& a, const YAML::Node& n) {
             reader.duration(a, n, out.idle_timeout, Millis(100), "10m");
           }},
          {"max_buffered",
           [&](const Location& a, const YAML::Node& n) {
             reader.size(a, n, out.max_buffered, 32u << 20, std::uint64_t{1} << 40, "128MiB");
           }},
      });
  // Checked here rather than at bind time so that --check-config catches it, including for
  // the default path under a deeply nested config folder.
  if (out.socket.native().size() > kMaxSocketPath) {
    Location where = socket_at.value_or(at.child("socket", at.mark));
    reader.error(where, "the socket path " + out.socket.string() + " is " +
                            std::to_string(out.socket.native().size()) +
                            " bytes long; a unix socket path holds at most 107, so set a "
                            "shorter control.socket");
  }
}

void readHttp(Reader& reader, const Location& at, const YAML::Node& node,
              std::optional<HttpSettings>& out) {
  HttpSettings http;
  bool tokens_given = false;  // a bad tokens_file is reported as such, not as missing
  bool is_mapping = reader.mapping(
      at, node,
      {
          {"listen",
           [&](const Location& a, const YAML::Node& n) {
             std::string value;
             if (!reader.nonEmptyText(a, n, value)) return;
             ListenAddress address;
             if (auto problem = parseListen(value, address)) {
               reader.error(a, *problem + ", got " + Reader::quote(value));
               return;
             }
             http.listen = value;
             http.host = address.host;
             http.port = address.port;
           }},
          {"tokens_file",
           [&](const Location& a, const YAML::Node& n) {
             tokens_given = true;
             std::filesystem::path file;
             if (!reader.path(a, n, file)) return;
             if (auto problem = checkReadableFile(file)) {
               reader.error(a, *problem);
               return;
             }
             http.tokens_file = file;
           }},
          {"metrics_public",
           [&](const Location& a, const YAML::Node& n) {
             reader.boolean(a, n, http.metrics_public);
           }},
          {"allow_unauthenticated",
           [&](const Location& a, const YAML::Node& n) {
             reader.boolean(a, n, http.allow_unauthenticated);
           }},
          {"tls",
           [&](const Location& a, const YAML::Node& n) {
             HttpTlsSettings tls;
             auto file = [&](std::filesystem::path& out) {
               return [&reader, &out](const Location& fa, const YAML::Node& fn) {
                 if (!reader.path(fa, fn, out)) return;
                 if (auto problem = checkReadableFile(out)) {
                   reader.error(fa, *problem);
                 }
               };
             };
             if (reader.mapping(a, n,
                                {{"cert_file", file(tls.cert_file), true},
                                 {"key_file", file(tls.key_file), true}})) {
               http.tls = std::move(tls);
             }
           }},
          {"max_ingest_bytes",
           [&](const Location& a, const YAML::Node& n) {
             reader.size(a, n, http.max_ingest_bytes, 1024, 1ull << 30, "64MiB");
           }},
          {"unauthenticated_idle_timeout",
           [&](const Location& a, const YAML::Node& n) {
             reader.duration(a, n, http.unauthenticated_idle_timeout, Millis(100), "5s");
           }},
          {"max_unauthenticated_per_client",
           [&](const Location& a, const YAML::Node& n) {
             std::uint64_t value = 0;
             if (reader.integer(a, n, value, 1, 100'000)) {
               http.max_unauthenticated_per_client = value;
             }
           }},
      });
  if (!is_mapping) return;
  // An API that can start jobs must not be open by accident: no tokens is an explicit choice.
  if (!http.tokens_file && !http.allow_unauthenticated && !tokens_given) {
    reader.error(at.child("tokens_file", at.mark),
                 "required: the HTTP API accepts only bearer tokens listed in this file; to "
                 "serve it without authentication set http.allow_unauthenticated: true");
  }
  out = std::move(http);
}

void readSigning(Reader& reader, const Location& at, const YAML::Node& node,
                 std::optional<SigningSettings>& out) {
  SigningSettings signing;
  bool is_mapping = reader.mapping(
      at, node,
      {
          {"key_file",
           [&](const Location& a, const YAML::Node& n) {
             if (!reader.path(a, n, signing.key_file)) return;
             if (auto problem = checkReadableFile(signing.key_file)) {
               reader.error(a, *problem);
             }
           },
           /*required=*/true},
          {"extra_jwks_file",
           [&](const Location& a, const YAML::Node& n) {
             std::filesystem::path file;
             if (!reader.path(a, n, file)) return;
             if (auto problem = checkReadableFile(file)) {
               reader.error(a, *problem);
               return;
             }
             signing.extra_jwks_file = std::move(file);
           }},
          {"cache",
           [&](const Location& a, const YAML::Node& n) { reader.boolean(a, n, signing.cache); }},
      });
  if (is_mapping) out = std::move(signing);
}

void readJobs(Reader& reader, const Location& at, const YAML::Node& node,
              std::vector<JobEntry>& out) {
  if (!node.IsSequence()) {
    reader.error(at, "expected a list of jobs, got " + Reader::describe(node));
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    JobEntry job{{}, at.item(i, item.Mark()), {}};
    if (item.IsNull()) {
      reader.error(job.at,
                   "expected a job like {region: us, start_at: ..., end_at: ...}, got "
                   "no value");
      continue;
    }
    bool complete = true;
    reader.mapping(job.at, item,
                   {
                       {"region",
                        [&](const Location& a, const YAML::Node& n) {
                          job.region_at = a;
                          complete &= reader.nonEmptyText(a, n, job.spec.region);
                        },
                        /*required=*/true},
                       {"start_at",
                        [&](const Location& a, const YAML::Node& n) {
                          readTime(reader, a, n, job.spec.start_at);
                        },
                        /*required=*/true},
                       {"end_at",
                        [&](const Location& a, const YAML::Node& n) {
                          readTime(reader, a, n, job.spec.end_at);
                        },
                        /*required=*/true},
                   });
    // A job without a region was reported already; checking it against the regions would
    // only repeat that.
    if (complete && !job.spec.region.empty()) out.push_back(std::move(job));
  }
}

void checkJobs(Reader& reader, const std::vector<JobEntry>& jobs,
               const std::map<std::string, RegionSettings>& regions, std::vector<JobSpec>& out) {
  std::map<std::string, const JobEntry*> first_job;
  for (const JobEntry& job : jobs) {
    if (regions.find(job.spec.region) == regions.end()) {
      std::string known;
      for (const auto& [name, region] : regions) known += (known.empty() ? "" : ", ") + name;
      reader.error(job.region_at, "no region " + Reader::quote(job.spec.region) + " is configured" +
                                      (known.empty() ? "" : "; configured regions: " + known));
      continue;
    }
    // The second would replace the first at submit time: surely not what was meant.
    auto [first, inserted] = first_job.emplace(job.spec.region, &job);
    if (!inserted) {
      reader.error(job.region_at, "a second job for region " + Reader::quote(job.spec.region) +
                                      " (the first is on line " +
                                      std::to_string(first->second->at.mark.line + 1) +
                                      "); a region runs one job at a time");
      continue;
    }
    out.push_back(job.spec);
  }
}

}  // namespace audit::config::detail
