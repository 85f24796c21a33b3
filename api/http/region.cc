#include "api/http/region.hpp"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

namespace audit::api::http {

std::string_view hostLabel(std::string_view host) {
  if (host.empty() || host.front() == '[') return {};  // an IPv6 literal names no region
  return host.substr(0, host.find_first_of(".:"));
}

RegionChoice chooseRegion(const std::optional<std::string>& query_region, std::string_view host,
                          const std::vector<std::string>& configured) {
  RegionChoice choice;
  if (query_region) {
    choice.region = *query_region;
    return choice;
  }
  const std::string_view label = hostLabel(host);
  if (!label.empty() &&
      std::find(configured.begin(), configured.end(), label) != configured.end()) {
    choice.region = std::string(label);
    return choice;
  }
  if (configured.size() == 1) {
    choice.region = configured.front();
    return choice;
  }
  if (configured.empty()) return choice;
  choice.ambiguous = true;
  std::string names;
  for (const auto& name : configured) names += (names.empty() ? "" : ", ") + name;
  choice.reason = "region is required: several regions are configured (" + names +
                  "); add ?region=R or use a host name whose first label is the region";
  return choice;
}

RegionChoice chooseRegion(const Request& request, const std::vector<std::string>& configured) {
  std::optional<std::string> query_region;
  if (const auto url = boost::urls::parse_origin_form(request.target())) {
    const auto params = url->params();
    if (const auto it = params.find("region"); it != params.end()) {
      query_region = std::string((*it).value);
    }
  }
  const auto host = request[bhttp::field::host];
  return chooseRegion(query_region, std::string_view(host.data(), host.size()), configured);
}

Response ambiguousRegionProblem(const RegionChoice& choice, std::string_view request_id) {
  return problemResponse(400, choice.reason, request_id, {{"region", choice.reason}});
}

}  // namespace audit::api::http
