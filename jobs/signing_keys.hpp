#pragma once
// The signing key and the extra JWKS of a configuration, read once per configuration: at
// start (where a bad file is a configuration error) and at each reload.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "signing/signer.hpp"

namespace audit::jobs {

struct SigningKeys {
  signing::SignerPtr signer;            // null: deliveries are not signed
  std::vector<std::string> extra_jwks;  // JWK objects of signing.extra_jwks_file
};

/**
 * Reads `loaded`'s signing.key_file and signing.extra_jwks_file. A file that cannot be used
 * is added to loaded.errors (which `ok()` then reports), naming its key.
 */
SigningKeys loadSigningKeys(config::LoadResult& loaded, const std::string& file_name);

}  // namespace audit::jobs
