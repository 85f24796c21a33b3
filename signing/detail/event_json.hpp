#pragma once
// What the signer and the verifiers need to know of one JSON event, from a single parse.

#include <optional>
#include <string>
#include <string_view>

namespace audit::signing::detail {

struct JsonShape {
  bool object = false;             // valid JSON whose top level is an object
  bool empty = false;              // the object has no members
  bool has_sig = false;            // a top-level "sig" member of any type
  std::optional<std::string> sig;  // its value when it is a string
};

/** Parses `text` with boost::json (no allocation for typical event sizes). */
JsonShape inspectJson(std::string_view text);

}  // namespace audit::signing::detail
