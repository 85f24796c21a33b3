// The receiver's side of docs/formats.md, used by `audit-replayctl verify` and the tests. It
// mirrors Signer exactly: remove the sig the signer added, verify the bytes that remain.

#include "signing/detail/event_json.hpp"
#include "signing/ed25519.hpp"
#include "signing/signer.hpp"

namespace audit::signing {
namespace {

bool fail(std::string* reason, std::string text) {
  if (reason) *reason = std::move(text);
  return false;
}

bool checkSignature(std::string_view message, std::string_view sig_text,
                    std::string_view public_key32, std::string* reason) {
  auto sig = base64UrlDecode(sig_text);
  if (!sig || sig->size() != 64) return fail(reason, "sig is not base64url of 64 bytes");
  if (public_key32.size() != 32) return fail(reason, "the public key is not 32 bytes");
  if (!ed25519Verify(public_key32, message, *sig)) {
    return fail(reason, "signature does not match");
  }
  return true;
}

// CPS wraps the signed event as {"event":<event>}; the signature is the inner event's.
std::optional<std::string_view> cpsInner(std::string_view line) {
  constexpr std::string_view kPrefix = R"({"event":)";
  if (line.size() < kPrefix.size() + 2 || !line.starts_with(kPrefix) || !line.ends_with('}')) {
    return std::nullopt;
  }
  return line.substr(kPrefix.size(), line.size() - kPrefix.size() - 1);
}

}  // namespace

bool jsonHasSig(std::string_view json_event) {
  return detail::inspectJson(json_event).has_sig;
}

bool verifyJsonLine(std::string_view line, std::string_view public_key32, std::string* reason) {
  detail::JsonShape shape = detail::inspectJson(line);
  if (!shape.object) return fail(reason, "not a JSON object");
  if (!shape.has_sig) {
    if (auto inner = cpsInner(line); inner && detail::inspectJson(*inner).has_sig) {
      return verifyJsonLine(*inner, public_key32, reason);
    }
    return fail(reason, "no sig member");
  }
  if (!shape.sig) return fail(reason, "sig is not a string");

  // The signer adds `,"sig":"…"` before the final '}', or `"sig":"…"` into `{}`. A sig some
  // other producer put first (`"sig":"…",`) is accepted as well.
  const std::string& value = *shape.sig;
  for (std::string member :
       {R"(,"sig":")" + value + '"', R"("sig":")" + value + R"(",)", R"("sig":")" + value + '"'}) {
    std::size_t at = line.find(member);
    if (at == std::string_view::npos) continue;
    std::string rest;
    rest.reserve(line.size() - member.size());
    rest.append(line.substr(0, at));
    rest.append(line.substr(at + member.size()));
    return checkSignature(rest, value, public_key32, reason);
  }
  return fail(reason, R"(sig is not written as ,"sig":"…")");
}

bool verifyCefLine(std::string_view line, std::string_view public_key32, std::string* reason) {
  std::size_t at = line.rfind(" sig=");
  if (at == std::string_view::npos) return fail(reason, "no sig extension");
  return checkSignature(line.substr(0, at), line.substr(at + 5), public_key32, reason);
}

}  // namespace audit::signing
