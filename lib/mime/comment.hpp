// Internal to lib/mime: RFC 5322 §3.2.2 comments, shared by the header and date parsers.
#pragma once

#include <cstddef>
#include <string_view>

namespace tern::mime::detail {

// With s[i] == '(', moves i past the matching ')' (comments nest; a quoted-pair escapes one character).
// An unterminated comment runs to the end of s; i never ends past s.size().
inline void skip_comment(std::string_view s, std::size_t& i) {
  int depth = 0;
  while (i < s.size()) {
    if (s[i] == '\\') { i += 2; continue; }
    if (s[i] == '(') ++depth;
    else if (s[i] == ')' && --depth == 0) { ++i; break; }
    ++i;
  }
  if (i > s.size()) i = s.size();
}

}  // namespace tern::mime::detail
