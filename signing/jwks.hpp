#pragma once
// The public keys the daemon serves (/v2/audit-log-webhook/jwks.json, `audit-replayctl
// jwks`): its own signing key and the keys of `signing.extra_jwks_file` (Konnect's, say), so
// a receiver verifies every delivered line — re-signed or passed through — against one set.

#include <filesystem>
#include <string>
#include <vector>

#include "common/expected.hpp"

namespace audit::signing {

class Signer;

/**
 * Reads a JWKS file ({"keys":[…]}) and returns its Ed25519 keys (kty OKP, crv Ed25519, x of
 * 32 bytes) as compact JWK objects; keys of other types are skipped. Fails when the file
 * can't be read, is not a JWKS, holds a bad Ed25519 key or no Ed25519 key.
 */
Expected<std::vector<std::string>> loadJwksFile(const std::filesystem::path& file);

/** {"keys":[…]}: `signer`'s key (when set) first, then `extra` less any key equal to it. */
std::string jwksJson(const Signer* signer, const std::vector<std::string>& extra);

}  // namespace audit::signing
