// RFC 3461 4 xtext (paths are parsed by lib/mime: mime::parse_smtp_path).
#include "tern/smtp/envelope.hpp"

namespace tern::smtp {

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
