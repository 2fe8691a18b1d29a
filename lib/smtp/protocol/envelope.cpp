// RFC 5321 4.1.2 path grammar (with RFC 6531 UTF-8 extensions) and RFC 3461 4 xtext.
#include "tern/smtp/envelope.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace tern::smtp {

namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 5322 3.2.3 atext.
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// Length of a well-formed UTF-8 sequence (>= 2 octets, RFC 3629) at s[i], 0 if malformed.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool utf8 = false;
  bool saw_utf8 = false;
  bool at_end() const { return i >= s.size(); }
  unsigned char peek() const { return at_end() ? 0 : static_cast<unsigned char>(s[i]); }
  // Consumes one UTF-8 non-ASCII character if there is one (recording it even when not allowed).
  bool take_utf8() {
    if (at_end() || peek() < 0x80) return false;
    std::size_t n = utf8_len(s, i);
    if (n == 0) return false;
    saw_utf8 = true;
    i += n;
    return true;
  }
};

// sub-domain = Let-dig [Ldh-str] (RFC 5321), or a U-label (RFC 6531 3.3).
bool parse_subdomain(Cursor& c) {
  std::size_t start = c.i;
  bool last_hyphen = false;
  while (!c.at_end()) {
    unsigned char ch = c.peek();
    if (is_alpha(ch) || is_digit(ch)) { ++c.i; last_hyphen = false; }
    else if (ch == '-' && c.i != start) { ++c.i; last_hyphen = true; }
    else if (ch >= 0x80) { if (!c.take_utf8()) return false; last_hyphen = false; }
    else break;
  }
  if (c.i == start || last_hyphen || c.i - start > 63) return false;
  return true;
}

bool parse_domain(Cursor& c) {
  if (!parse_subdomain(c)) return false;
  while (c.peek() == '.') {
    ++c.i;
    if (!parse_subdomain(c)) return false;
  }
  return true;
}

// address-literal = "[" ( IPv4 / IPv6 / General ) "]" (RFC 5321 4.1.3).
bool parse_address_literal(Cursor& c) {
  if (c.peek() != '[') return false;
  std::size_t close = c.s.find(']', c.i);
  if (close == std::string_view::npos) return false;
  std::string inner(c.s.substr(c.i + 1, close - c.i - 1));
  if (inner.empty() || inner.size() > 100) return false;
  unsigned char buf[16];
  bool ok = false;
  if (inner.size() > 5 && (inner.compare(0, 5, "IPv6:") == 0 || inner.compare(0, 5, "ipv6:") == 0)) {
    ok = inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  } else if (is_digit(static_cast<unsigned char>(inner[0]))) {
    // IPv4: four 1-3 digit numbers 0..255 (inet_pton accepts exactly dotted quads).
    ok = inet_pton(AF_INET, inner.c_str(), buf) == 1;
  } else {
    // General-address-literal = Standardized-tag ":" 1*dcontent.
    std::size_t colon = inner.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == inner.size()) return false;
    for (std::size_t k = 0; k < colon; ++k) {
      unsigned char ch = static_cast<unsigned char>(inner[k]);
      if (!(is_alpha(ch) || is_digit(ch) || (ch == '-' && k != 0 && k + 1 != colon))) return false;
    }
    ok = true;
    for (std::size_t k = colon + 1; k < inner.size(); ++k) {
      unsigned char ch = static_cast<unsigned char>(inner[k]);
      if (!((ch >= 33 && ch <= 90) || (ch >= 94 && ch <= 126))) ok = false;
    }
  }
  if (!ok) return false;
  c.i = close + 1;
  return true;
}

bool parse_local_part(Cursor& c) {
  if (c.peek() == '"') {
    ++c.i;
    while (!c.at_end()) {
      unsigned char ch = c.peek();
      if (ch == '"') { ++c.i; return true; }
      if (ch == '\\') {
        ++c.i;
        unsigned char q = c.peek();
        if (q < 32 || q > 126) return false;  // quoted-pairSMTP = %d92 %d32-126
        ++c.i;
      } else if (ch >= 32 && ch <= 126) {
        ++c.i;
      } else if (ch >= 0x80) {
        if (!c.take_utf8()) return false;
      } else {
        return false;
      }
    }
    return false;
  }
  // Dot-string = Atom *("." Atom)
  bool need_atom = true;
  while (!c.at_end()) {
    unsigned char ch = c.peek();
    if (is_atext(ch)) { ++c.i; need_atom = false; }
    else if (ch >= 0x80) { if (!c.take_utf8()) return false; need_atom = false; }
    else if (ch == '.' && !need_atom) { ++c.i; need_atom = true; }
    else break;
  }
  return !need_atom;
}

}  // namespace

std::string MailPath::address() const {
  if (null) return {};
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

bool MailPath::is_postmaster() const noexcept {
  if (null || !domain.empty() || local_part.size() != 10) return false;
  const char* p = "postmaster";
  for (std::size_t i = 0; i < 10; ++i) {
    char ch = local_part[i];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (ch != p[i]) return false;
  }
  return true;
}

PathParse parse_path(std::string_view in, bool allow_null, bool allow_utf8, bool allow_postmaster) {
  PathParse r;
  r.error = PathError::syntax;
  Cursor c{in};
  c.utf8 = allow_utf8;
  if (c.peek() != '<') return r;
  ++c.i;
  if (c.peek() == '>') {
    if (!allow_null) return r;
    r.path.null = true;
    r.consumed = 2;
    r.error = PathError::none;
    return r;
  }
  // A-d-l = At-domain *( "," At-domain ) ":" — accepted and ignored (RFC 5321 4.1.1.3, C).
  if (c.peek() == '@') {
    for (;;) {
      if (c.peek() != '@') return r;
      ++c.i;
      if (!parse_domain(c)) return r;
      if (c.peek() == ',') { ++c.i; continue; }
      if (c.peek() == ':') { ++c.i; break; }
      return r;
    }
  }
  std::size_t local_start = c.i;
  if (!parse_local_part(c)) return r;
  std::string_view local = in.substr(local_start, c.i - local_start);
  if (c.peek() == '>' && allow_postmaster) {
    MailPath p;
    p.local_part = std::string(local);
    if (p.is_postmaster()) {
      r.path = std::move(p);
      r.consumed = c.i + 1;
      r.error = PathError::none;
      return r;
    }
  }
  if (c.peek() != '@') return r;
  ++c.i;
  std::size_t domain_start = c.i;
  if (c.peek() == '[') {
    if (!parse_address_literal(c)) return r;
  } else if (!parse_domain(c)) {
    return r;
  }
  std::string_view domain = in.substr(domain_start, c.i - domain_start);
  if (c.peek() != '>') return r;
  ++c.i;
  r.consumed = c.i;
  if (c.saw_utf8 && !allow_utf8) {
    r.error = PathError::utf8_not_allowed;
    return r;
  }
  // RFC 5321 4.5.3.1.1-3: 64 / 255 / 256 octets (the path limit includes the brackets).
  if (local.size() > 64 || domain.size() > 255 || r.consumed > 256) {
    r.error = PathError::too_long;
    return r;
  }
  r.path.local_part = std::string(local);
  r.path.domain = std::string(domain);
  r.error = PathError::none;
  return r;
}

std::optional<std::string> decode_xtext(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;  // RFC 3461 4: hexchar uses upper case only
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(in[i]);
    if (ch == '+') {
      if (i + 2 >= in.size()) return std::nullopt;
      int a = hex(in[i + 1]), b = hex(in[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      out += static_cast<char>(a * 16 + b);
      i += 2;
    } else if (ch >= 33 && ch <= 126 && ch != '=') {
      out += static_cast<char>(ch);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string encode_xtext(std::string_view in) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : in) {
    if (ch >= 33 && ch <= 126 && ch != '+' && ch != '=') {
      out += static_cast<char>(ch);
    } else {
      out += '+';
      out += digits[ch >> 4];
      out += digits[ch & 15];
    }
  }
  return out;
}

}  // namespace tern::smtp
