// RFC 4978 COMPRESS=DEFLATE: raw deflate (RFC 1951, no zlib header) in both directions after the
// tagged OK. Every write is sync-flushed so the peer can decode each response as soon as it arrives.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tern/core/result.hpp"

namespace tern::imap {

class DeflateStream {
 public:
  DeflateStream();
  ~DeflateStream();
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  // Compresses `plain` and flushes (Z_SYNC_FLUSH): the result can be written at once.
  std::string compress(std::string_view plain);
  // Decompresses what arrived; fails on a corrupt stream. The session reads at most 4 KiB of compressed
  // input at a time, and the command parser's limits bound what it keeps of the output.
  Result<std::string> decompress(std::string_view compressed);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::imap
