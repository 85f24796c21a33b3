#include "bench/event_generator.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/rfc3339.hpp"

namespace audit::bench {
namespace {

struct Endpoint {
  std::string_view path;  // "{}" is replaced by a random UUID
  std::string_view event_class_id;
};

// Konnect's public API surface, roughly as an organisation's traffic spreads over it.
constexpr std::array<Endpoint, 50> kEndpoints{{
    {"/v2/control-planes", "control_planes"},
    {"/v2/control-planes/{}", "control_planes"},
    {"/v2/control-planes/{}/core-entities/services", "services"},
    {"/v2/control-planes/{}/core-entities/services/{}", "services"},
    {"/v2/control-planes/{}/core-entities/routes", "routes"},
    {"/v2/control-planes/{}/core-entities/routes/{}", "routes"},
    {"/v2/control-planes/{}/core-entities/plugins", "plugins"},
    {"/v2/control-planes/{}/core-entities/plugins/{}", "plugins"},
    {"/v2/control-planes/{}/core-entities/consumers", "consumers"},
    {"/v2/control-planes/{}/core-entities/consumers/{}", "consumers"},
    {"/v2/control-planes/{}/core-entities/upstreams", "upstreams"},
    {"/v2/control-planes/{}/core-entities/upstreams/{}/targets", "targets"},
    {"/v2/control-planes/{}/core-entities/certificates", "certificates"},
    {"/v2/control-planes/{}/core-entities/snis", "snis"},
    {"/v2/control-planes/{}/core-entities/vaults", "vaults"},
    {"/v2/control-planes/{}/core-entities/key-sets", "key_sets"},
    {"/v2/control-planes/{}/nodes", "nodes"},
    {"/v2/control-planes/{}/nodes/{}", "nodes"},
    {"/v2/control-planes/{}/dp-client-certificates", "dp_certificates"},
    {"/v2/control-planes/{}/expected-config-hash", "config_hash"},
    {"/v2/control-planes/{}/group-memberships", "control_plane_groups"},
    {"/v2/api-products", "api_products"},
    {"/v2/api-products/{}", "api_products"},
    {"/v2/api-products/{}/versions", "api_product_versions"},
    {"/v2/api-products/{}/documents", "api_product_documents"},
    {"/v2/portals", "portals"},
    {"/v2/portals/{}", "portals"},
    {"/v2/portals/{}/developers", "portal_developers"},
    {"/v2/portals/{}/applications", "portal_applications"},
    {"/v2/portals/{}/teams", "portal_teams"},
    {"/v2/portals/{}/appearance", "portal_appearance"},
    {"/v3/users", "users"},
    {"/v3/users/{}", "users"},
    {"/v3/users/me", "users"},
    {"/v3/teams", "teams"},
    {"/v3/teams/{}", "teams"},
    {"/v3/teams/{}/users", "team_memberships"},
    {"/v3/roles", "roles"},
    {"/v3/users/{}/assigned-roles", "role_assignments"},
    {"/v3/system-accounts", "system_accounts"},
    {"/v3/system-accounts/{}/access-tokens", "system_account_tokens"},
    {"/v3/organizations/me", "organizations"},
    {"/v3/organizations/me/entitlements", "entitlements"},
    {"/v3/identity-providers", "identity_providers"},
    {"/v3/authentication-settings", "authentication_settings"},
    {"/v2/audit-log-replay-job", "audit_logs"},
    {"/v2/audit-log-webhook", "audit_logs"},
    {"/v2/mesh/control-planes", "mesh_control_planes"},
    {"/v2/service-catalog/services", "service_catalog"},
    {"/v2/cloud-gateways/networks", "cloud_gateways"},
}};

constexpr std::array<std::string_view, 8> kUserAgents{
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "deck/v1.37.0 (linux/amd64)",
    "Terraform/1.8.2 terraform-provider-konnect/1.0.0",
    "kongctl/0.3.1 (darwin/arm64)",
    "Go-http-client/2.0",
    "grpc-node-js/1.10.6",
};

constexpr std::array<std::string_view, 4> kActions{"read", "create", "update", "delete"};
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHex = "0123456789abcdef";

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

Random::Random(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t Random::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

EventGenerator::EventGenerator(GeneratorOptions options)
    : options_(options), random_(options.seed) {
  // A few organisations with a few hundred principals: ids repeat as in real traffic.
  for (auto& org : orgs_) appendUuid(org);
  for (auto& principal : principals_) appendUuid(principal);
}

void EventGenerator::appendHex(std::string& out, std::size_t digits) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = random_.next();
    out.push_back(kHex[bits & 0xf]);
    bits >>= 4;
  }
}

void EventGenerator::appendUuid(std::string& out) {
  appendHex(out, 8);
  out.push_back('-');
  appendHex(out, 4);
  out.append("-4");
  appendHex(out, 3);
  out.push_back('-');
  out.push_back(kHex[8 + random_.below(4)]);
  appendHex(out, 3);
  out.push_back('-');
  appendHex(out, 12);
}

void EventGenerator::append(EpochMillis time, std::string& out) {
  const Endpoint& endpoint = kEndpoints[random_.below(kEndpoints.size())];
  std::uint64_t kind = random_.below(100);
  std::string_view name = kind < 90 ? "kong.api_call" : kind < 96 ? "kong.login" : "kong.logout";
  std::uint64_t verb = random_.below(100);  // mostly reads, as in real control-plane traffic
  std::string_view action = kActions[verb < 70 ? 0 : verb < 82 ? 1 : verb < 95 ? 2 : 3];

  out.append(R"({"action":")").append(action);
  out.append(R"(","cef_version":0,"event_class_id":")").append(endpoint.event_class_id);
  out.append(R"(","event_product":"Konnect","event_ts":")").append(formatRfc3339Millis(time));
  out.append(R"(","event_vendor":"KongInc","event_version":"1.0","name":")").append(name);
  out.append(R"(","org_id":")").append(orgs_[random_.below(std::size(orgs_))]);
  out.append(R"(","principal_id":")").append(principals_[random_.below(std::size(principals_))]);
  out.append(R"(","request":")");
  for (std::string_view path = endpoint.path;;) {
    auto hole = path.find("{}");
    out.append(path.substr(0, hole));
    if (hole == std::string_view::npos) break;
    appendUuid(out);
    path.remove_prefix(hole + 2);
  }
  // Konnect sends rt as a string of milliseconds.
  out.append(R"(","rt":")").append(std::to_string(time));
  out.append(R"(","severity":)").append(std::to_string(1 + random_.below(3)));
  std::uint64_t ip = random_.next();
  out.append(R"(,"src":")")
      .append(std::to_string(10 + (ip & 0x7f)))
      .append(".")
      .append(std::to_string((ip >> 8) & 0xff))
      .append(".")
      .append(std::to_string((ip >> 16) & 0xff))
      .append(".")
      .append(std::to_string(1 + ((ip >> 24) % 254)));
  out.append(R"(","success":)").append(random_.below(100) < 97 ? "true" : "false");
  out.append(R"(,"trace_id":)").append(std::to_string(random_.next() >> 1));
  out.append(R"(,"user_agent":")").append(kUserAgents[random_.below(kUserAgents.size())]);
  out.push_back('"');
  if (options_.with_sig) {
    // An Ed25519 signature is 64 bytes: 86 base64url characters without padding.
    out.append(R"(,"sig":")");
    std::uint64_t bits = 0;
    for (int i = 0; i < 86; ++i) {
      if (i % 10 == 0) bits = random_.next();
      out.push_back(kBase64Url[bits & 0x3f]);
      bits >>= 6;
    }
    out.push_back('"');
  }
  out.push_back('}');
}

EventSequence::EventSequence(std::size_t count, EpochMillis start, EpochMillis end,
                             GeneratorOptions options)
    : generator_(options),
      jitter_(options.seed ^ 0x5eed5eed5eed5eedULL),
      count_(count),
      start_(start),
      span_(static_cast<double>(end - start)),
      end_(end) {}

bool EventSequence::next(std::string& out) {
  if (produced_ == count_) return false;
  // Slot i of count covers [i, i+1) * span/count; a random point in it keeps times sorted.
  double position = (static_cast<double>(produced_) + jitter_.unit()) / static_cast<double>(count_);
  EpochMillis t = start_ + static_cast<EpochMillis>(position * span_);
  if (produced_ > 0) t = std::max(t, time_);  // rounding must not step back in time
  time_ = std::clamp(t, start_, end_);
  ++produced_;
  out.clear();
  generator_.append(time_, out);
  return true;
}

}  // namespace audit::bench
