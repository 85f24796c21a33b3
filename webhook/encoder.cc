#include "webhook/encoder.hpp"

#include "signing/signer.hpp"
#include "webhook/cef.hpp"
#include "webhook/gzip.hpp"

namespace audit::webhook {
namespace {

// Renders each event with `line` and joins the results with '\n' (no trailing newline, as
// batch.joined()).
template <class Render>
std::string renderLines(const EventBatch& batch, std::size_t extra_per_event, Render line) {
  std::string out;
  out.reserve(batch.joined().size() + batch.size() * extra_per_event);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i > 0) out.push_back('\n');
    line(batch.event(i), out, i);
  }
  return out;
}

// The signature cache's side of signing event i: what is known of it, where a new one goes.
struct SignatureSlots {
  const EncodeOptions& options;
  std::string_view known(std::size_t i) const {
    const auto* k = options.known_signatures;
    return k != nullptr && i < k->size() ? std::string_view((*k)[i]) : std::string_view();
  }
  std::string* made(std::size_t i) const {
    auto* m = options.made_signatures;
    return m != nullptr && i < m->size() ? &(*m)[i] : nullptr;
  }
};

// A signature adds `,"sig":"` + 86 characters + `"`.
constexpr std::size_t kSigBytes = 96;

}  // namespace

EncodedBody encodeBatch(const EventBatch& batch, const EncodeOptions& options) {
  const signing::Signer* signer = options.signer;
  const SignatureSlots slots{options};
  if (signer != nullptr && options.made_signatures != nullptr) {
    options.made_signatures->assign(batch.size(), std::string());
  }
  // The plain body. The unsigned JSON case uses the batch's own buffer: it already is the
  // JSON-lines body, and gzip reads it in place.
  std::string rendered;
  const std::string* plain = &rendered;
  switch (options.format) {
    case Format::Json:
      if (signer == nullptr) {
        plain = &batch.joined();
      } else {
        rendered = renderLines(
            batch, kSigBytes, [&](std::string_view ev, std::string& out, std::size_t i) {
              signer->appendSignedJsonEvent(out, ev, slots.known(i), slots.made(i));
            });
      }
      break;
    case Format::Cps:
      rendered = renderLines(
          batch, kSigBytes + 10, [&](std::string_view ev, std::string& out, std::size_t i) {
            out += R"({"event":)";
            // The inner event is what is signed, so it verifies once unwrapped
            // (docs/formats.md).
            if (signer != nullptr) {
              signer->appendSignedJsonEvent(out, ev, slots.known(i), slots.made(i));
            } else {
              out += ev;
            }
            out.push_back('}');
          });
      break;
    case Format::Cef:
      // An event's own sig (Konnect's, say) signs its JSON bytes, which no CEF receiver can
      // check: it is kept as `origin_sig` for provenance, and the line itself is signed with
      // our key when signing is on.
      rendered =
          renderLines(batch, kSigBytes, [&](std::string_view ev, std::string& out, std::size_t i) {
            if (signer != nullptr) {
              out += signer->signCefLine(renderCef(ev, SigRendering::AsOriginSig), slots.known(i),
                                         slots.made(i));
            } else {
              out += renderCef(ev, SigRendering::AsOriginSig);
            }
          });
      break;
  }

  EncodedBody body;
  body.events = batch.size();
  body.plain_bytes = plain->size();
  if (options.compression == Compression::Gzip) {
    body.bytes = gzipCompress(*plain, options.gzip_level);
    body.gzip = true;
  } else if (plain == &rendered) {
    body.bytes = std::move(rendered);
  } else {
    body.bytes = *plain;
  }
  return body;
}

EncodedBody encodeBatch(EventBatch&& batch, const EncodeOptions& options) {
  if (options.format != Format::Json || options.signer != nullptr ||
      options.compression != Compression::None) {
    return encodeBatch(static_cast<const EventBatch&>(batch), options);
  }
  EncodedBody body;
  body.events = batch.size();
  body.bytes = batch.releaseJoined();
  body.plain_bytes = body.bytes.size();
  return body;
}

}  // namespace audit::webhook
