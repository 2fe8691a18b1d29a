// Small text helpers every protocol needs: ASCII case folding (command verbs, header field names,
// domain names are case-insensitive in ASCII only: RFC 5321 §2.4, RFC 5322 §1.2.2, RFC 4343) and
// UTF-8 encoding of one code point.
#pragma once

#include <string>
#include <string_view>

namespace tern {

// A..Z to a..z; every other byte (including UTF-8) unchanged. Locale-independent.
std::string ascii_lower(std::string_view s);

// Appends the UTF-8 form of `cp` (1-4 bytes; the caller passes a Unicode scalar value).
void append_utf8(std::string& out, char32_t cp);

}  // namespace tern
