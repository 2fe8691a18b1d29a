// i;unicode-casemap (RFC 5051 §2): per code point, simple titlecase then full decomposition.
#include "tern/imap/collation.hpp"

#include <algorithm>
#include <cstdint>

namespace tern::imap {
namespace {

#include "casemap_table.inc"

constexpr std::size_t kEntries = sizeof(kCasemapKeys) / sizeof(kCasemapKeys[0]);

void put_utf8(std::uint32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Decodes one UTF-8 code point at s[i]; returns its length, 0 if invalid (overlong, surrogate, > 10FFFF).
std::size_t get_utf8(std::string_view s, std::size_t i, std::uint32_t& c) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t n;
  std::uint32_t min;
  if (b < 0x80) { c = b; return 1; }
  if (b >= 0xC2 && b <= 0xDF) { n = 2; c = b & 0x1F; min = 0x80; }
  else if (b >= 0xE0 && b <= 0xEF) { n = 3; c = b & 0x0F; min = 0x800; }
  else if (b >= 0xF0 && b <= 0xF4) { n = 4; c = b & 0x07; min = 0x10000; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    auto x = static_cast<unsigned char>(s[i + k]);
    if ((x & 0xC0) != 0x80) return 0;
    c = (c << 6) | (x & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return n;
}

void fold_code_point(std::uint32_t c, std::string& out) {
  // Hangul syllables (Unicode §3.12): L V [T].
  if (c >= 0xAC00 && c <= 0xD7A3) {
    std::uint32_t s = c - 0xAC00;
    put_utf8(0x1100 + s / (21 * 28), out);
    put_utf8(0x1161 + (s % (21 * 28)) / 28, out);
    if (s % 28) put_utf8(0x11A7 + s % 28, out);
    return;
  }
  const std::uint32_t* end = kCasemapKeys + kEntries;
  const std::uint32_t* it = std::lower_bound(kCasemapKeys, end, c);
  if (it == end || *it != c) {
    put_utf8(c, out);
    return;
  }
  auto i = static_cast<std::size_t>(it - kCasemapKeys);
  for (std::size_t k = kCasemapIndex[i]; k < kCasemapIndex[i + 1]; ++k) put_utf8(kCasemapPool[k], out);
}

}  // namespace

void casemap_fold_append(std::string_view s, std::string& out) {
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {  // ASCII fast path: titlecase of a-z is A-Z, nothing decomposes
      out.push_back(b >= 'a' && b <= 'z' ? static_cast<char>(b - 32) : static_cast<char>(b));
      ++i;
      continue;
    }
    std::uint32_t c;
    std::size_t n = get_utf8(s, i, c);
    if (n == 0) {
      // One U+FFFD per invalid octet run, as Dovecot does.
      if (!(out.size() >= 3 && out.compare(out.size() - 3, 3, "\xEF\xBF\xBD") == 0)) out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    fold_code_point(c, out);
    i += n;
  }
}

std::string casemap_fold(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  casemap_fold_append(utf8, out);
  return out;
}

int casemap_compare(std::string_view a, std::string_view b) {
  std::string fa = casemap_fold(a), fb = casemap_fold(b);
  int r = fa.compare(fb);
  return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

bool casemap_contains_folded(std::string_view haystack, std::string_view needle_folded) {
  if (needle_folded.empty()) return true;
  std::string h = casemap_fold(haystack);
  return std::string_view(h).find(needle_folded) != std::string_view::npos;
}

bool casemap_contains(std::string_view haystack, std::string_view needle) {
  return casemap_contains_folded(haystack, casemap_fold(needle));
}

}  // namespace tern::imap
