#include "store/detail/retryable_fs.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace audit::store::detail {
namespace {

class RetryableFs final : public rocksdb::FileSystemWrapper {
 public:
  using rocksdb::FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "AuditRetryableFileSystem"; }

  rocksdb::IOStatus NewSequentialFile(const std::string& f, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return mark(target()->NewSequentialFile(f, o, r, dbg));
  }
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override {
    return mark(target()->NewRandomAccessFile(f, o, r, dbg));
  }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return mark(target()->NewWritableFile(f, o, r, dbg));
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return mark(target()->ReopenWritableFile(f, o, r, dbg));
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return mark(target()->ReuseWritableFile(f, old, o, r, dbg));
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    return mark(target()->NewDirectory(name, o, r, dbg));
  }

 private:
  static rocksdb::IOStatus mark(rocksdb::IOStatus s) {
    if (isOutOfDescriptors(s)) s.SetRetryable(true);
    return s;
  }
};

}  // namespace

bool isOutOfDescriptors(const rocksdb::IOStatus& status) {
  if (status.ok() || !status.IsIOError()) return false;
  // RocksDB's posix layer puts strerror() into the message; EMFILE and ENFILE both read
  // "Too many open files" (ENFILE adds " in system").
  const std::string text = status.ToString();
  return text.find(std::strerror(EMFILE)) != std::string::npos ||
         text.find(std::strerror(ENFILE)) != std::string::npos;
}

std::unique_ptr<rocksdb::Env> makeRetryableEnv() {
  return rocksdb::NewCompositeEnv(std::make_shared<RetryableFs>(rocksdb::FileSystem::Default()));
}

}  // namespace audit::store::detail
