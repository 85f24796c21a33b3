#pragma once
// Which region an HTTP request is about — the one rule every route uses:
//   1. `?region=R` when given (an unknown R is the ControlApi's 404);
//   2. else the first label of the Host header when it names a configured region
//      ("us.audit.example:8470" → us, as Konnect's us.api.konghq.com);
//   3. else the only configured region;
//   4. else several are configured: ambiguous (a 400 naming the choices, or for the
//      webhook status every region).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/response.hpp"

namespace audit::api::http {

struct RegionChoice {
  /** The region, or nullopt: none is configured as far as the HTTP layer knows (the
   * ControlApi then decides), or the request is ambiguous. */
  std::optional<std::string> region;
  /** True when several regions are configured and nothing in the request picks one. */
  bool ambiguous = false;
  /** With ambiguous: "region is required: several regions are configured (eu, us); …". */
  std::string reason;
};

/** The first label of a Host header value: "us.audit.example:8470" → "us"; "[::1]:80" → "". */
std::string_view hostLabel(std::string_view host);

/**
 * Applies the rule above. `query_region` is the decoded `region` query parameter (nullopt
 * when absent), `host` the Host header's value, `configured` the configured region names
 * (empty: unknown to the caller, step 3/4 are left to the ControlApi). Pure; any thread.
 */
RegionChoice chooseRegion(const std::optional<std::string>& query_region, std::string_view host,
                          const std::vector<std::string>& configured);

/**
 * chooseRegion() on a parsed request: `?region` from its target, Host from its header.
 * An ambiguous choice is answered with ambiguousRegionProblem() (or, where a route has a
 * meaning for "every region", served for all of them).
 */
RegionChoice chooseRegion(const Request& request, const std::vector<std::string>& configured);

/** The 400 answer to an ambiguous choice. */
Response ambiguousRegionProblem(const RegionChoice& choice, std::string_view request_id);

}  // namespace audit::api::http
