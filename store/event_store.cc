#include "store/event_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "store/detail/db.hpp"
#include "store/detail/rocks_store.hpp"

namespace audit::store {
namespace {

source::Errc fromErrno(int err) {
  return err == EACCES || err == EPERM ? source::Errc::no_permission : source::Errc::io_error;
}

}  // namespace

source::Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options,
                                                   std::string* detail) {
  auto fail = [&](source::Errc e, std::string what) -> source::Result<std::unique_ptr<Store>> {
    if (detail != nullptr) *detail = std::move(what);
    return e;
  };
  if (options.data_dir.empty()) return fail(source::Errc::invalid_argument, "data_dir is empty");
  const std::string dir = options.data_dir.string();
  // Events are audit records: the store's files are 0640 and its folder 0750 whatever the
  // umask the daemon was started with. RocksDB creates files for as long as it runs (SSTs,
  // WAL, MANIFEST) with 0644 masked by the process umask, so the umask gains 027.
  if (const mode_t previous = ::umask(027); (previous | 027) != 027) ::umask(previous | 027);
  std::error_code ec;
  const bool created = std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return fail(fromErrno(ec.value()), "cannot create " + dir + ": " + ec.message());
  if (created && ::chmod(dir.c_str(), 0750) != 0) {
    int err = errno;
    return fail(fromErrno(err),
                "cannot set the mode of " + dir + ": " + std::generic_category().message(err));
  }
  // RocksDB would fail on the first file it creates; asking first gives a clearer message.
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    int err = errno;
    return fail(fromErrno(err), "cannot use " + dir + ": " + std::generic_category().message(err));
  }
  auto db = detail::openDb(options, detail);
  if (!db) return db.error();
  return std::unique_ptr<Store>(std::make_unique<detail::RocksStore>(std::move(*db)));
}

}  // namespace audit::store
