#include "signing/detail/event_json.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace audit::signing::detail {

JsonShape inspectJson(std::string_view text) {
  JsonShape shape;
  unsigned char scratch[8192];
  boost::json::monotonic_resource mr(scratch, sizeof scratch);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, &mr);
  if (ec || !v.is_object()) return shape;
  const boost::json::object& obj = v.get_object();
  shape.object = true;
  shape.empty = obj.empty();
  if (auto it = obj.find("sig"); it != obj.end()) {
    shape.has_sig = true;
    if (it->value().is_string()) shape.sig = std::string(it->value().get_string());
  }
  return shape;
}

}  // namespace audit::signing::detail
