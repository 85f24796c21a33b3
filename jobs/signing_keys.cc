#include "jobs/signing_keys.hpp"

#include "signing/jwks.hpp"

namespace audit::jobs {

SigningKeys loadSigningKeys(config::LoadResult& loaded, const std::string& file_name) {
  SigningKeys keys;
  if (!loaded.ok() || !loaded.config->signing) return keys;
  const config::SigningSettings& signing = *loaded.config->signing;
  if (auto signer = signing::Signer::loadPem(signing.key_file)) {
    keys.signer = std::move(*signer);
  } else {
    loaded.errors.push_back({file_name, 0, 0, "signing.key_file", signer.message()});
  }
  if (signing.extra_jwks_file) {
    if (auto extra = signing::loadJwksFile(*signing.extra_jwks_file)) {
      keys.extra_jwks = std::move(*extra);
    } else {
      loaded.errors.push_back({file_name, 0, 0, "signing.extra_jwks_file", extra.message()});
    }
  }
  return keys;
}

}  // namespace audit::jobs
