#include "deflate_stream.hpp"

#include <zlib.h>

namespace tern::imap {

struct DeflateStream::Impl {
  z_stream out{};
  z_stream in{};
  bool ok = true;
  Impl() {
    // windowBits -15: raw deflate, as RFC 4978 §3 requires.
    ok = deflateInit2(&out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK &&
         inflateInit2(&in, -15) == Z_OK;
  }
  ~Impl() {
    deflateEnd(&out);
    inflateEnd(&in);
  }
};

DeflateStream::DeflateStream() : impl_(std::make_unique<Impl>()) {}
DeflateStream::~DeflateStream() = default;

std::string DeflateStream::compress(std::string_view plain) {
  std::string result;
  auto& z = impl_->out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  char buf[16384];
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    deflate(&z, Z_SYNC_FLUSH);
    result.append(buf, sizeof buf - z.avail_out);
  } while (z.avail_out == 0 || z.avail_in > 0);
  return result;
}

Result<std::string> DeflateStream::decompress(std::string_view compressed) {
  std::string result;
  auto& z = impl_->in;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  char buf[16384];
  while (z.avail_in > 0) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
      return fail(ErrorCategory::protocol, "corrupt DEFLATE stream from the client");
    result.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_STREAM_END || (rc == Z_BUF_ERROR && z.avail_out != 0)) break;
  }
  return result;
}

}  // namespace tern::imap
