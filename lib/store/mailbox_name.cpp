// Mailbox-name validation and the Maildir++ / modified UTF-7 on-disk form (see mailbox_name.hpp).
#include "tern/core/text.hpp"
#include "tern/store/mailbox_name.hpp"

#include <vector>

namespace tern::store {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

// Decodes one UTF-8 code point at s[i]; returns its length, 0 if malformed (overlong, surrogate, > U+10FFFF).
std::size_t utf8_next(std::string_view s, std::size_t i, char32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t len;
  if (c < 0x80) { cp = c; return 1; }
  if ((c & 0xE0) == 0xC0) cp = c & 0x1F, len = 2;
  else if ((c & 0xF0) == 0xE0) cp = c & 0x0F, len = 3;
  else if ((c & 0xF8) == 0xF0) cp = c & 0x07, len = 4;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return 0;
  return len;
}

Status invalid(std::string_view name, const char* why) {
  return fail(ErrorCategory::invalid_argument, "invalid mailbox name \"" + std::string(name.substr(0, 80)) + "\": " + why);
}

}  // namespace

Status validate_mailbox_name(std::string_view name) {
  if (name.empty()) return invalid(name, "the name is empty");
  if (name.size() > kMailboxNameMax) return fail(ErrorCategory::invalid_argument, "invalid mailbox name: longer than 255 bytes");
  for (std::size_t i = 0; i < name.size();) {
    char32_t cp;
    auto len = utf8_next(name, i, cp);
    if (!len) return invalid(name, "not valid UTF-8");
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xA0)) return invalid(name, "control characters are not allowed");
    if (cp == '\\') return invalid(name, "'\\' is not allowed");
    if (cp == '%' || cp == '*') return invalid(name, "the IMAP wildcards '%' and '*' are not allowed");
    i += len;
  }
  std::size_t start = 0;
  while (true) {
    auto end = name.find('/', start);
    std::string_view part = name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty()) return invalid(name, "empty hierarchy level (leading, trailing or double '/')");
    if (part == "." || part == "..") return invalid(name, "'.' and '..' are not mailbox names");
    if (part.front() == '.') return invalid(name, "a level cannot start with '.'");
    if (part.find('.') != std::string_view::npos) return invalid(name, "'.' is the Maildir++ hierarchy separator on disk");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {};
}

std::string mutf7_encode(std::string_view utf8) {
  std::string out;
  std::vector<char16_t> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    out += '&';
    std::uint32_t bits = 0;
    int nbits = 0;
    for (char16_t u : pending) {
      bits = (bits << 16) | u;
      nbits += 16;
      while (nbits >= 6) {
        nbits -= 6;
        out += kB64[(bits >> nbits) & 0x3F];
      }
      bits &= (1u << nbits) - 1;
    }
    if (nbits > 0) out += kB64[(bits << (6 - nbits)) & 0x3F];
    out += '-';
    pending.clear();
  };
  for (std::size_t i = 0; i < utf8.size();) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0x20 && c <= 0x7E) {
      flush();
      if (c == '&') out += "&-";
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    char32_t cp;
    auto len = utf8_next(utf8, i, cp);
    if (!len) cp = 0xFFFD, len = 1;
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      pending.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      pending.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      pending.push_back(static_cast<char16_t>(cp));
    }
  }
  flush();
  return out;
}

Result<std::string> mutf7_decode(std::string_view in) {
  auto bad = [&](const char* why) { return fail(ErrorCategory::invalid_argument, std::string("bad modified UTF-7: ") + why); };
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c != '&') {
      if (c < 0x20 || c > 0x7E) return bad("non-ASCII byte");
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    auto end = in.find('-', i + 1);
    if (end == std::string_view::npos) return bad("unterminated '&'");
    if (end == i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    std::uint32_t bits = 0;
    int nbits = 0;
    char16_t high = 0;
    for (std::size_t k = i + 1; k < end; ++k) {
      int v = b64_value(in[k]);
      if (v < 0) return bad("invalid base64 character");
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        auto u = static_cast<char16_t>((bits >> nbits) & 0xFFFF);
        bits &= (1u << nbits) - 1;
        if (high) {
          if (u < 0xDC00 || u >= 0xE000) return bad("unpaired surrogate");
          append_utf8(out, 0x10000 + ((static_cast<char32_t>(high) - 0xD800) << 10) + (u - 0xDC00));
          high = 0;
        } else if (u >= 0xD800 && u < 0xDC00) {
          high = u;
        } else if (u >= 0xDC00 && u < 0xE000) {
          return bad("unpaired surrogate");
        } else if (u >= 0x20 && u <= 0x7E) {
          return bad("printable ASCII must not be encoded");
        } else {
          append_utf8(out, u);
        }
      }
    }
    if (high || bits != 0 || nbits >= 6) return bad("truncated or padded shift sequence");
    i = end + 1;
  }
  return out;
}

Result<std::string> maildir_folder_dir(std::string_view name) {
  if (auto s = validate_mailbox_name(name); !s) return fail(s.error());
  std::string dir;
  std::size_t start = 0;
  while (true) {
    auto end = name.find('/', start);
    dir += '.';
    dir += mutf7_encode(name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (dir.size() > kMailboxNameMax)
    return fail(ErrorCategory::invalid_argument, "invalid mailbox name: its on-disk form \"" + dir.substr(0, 40) + "...\" is longer than 255 bytes");
  return dir;
}

Result<std::string> mailbox_from_folder_dir(std::string_view dir) {
  if (dir.size() < 2 || dir.front() != '.') return fail(ErrorCategory::invalid_argument, "not a Maildir++ folder: " + std::string(dir));
  std::string name;
  std::size_t start = 1;
  while (true) {
    auto end = dir.find('.', start);
    auto part = dir.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    auto d = mutf7_decode(part);
    if (!d) return fail(d.error());
    if (!name.empty() || start > 1) name += '/';
    name += *d;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (auto s = validate_mailbox_name(name); !s) return fail(s.error());
  return name;
}

}  // namespace tern::store
