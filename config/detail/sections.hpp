#pragma once
// Readers of the sections of docs/configuration.md. Each fills its settings from a node and reports
// every problem to the Reader; a bad value leaves that setting at its default so that reading can
// go on and find the next problem.

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/detail/reader.hpp"

namespace audit::config::detail {

void readLog(Reader& reader, const Location& at, const YAML::Node& node, LogSettings& out);
void readControl(Reader& reader, const Location& at, const YAML::Node& node, ControlSettings& out);
/** Leaves `out` empty when `node` is not a mapping. */
void readHttp(Reader& reader, const Location& at, const YAML::Node& node,
              std::optional<HttpSettings>& out);
void readSigning(Reader& reader, const Location& at, const YAML::Node& node,
                 std::optional<SigningSettings>& out);
void readRegions(Reader& reader, const Location& at, const YAML::Node& node,
                 std::map<std::string, RegionSettings>& out);

/** A job as read, with where its region was named, for checks once all regions are known. */
struct JobEntry {
  JobSpec spec;
  Location at;         // the list item
  Location region_at;  // its `region` key
};

void readJobs(Reader& reader, const Location& at, const YAML::Node& node,
              std::vector<JobEntry>& out);
/** Checks each job names a configured region, at most one job per region; keeps the good ones. */
void checkJobs(Reader& reader, const std::vector<JobEntry>& jobs,
               const std::map<std::string, RegionSettings>& regions, std::vector<JobSpec>& out);

}  // namespace audit::config::detail
