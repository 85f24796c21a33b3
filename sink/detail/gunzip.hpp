#pragma once
// gzip decoding of request bodies with libdeflate (whole-buffer, so no streaming state).
// Not thread-safe: one per connection.

#include <cstddef>
#include <string>
#include <string_view>

struct libdeflate_decompressor;

namespace audit::sink::detail {

class Gunzipper {
 public:
  enum class Result { Ok, BadData, TooLarge };

  Gunzipper();
  ~Gunzipper();
  Gunzipper(const Gunzipper&) = delete;
  Gunzipper& operator=(const Gunzipper&) = delete;

  /** Decodes every gzip member of `in` (concatenated members are allowed) into `out`,
   *  replacing its contents. Fails with TooLarge past `cap` bytes of output. `out` keeps
   *  its capacity between calls so a connection's buffer stops growing after a few batches. */
  Result decompress(std::string_view in, std::string& out, std::size_t cap);

 private:
  libdeflate_decompressor* decompressor_;
};

}  // namespace audit::sink::detail
