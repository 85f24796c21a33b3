#include "source/error.hpp"

namespace audit::source {
namespace {

class SourceCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "audit.source"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::locked:
        return "data_dir is locked by another process";
      case Errc::no_permission:
        return "no permission to use data_dir";
      case Errc::corruption:
        return "store is corrupt";
      case Errc::io_error:
        return "store I/O error";
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::busy:
        return "store busy";
      case Errc::closed:
        return "store is closed";
      case Errc::no_space:
        return "No space left on device in data_dir";
      case Errc::unsupported:
        return "not supported by this event source";
    }
    return "unknown store error";
  }
};

}  // namespace

const boost::system::error_category& sourceCategory() {
  static const SourceCategory category;
  return category;
}

}  // namespace audit::source
