// Fuzz target: RFC 2047 encoded-words, RFC 2231 parameters and charset conversion (header text).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/mime/codec.hpp"
#include "tern/mime/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Decoded text is always valid UTF-8.
  if (!tern::mime::valid_utf8(tern::mime::decode_encoded_words(in))) std::abort();
  tern::mime::ContentType ct;
  tern::mime::parse_content_type(in, ct);
  for (const auto& p : ct.params)
    if (!tern::mime::valid_utf8(p.value)) std::abort();
  // QP and base64 decoders: round trips of what the encoders produce.
  if (tern::mime::decode_base64(tern::mime::encode_base64(in)).data != in) std::abort();
  if (tern::mime::decode_quoted_printable(tern::mime::encode_quoted_printable(in, true)).data != in) std::abort();
  (void)tern::mime::decode_quoted_printable(in);
  (void)tern::mime::decode_base64(in);
  if (tern::mime::valid_utf8(in) && tern::mime::decode_encoded_words(tern::mime::encode_header_words(in)) != in)
    std::abort();
  return 0;
}
