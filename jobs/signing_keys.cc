#include "jobs/signing_keys.hpp"

#include "signing/jwks.hpp"

namespace audit::jobs {

SigningKeys loadSigningKeys(config::LoadResult& loaded, const std::string& file_name) {
  SigningKeys keys;
  if (!loaded.ok() || !loaded.config->signing) return keys;
  const config::SigningSettings& signing = *loaded.config->signing;
  std::string error;
  keys.signer = signing::Signer::loadPem(signing.key_file, &error);
  if (!keys.signer) loaded.errors.push_back({file_name, 0, 0, "signing.key_file", error});
  if (signing.extra_jwks_file) {
    if (auto extra = signing::loadJwksFile(*signing.extra_jwks_file, &error)) {
      keys.extra_jwks = std::move(*extra);
    } else {
      loaded.errors.push_back({file_name, 0, 0, "signing.extra_jwks_file", error});
    }
  }
  return keys;
}

}  // namespace audit::jobs
