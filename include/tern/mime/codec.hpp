// Content-Transfer-Encodings (RFC 2045 §6), RFC 2047 encoded-words and charset conversion to UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tern::mime {

struct DecodeResult {
  std::string data;
  bool clean = true;  // false if malformed input was skipped or repaired
};

// base64 (RFC 2045 §6.8): characters outside the alphabet are skipped, missing padding tolerated.
DecodeResult decode_base64(std::string_view in);
// Lines of at most 76 characters separated by CRLF (line_length 0: one line).
std::string encode_base64(std::string_view in, std::size_t line_length = 76);

// quoted-printable (RFC 2045 §6.7): malformed "=" escapes are kept literally, trailing white space
// before a line break is removed, soft line breaks joined.
DecodeResult decode_quoted_printable(std::string_view in);
// Encoded lines are at most 76 characters (soft breaks "=" CRLF); CRLF in the input stays a hard
// line break unless binary is true; white space before a line break and "=" are encoded.
std::string encode_quoted_printable(std::string_view in, bool binary = false);

// The body decoded according to a Content-Transfer-Encoding name (7bit/8bit/binary: unchanged).
DecodeResult decode_transfer_encoding(std::string_view body, std::string_view encoding);

// Bytes in `charset` converted to UTF-8 with iconv; unknown charsets and invalid sequences become
// U+FFFD (valid UTF-8 input of an unknown charset is kept). clean=false if anything was replaced.
DecodeResult to_utf8(std::string_view charset, std::string_view bytes);

// Unstructured header text with RFC 2047 encoded-words decoded to UTF-8; white space between adjacent
// encoded-words is dropped (RFC 2047 §6.2); raw 8-bit text is taken as UTF-8 (RFC 6532) or Latin-1.
std::string decode_encoded_words(std::string_view text);

// One "=?charset?Q?...?=" word (RFC 2047 §2) where needed: ASCII text without "=?" is returned as is.
std::string encode_header_words(std::string_view utf8);

bool valid_utf8(std::string_view s) noexcept;

}  // namespace tern::mime
