// SMTP replies (RFC 5321 4.2) with RFC 3463 enhanced status codes (RFC 2034), and their wire form.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tern::smtp {

// One reply: a three-digit code, an RFC 3463 enhanced status code ("5.1.1") and a human sentence.
// `text` may contain '\n' to ask for a multi-line reply; long lines are wrapped so that no line
// exceeds 512 octets including the CRLF (RFC 5321 4.5.3.1.5). An empty `enhanced` on a 2xx/4xx/5xx
// reply is filled with the class default ("2.0.0", "4.0.0", "5.0.0") so every reply carries one.
struct Reply {
  int code = 250;
  std::string enhanced;
  std::string text;

  bool positive() const noexcept { return code >= 200 && code < 400; }
  bool transient() const noexcept { return code >= 400 && code < 500; }
  bool permanent() const noexcept { return code >= 500; }
};

inline bool operator==(const Reply& a, const Reply& b) {
  return a.code == b.code && a.enhanced == b.enhanced && a.text == b.text;
}

// Longest reply line on the wire, CRLF included (RFC 5321 4.5.3.1.5).
inline constexpr std::size_t max_reply_line = 512;

// Wire form of `reply`. With `with_enhanced` the enhanced code (or the class default) is put after
// the code on every line, as RFC 2034 3 requires; it is never put on 3xx replies (a 3xx has no
// enhanced class). Control characters in `text` other than '\n' are replaced by spaces.
std::string format_reply(const Reply& reply, bool with_enhanced = true);

// True if `s` is a syntactically valid enhanced status code whose class matches `code`.
bool valid_enhanced_code(std::string_view s, int code) noexcept;

}  // namespace tern::smtp
