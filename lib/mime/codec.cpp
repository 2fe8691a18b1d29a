// Transfer encodings, charset conversion and RFC 2047 encoded-words.
#include "tern/mime/codec.hpp"

#include <iconv.h>

#include <cerrno>
#include <cstring>

#include "tern/mime/message.hpp"

namespace tern::mime {
namespace {

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

const char kHex[] = "0123456789ABCDEF";

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

void append_replacement(std::string& out) { out += "\xEF\xBF\xBD"; }

// Latin-1 bytes as UTF-8 (used for raw 8-bit header text that is not UTF-8).
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// Charset labels as glibc iconv knows them (RFC 1345 names plus common aliases seen in mail).
std::string iconv_name(std::string_view charset) {
  std::string c = lower(charset);
  if (auto star = c.find('*'); star != std::string::npos) c.resize(star);  // RFC 2231 §5 language
  while (!c.empty() && (c.back() == ' ' || c.back() == '"')) c.pop_back();
  while (!c.empty() && (c.front() == ' ' || c.front() == '"')) c.erase(0, 1);
  if (c == "gb2312" || c == "gbk" || c == "cp936" || c == "x-gbk") return "GB18030";  // supersets
  if (c == "ks_c_5601-1987" || c == "ks_c_5601") return "CP949";
  if (c == "x-sjis" || c == "shift-jis" || c == "sjis") return "SHIFT_JIS";
  if (c == "iso-8859-8-i") return "ISO-8859-8";
  if (c == "unicode-1-1-utf-7") return "UTF-7";
  if (c == "ascii" || c == "us-ascii" || c == "ansi_x3.4-1968") return "UTF-8";  // 8-bit bytes kept
  if (c == "latin1" || c == "latin-1") return "ISO-8859-1";
  if (c == "utf8") return "UTF-8";
  return c;
}

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { ++i; continue; }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

DecodeResult decode_base64(std::string_view in) {
  DecodeResult r;
  r.data.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (unsigned char c : in) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    if (c == '=') { padding = true; continue; }
    int v = b64_value(c);
    if (v < 0) { r.clean = false; continue; }
    if (padding) r.clean = false;  // data after padding: keep decoding, as clients do
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      r.data += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6) r.clean = false;  // a lone trailing sextet carries no byte
  return r;
}

std::string encode_base64(std::string_view in, std::size_t line_length) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(in.size() * 4 / 3 + in.size() / 38 + 8);
  std::size_t col = 0;
  auto put = [&](char c) {
    if (line_length && col == line_length) { out += "\r\n"; col = 0; }
    out += c;
    ++col;
  };
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    put(kAlphabet[(v >> 18) & 63]); put(kAlphabet[(v >> 12) & 63]); put(kAlphabet[(v >> 6) & 63]); put(kAlphabet[v & 63]);
  }
  if (std::size_t rest = in.size() - i; rest) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    put(kAlphabet[(v >> 18) & 63]);
    put(kAlphabet[(v >> 12) & 63]);
    put(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    put('=');
  }
  return out;
}

DecodeResult decode_quoted_printable(std::string_view in) {
  DecodeResult r;
  r.data.reserve(in.size());
  std::size_t i = 0, n = in.size();
  while (i < n) {
    // One line at a time: trailing white space is transport padding (RFC 2045 §6.7 rule 3).
    std::size_t eol = in.find('\n', i);
    std::size_t line_end = eol == std::string_view::npos ? n : eol;
    std::size_t content_end = line_end;
    if (content_end > i && in[content_end - 1] == '\r') --content_end;
    bool hard_break = eol != std::string_view::npos;
    std::size_t trimmed = content_end;
    while (trimmed > i && (in[trimmed - 1] == ' ' || in[trimmed - 1] == '\t')) --trimmed;
    bool soft = false;
    for (std::size_t k = i; k < trimmed; ++k) {
      char c = in[k];
      if (c != '=') { r.data += c; continue; }
      if (k + 1 == trimmed) { soft = true; break; }  // soft line break (rule 5)
      int h = k + 1 < trimmed ? hex_value(static_cast<unsigned char>(in[k + 1])) : -1;
      int l = k + 2 < trimmed ? hex_value(static_cast<unsigned char>(in[k + 2])) : -1;
      if (h >= 0 && l >= 0) {
        r.data += static_cast<char>(h * 16 + l);
        k += 2;
      } else {
        r.clean = false;
        r.data += '=';  // keep the malformed escape literally, as RFC 2045 §6.7 suggests
      }
    }
    if (!hard_break) break;
    if (!soft) r.data += "\r\n";
    i = line_end + 1;
  }
  return r;
}

std::string encode_quoted_printable(std::string_view in, bool binary) {
  std::string out;
  std::string line;
  auto flush_soft = [&] { out += line; out += "=\r\n"; line.clear(); };
  std::size_t n = in.size();
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    bool at_break = !binary && (c == '\n' || (c == '\r' && i + 1 < n && in[i + 1] == '\n'));
    if (at_break) {
      if (c == '\r') ++i;
      out += line;
      out += "\r\n";
      line.clear();
      continue;
    }
    bool next_is_break = i + 1 == n || (!binary && (in[i + 1] == '\n' || (in[i + 1] == '\r' && i + 2 < n && in[i + 2] == '\n')));
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !next_is_break);
    std::string token;
    if (literal) {
      token.assign(1, static_cast<char>(c));
    } else {
      token = {'=', kHex[c >> 4], kHex[c & 15]};
    }
    // Encoded lines at most 76 characters including the "=" of a soft break (RFC 2045 §6.7 rule 5).
    std::size_t limit = next_is_break ? 76 : 75;
    if (line.size() + token.size() > limit) flush_soft();
    line += token;
  }
  out += line;
  return out;
}

DecodeResult decode_transfer_encoding(std::string_view body, std::string_view encoding) {
  if (iequals(encoding, "base64")) return decode_base64(body);
  if (iequals(encoding, "quoted-printable")) return decode_quoted_printable(body);
  return DecodeResult{std::string(body), true};
}

DecodeResult to_utf8(std::string_view charset, std::string_view bytes) {
  DecodeResult r;
  std::string name = iconv_name(charset);
  if (name == "utf-8" || name == "UTF-8" || name.empty()) {
    if (valid_utf8(bytes)) { r.data.assign(bytes); return r; }
    name = "UTF-8";
  }
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    r.clean = false;
    if (valid_utf8(bytes)) r.data.assign(bytes);
    else r.data = latin1_to_utf8(bytes);
    return r;
  }
  r.data.reserve(bytes.size() * 2 + 16);
  char* inp = const_cast<char*>(bytes.data());
  std::size_t inleft = bytes.size();
  char buf[4096];
  while (true) {
    char* outp = buf;
    std::size_t outleft = sizeof buf;
    std::size_t rc = inleft ? iconv(cd, &inp, &inleft, &outp, &outleft) : iconv(cd, nullptr, nullptr, &outp, &outleft);
    r.data.append(buf, static_cast<std::size_t>(outp - buf));
    if (rc != static_cast<std::size_t>(-1)) {
      if (inleft == 0) {
        // Flush shift state (ISO-2022-JP) once.
        outp = buf; outleft = sizeof buf;
        iconv(cd, nullptr, nullptr, &outp, &outleft);
        r.data.append(buf, static_cast<std::size_t>(outp - buf));
        break;
      }
      continue;
    }
    if (errno == E2BIG) continue;
    // EILSEQ or EINVAL (truncated sequence): replace one byte and go on.
    r.clean = false;
    append_replacement(r.data);
    if (inleft == 0) break;
    ++inp;
    --inleft;
    if (inleft == 0) break;
  }
  iconv_close(cd);
  return r;
}

namespace {

struct EncodedWord {
  std::size_t end = 0;  // offset after "?="
  std::string charset;
  std::string bytes;
  bool ok = false;
};

// Parses "=?charset?enc?text?=" at text[pos] (RFC 2047 §2); no white space inside a word.
EncodedWord parse_word(std::string_view text, std::size_t pos) {
  EncodedWord w;
  if (text.substr(pos, 2) != "=?") return w;
  std::size_t q1 = text.find('?', pos + 2);
  if (q1 == std::string_view::npos || q1 == pos + 2) return w;
  if (q1 + 2 >= text.size() || text[q1 + 2] != '?') return w;
  char enc = text[q1 + 1];
  std::size_t start = q1 + 3;
  std::size_t close = text.find("?=", start);
  if (close == std::string_view::npos) return w;
  std::string_view charset = text.substr(pos + 2, q1 - pos - 2);
  std::string_view payload = text.substr(start, close - start);
  for (char c : charset)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return w;
  for (char c : payload)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return w;
  if (enc == 'B' || enc == 'b') {
    w.bytes = decode_base64(payload).data;
  } else if (enc == 'Q' || enc == 'q') {
    for (std::size_t k = 0; k < payload.size(); ++k) {
      char c = payload[k];
      if (c == '_') { w.bytes += ' '; continue; }
      if (c == '=') {
        int h = k + 1 < payload.size() ? hex_value(static_cast<unsigned char>(payload[k + 1])) : -1;
        int l = k + 2 < payload.size() ? hex_value(static_cast<unsigned char>(payload[k + 2])) : -1;
        if (h >= 0 && l >= 0) { w.bytes += static_cast<char>(h * 16 + l); k += 2; continue; }
      }
      w.bytes += c;
    }
  } else {
    return w;
  }
  w.charset = std::string(charset);
  w.end = close + 2;
  w.ok = true;
  return w;
}

std::string raw_text_to_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  return latin1_to_utf8(s);
}

}  // namespace

std::string decode_encoded_words(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0, n = text.size();
  std::size_t literal_start = 0;
  // Pending run of adjacent encoded words in one charset (joined before conversion so multi-byte
  // characters split across words survive).
  std::string pending_charset, pending_bytes;
  auto flush_pending = [&] {
    if (!pending_charset.empty() || !pending_bytes.empty()) out += to_utf8(pending_charset, pending_bytes).data;
    pending_charset.clear();
    pending_bytes.clear();
  };
  bool last_was_word = false;
  while (i < n) {
    std::size_t next = text.find("=?", i);
    if (next == std::string_view::npos) break;
    EncodedWord w = parse_word(text, next);
    if (!w.ok) { i = next + 2; continue; }
    std::string_view between = text.substr(literal_start, next - literal_start);
    bool only_space = between.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (last_was_word && only_space) {
      // Adjacent encoded words: the white space between them is dropped (RFC 2047 §6.2).
      if (!iequals(w.charset, pending_charset)) flush_pending();
    } else {
      flush_pending();
      out += raw_text_to_utf8(between);
    }
    pending_charset = w.charset;
    pending_bytes += w.bytes;
    last_was_word = true;
    i = literal_start = w.end;
  }
  flush_pending();
  out += raw_text_to_utf8(text.substr(literal_start));
  return out;
}

std::string encode_header_words(std::string_view utf8) {
  bool plain = utf8.find("=?") == std::string_view::npos;
  for (unsigned char c : utf8)
    if (c >= 0x80 || c < 0x20) plain = false;
  if (plain) return std::string(utf8);
  // Words of at most 75 characters (RFC 2047 §2), split between UTF-8 characters, separated by a space.
  std::string out, word;
  auto close_word = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?Q?" + word + "?=";
    word.clear();
  };
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t len = 1;
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0xF0) len = 4; else if (c >= 0xE0) len = 3; else if (c >= 0xC0) len = 2;
    len = std::min(len, utf8.size() - i);
    std::string enc;
    for (std::size_t k = 0; k < len; ++k) {
      unsigned char b = static_cast<unsigned char>(utf8[i + k]);
      if (b == ' ') enc += '_';
      else if (b >= 33 && b <= 126 && b != '=' && b != '?' && b != '_' && b != '"') enc += static_cast<char>(b);
      else enc += {'=', kHex[b >> 4], kHex[b & 15]};
    }
    if (word.size() + enc.size() > 75 - 12) close_word();
    word += enc;
    i += len;
  }
  close_word();
  return out;
}

}  // namespace tern::mime
