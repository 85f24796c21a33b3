#include "webhook/detail/redact.hpp"

#include <algorithm>
#include <cctype>

namespace audit::webhook::detail {
namespace {

constexpr std::size_t kMinSecret = 4;

bool iequalsAt(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return true;
}

// token68 (RFC 9110 §11.2) plus what loose receivers put in a token.
bool isCredentialChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
         c == '=' || c == ':' || c == '%';
}

}  // namespace

std::vector<std::string> secretsOf(std::string_view authorization,
                                   const std::vector<std::string>& header_values) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.size() >= kMinSecret) out.emplace_back(v);
  };
  add(authorization);
  if (auto space = authorization.find(' '); space != std::string_view::npos) {
    add(authorization.substr(space + 1));
  }
  for (const std::string& v : header_values) add(v);
  // Longest first: a value that contains another is replaced whole.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

std::string redact(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  // Credentials the receiver shows that we did not send (another client's, a proxy's).
  for (std::string_view scheme : {std::string_view("bearer "), std::string_view("basic ")}) {
    for (std::size_t at = 0; at < out.size(); ++at) {
      if (!iequalsAt(out, at, scheme)) continue;
      std::size_t begin = at + scheme.size();
      while (begin < out.size() && out[begin] == ' ') ++begin;
      std::size_t end = begin;
      while (end < out.size() && isCredentialChar(out[end])) ++end;
      if (end == begin || std::string_view(out).substr(begin, end - begin) == kRedacted) continue;
      out.replace(begin, end - begin, kRedacted);
      at = begin + kRedacted.size() - 1;
    }
  }
  return out;
}

}  // namespace audit::webhook::detail
