#pragma once
// Strict UTF-8 validation for fuzz invariants: text that ends up in a JSON answer must be
// valid UTF-8, or a strict client (boost::json, Python's json) cannot read the answer.

#include <string_view>

namespace audit::fuzz {

/** True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
inline bool isValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      unsigned low = k == 1 ? lo : 0x80, high = k == 1 ? hi : 0xbf;
      if (b < low || b > high) return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace audit::fuzz
