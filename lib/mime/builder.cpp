// Message and MIME entity composition (RFC 5322 §2.1.1 folding, RFC 2045-2047, RFC 2231).
#include "tern/mime/builder.hpp"

#include <algorithm>
#include <random>

#include "tern/mime/codec.hpp"

namespace tern::mime {

namespace {

constexpr std::size_t kFoldAt = 78;      // RFC 5322 §2.1.1 SHOULD
constexpr std::size_t kHardLimit = 998;  // RFC 5322 §2.1.1 MUST
constexpr char kHex[] = "0123456789ABCDEF";

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 5322 §3.2.3 atext.
bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

std::size_t utf8_length(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  len = std::min(len, s.size() - i);
  for (std::size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return k;  // broken sequence: stop before
  return len;
}

// RFC 2047 §5(3): characters a Q-encoded word in a phrase may carry as themselves.
bool q_safe(unsigned char b) {
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '!' || b == '*' ||
         b == '+' || b == '-' || b == '/';
}

void q_piece(std::string& out, unsigned char b) {
  if (b == ' ') out += '_';
  else if (q_safe(b)) out += static_cast<char>(b);
  else out += {'=', kHex[b >> 4], kHex[b & 15]};
}

std::string clean_line(std::string_view s) {  // header text never carries CR/LF
  std::string r(s);
  for (auto& c : r)
    if (c == '\r' || c == '\n') c = ' ';
  return r;
}

std::string canonical_lines(std::string_view s) {  // text: every line break becomes CRLF
  std::string r;
  r.reserve(s.size() + s.size() / 32);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      r += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      r += "\r\n";
    } else {
      r += s[i];
    }
  }
  return r;
}

struct ContentScan {
  bool ascii = true, nul = false, bare_line_break = false, controls = false;
  std::size_t max_line = 0, high = 0;
};

ContentScan scan(std::string_view s) {
  ContentScan r;
  std::size_t line = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      r.max_line = std::max(r.max_line, line);
      line = 0;
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') r.bare_line_break = true;
    if (c == 0) r.nul = true;
    if (c >= 0x80) { r.ascii = false; ++r.high; }
    if ((c < 32 && c != '\t') || c == 127) r.controls = true;
    ++line;
  }
  r.max_line = std::max(r.max_line, line);
  return r;
}

std::string_view encoding_name(TransferEncoding e) {
  switch (e) {
    case TransferEncoding::seven_bit: return "7bit";
    case TransferEncoding::eight_bit: return "8bit";
    case TransferEncoding::binary: return "binary";
    case TransferEncoding::quoted_printable: return "quoted-printable";
    case TransferEncoding::base64: return "base64";
    case TransferEncoding::automatic: break;
  }
  return "7bit";
}

// Splits a value into (white space, word) pieces; white space inside quoted strings is part of the word.
std::vector<std::pair<std::string_view, std::string_view>> fold_tokens(std::string_view v) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t ws = i;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    std::size_t w = i;
    bool quoted = false;
    while (i < v.size()) {
      char c = v[i];
      if (quoted && c == '\\' && i + 1 < v.size()) { i += 2; continue; }
      if (c == '"') quoted = !quoted;
      else if (!quoted && (c == ' ' || c == '\t')) break;
      ++i;
    }
    out.emplace_back(v.substr(ws, w - ws), v.substr(w, i - w));
  }
  return out;
}

// "Name: value" folded before white space: lines ≤ 78 where a break exists (RFC 5322 §2.2.3).
std::string fold(std::string_view name, std::string_view value) {
  std::string out;
  std::string line(name);
  line += ':';
  const std::size_t bare = line.size();
  for (auto [ws, word] : fold_tokens(value)) {
    if (word.empty()) continue;
    std::string_view sep = line.size() == bare || ws.empty() ? std::string_view(" ") : ws;
    if (line.size() + sep.size() + word.size() > kFoldAt) {
      if (line.size() > bare || sep.size() + word.size() <= kFoldAt) {
        out += line;
        out += "\r\n";
        line.assign(sep);
        line += word;
        continue;
      }
    }
    line += sep;
    line += word;
  }
  out += line;
  out += "\r\n";
  return out;
}

std::string percent_encode(std::string_view s) {  // RFC 2231 §7 attribute-char
  std::string r;
  for (unsigned char c : s) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (keep) r += static_cast<char>(c);
    else r += {'%', kHex[c >> 4], kHex[c & 15]};
  }
  return r;
}

std::string quote(std::string_view s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r + "\"";
}

bool is_token(std::string_view s) {  // RFC 2045 §5.1 token
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 32 || c >= 127 || std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  return true;
}

std::string random_boundary(std::mt19937_64& rng) {
  static constexpr char kChars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  // "=_" never occurs in base64 or quoted-printable output (RFC 2045 §6.7-6.8).
  std::string b = "=_tern_";
  for (int i = 0; i < 24; ++i) b += kChars[rng() % 62];
  return b;
}

std::string build_entity(const MimePart& p, const BuildOptions& o, std::mt19937_64& rng);

}  // namespace

std::string encode_words(std::string_view utf8, std::size_t first_word_max) {
  std::size_t q_len = 0;
  for (unsigned char c : utf8) q_len += c == ' ' || q_safe(c) ? 1 : 3;
  const std::size_t b_len = (utf8.size() + 2) / 3 * 4;
  const bool use_b = b_len < q_len;
  const std::string_view prefix = use_b ? "=?utf-8?b?" : "=?utf-8?q?";
  std::string out;
  std::string bytes;  // of the current word
  std::size_t q_payload = 0;
  std::size_t max = std::clamp<std::size_t>(first_word_max, 16, 75);
  auto flush = [&] {
    if (bytes.empty()) return;
    if (!out.empty()) out += ' ';
    out += prefix;
    if (use_b) {
      out += encode_base64(bytes, 0);
    } else {
      for (unsigned char c : bytes) q_piece(out, c);
    }
    out += "?=";
    bytes.clear();
    q_payload = 0;
    max = 75;  // RFC 2047 §2: an encoded-word is at most 75 characters
  };
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t len = utf8_length(utf8, i);
    std::string_view ch = utf8.substr(i, len);
    const std::size_t room = max - prefix.size() - 2;
    std::size_t add = 0;
    if (!use_b)
      for (unsigned char c : ch) add += c == ' ' || q_safe(c) ? 1 : 3;
    const bool fits = use_b ? (bytes.size() + len + 2) / 3 * 4 <= room : q_payload + add <= room;
    if (!fits && !bytes.empty()) {
      flush();
      continue;
    }
    bytes.append(ch);
    q_payload += add;
    i += len;
  }
  flush();
  return out;
}

std::string format_unstructured_field(std::string_view name, std::string_view utf8_text, bool utf8_headers) {
  const std::string text = clean_line(utf8_text);
  // Words and the white space before each (RFC 5322 §3.2.5 unstructured).
  struct Word { std::size_t begin, end; bool encode; };
  std::vector<Word> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    std::size_t b = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    std::string_view w = std::string_view(text).substr(b, i - b);
    bool enc = w.find("=?") != std::string_view::npos || w.size() > kFoldAt - 2 || (!utf8_headers && !is_ascii(w));
    for (unsigned char c : w) enc = enc || c < 32 || c == 127;
    words.push_back({b, i, enc});
  }
  auto first = std::find_if(words.begin(), words.end(), [](const Word& w) { return w.encode; });
  if (first == words.end()) return fold(name, text);
  auto last = std::find_if(words.rbegin(), words.rend(), [](const Word& w) { return w.encode; });
  const std::string prefix = text.substr(0, first->begin);
  // The run of encoded words takes the white space between its words inside (RFC 2047 §6.2).
  const std::string span = text.substr(first->begin, last->end - first->begin);
  const std::string suffix = text.substr(last->end);
  std::size_t used = name.size() + 2 + prefix.size();
  std::size_t first_max = used + 20 <= kFoldAt ? std::min<std::size_t>(75, kFoldAt - used) : 75;
  return fold(name, prefix + encode_words(span, first_max) + suffix);
}

std::string format_structured_field(std::string_view name, std::string_view value) {
  return fold(name, clean_line(value));
}

std::string format_phrase(std::string_view utf8, bool utf8_headers) {
  std::string s = clean_line(utf8);
  if (s.empty()) return s;
  // Encoded-words for non-ASCII, and for text that looks like one (decoders would decode it).
  if ((!utf8_headers && !is_ascii(s)) || s.find("=?") != std::string::npos) return encode_words(s);
  bool atoms = s.front() != ' ' && s.back() != ' ' && s.find("  ") == std::string::npos && s.find("=?") == std::string::npos;
  for (char c : s) atoms = atoms && (is_atext(c) || c == ' ' || static_cast<unsigned char>(c) >= 0x80);
  if (atoms) return s;
  std::string q = quote(s);
  if (q.size() > 60 && !utf8_headers) return encode_words(s);  // a long quoted-string cannot be folded
  return q;
}

std::string format_mailbox(const Mailbox& m, bool utf8_headers) {
  std::string addr = m.address();
  if (m.display_name.empty()) return addr;
  return format_phrase(m.display_name, utf8_headers) + " <" + addr + ">";
}

std::string format_address_list(const std::vector<Mailbox>& list, bool utf8_headers) {
  std::string out;
  for (const auto& m : list) {
    if (!out.empty()) out += ", ";
    out += format_mailbox(m, utf8_headers);
  }
  return out;
}

Mailbox make_mailbox(std::string_view display_name, std::string_view addr_spec) {
  Mailbox m;
  m.display_name = std::string(display_name);
  m.display_name_raw = m.display_name;
  std::size_t at = addr_spec.rfind('@');
  std::string_view local = at == std::string_view::npos ? addr_spec : addr_spec.substr(0, at);
  if (at != std::string_view::npos) m.domain = std::string(addr_spec.substr(at + 1));
  if (local.size() >= 2 && local.front() == '"' && local.back() == '"') {
    for (std::size_t k = 1; k + 1 < local.size(); ++k) {
      if (local[k] == '\\' && k + 2 < local.size()) ++k;
      m.local_part += local[k];
    }
  } else {
    m.local_part = std::string(local);
  }
  return m;
}

std::string format_parameter(std::string_view name, std::string_view value) {
  const std::string n(name);
  // A plain value that looks like an encoded-word would be decoded by readers: RFC 2231 form instead.
  if (is_ascii(value) && value.find("=?") == std::string_view::npos) {
    bool printable = true;
    for (unsigned char c : value) printable = printable && c >= 32 && c != 127;
    if (printable) {
      if (is_token(value) && n.size() + value.size() < 70) return "; " + n + "=" + std::string(value);
      std::string q = quote(value);
      if (n.size() + q.size() < 70) return "; " + n + "=" + q;
      // RFC 2231 §3 continuations of at most 50 characters each.
      std::string out;
      for (std::size_t i = 0, k = 0; i < value.size(); i += 50, ++k)
        out += "; " + n + "*" + std::to_string(k) + "=" + quote(value.substr(i, 50));
      return out;
    }
  }
  // RFC 2231 §4: charset''percent-encoded, continued (§4.1) when long; %XX triples are never split.
  const std::string enc = percent_encode(value);
  if (n.size() + enc.size() + 10 < 70) return "; " + n + "*=utf-8''" + enc;
  std::string out;
  std::size_t i = 0, k = 0;
  while (i < enc.size()) {
    std::size_t len = std::min<std::size_t>(48, enc.size() - i);
    if (i + len < enc.size()) {
      if (enc[i + len - 1] == '%') len -= 1;
      else if (len >= 2 && enc[i + len - 2] == '%') len -= 2;
    }
    out += "; " + n + "*" + std::to_string(k) + "*=" + (k == 0 ? "utf-8''" : "") + enc.substr(i, len);
    i += len;
    ++k;
  }
  return out;
}

std::string make_message_id(std::string_view hostname) {
  std::random_device rd;
  std::string id = "<";
  for (int i = 0; i < 4; ++i) {
    std::uint32_t v = rd();
    for (int k = 0; k < 8; ++k) id += "0123456789abcdef"[(v >> (4 * k)) & 15];
  }
  id += "@";
  id += hostname.empty() ? std::string_view("localhost") : hostname;
  return id + ">";
}

std::string make_date(std::int64_t unix_time, int zone_minutes) {
  return format_date_time(date_time_from_unix(unix_time, zone_minutes));
}

MimePart MimePart::text(std::string_view utf8, std::string_view subtype) {
  MimePart p;
  p.subtype = std::string(subtype);
  p.content = std::string(utf8);
  p.params.emplace_back("charset", is_ascii(utf8) ? "us-ascii" : "utf-8");
  return p;
}

MimePart MimePart::data(std::string_view bytes, std::string_view mime_type) {
  MimePart p;
  std::size_t slash = mime_type.find('/');
  p.type = std::string(mime_type.substr(0, slash));
  p.subtype = slash == std::string_view::npos ? "octet-stream" : std::string(mime_type.substr(slash + 1));
  for (auto* s : {&p.type, &p.subtype})
    for (auto& c : *s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  p.content = std::string(bytes);
  return p;
}

MimePart MimePart::attachment(std::string_view bytes, std::string_view mime_type, std::string_view filename) {
  MimePart p = data(bytes, mime_type);
  if (!filename.empty()) p.params.emplace_back("name", std::string(filename));
  p.disposition = "attachment";
  if (!filename.empty()) p.disposition_params.emplace_back("filename", std::string(filename));
  return p;
}

MimePart MimePart::multipart(std::string_view subtype, std::vector<MimePart> parts,
                             std::vector<std::pair<std::string, std::string>> params) {
  MimePart p;
  p.type = "multipart";
  p.subtype = std::string(subtype);
  p.parts = std::move(parts);
  p.params = std::move(params);
  return p;
}

MimePart MimePart::message(std::string_view message_bytes, bool global) {
  MimePart p;
  p.type = "message";
  p.subtype = global ? "global" : "rfc822";
  p.content = std::string(message_bytes);
  return p;
}

namespace {

std::string build_entity(const MimePart& p, const BuildOptions& o, std::mt19937_64& rng) {
  std::string head, body;
  std::string ctype = p.type + "/" + p.subtype;
  bool has_charset = false;
  for (const auto& [k, v] : p.params) {
    ctype += format_parameter(k, v);
    has_charset = has_charset || k == "charset";
  }
  if (p.type == "text" && !has_charset) ctype += is_ascii(p.content) ? "; charset=us-ascii" : "; charset=utf-8";
  std::string_view cte;
  if (p.type == "multipart") {
    std::vector<std::string> children;
    for (const auto& c : p.parts) children.push_back(build_entity(c, o, rng));
    std::string boundary;
    for (;;) {  // RFC 2046 §5.1.1: the boundary must not occur in the encapsulated parts
      boundary = random_boundary(rng);
      bool clash = false;
      for (const auto& c : children) clash = clash || c.find("--" + boundary) != std::string::npos;
      if (!clash) break;
    }
    ctype += "; boundary=" + quote(boundary);
    for (const auto& c : children) body += "--" + boundary + "\r\n" + c + "\r\n";
    body += "--" + boundary + "--\r\n";
  } else {
    const bool text = p.type == "text";
    const std::string content = text ? canonical_lines(p.content) : p.content;
    const ContentScan s = scan(content);
    TransferEncoding e = p.encoding;
    if (e == TransferEncoding::automatic) {
      const bool lines_ok = s.max_line <= kHardLimit && !s.nul && !s.bare_line_break;
      if (p.type == "message") {  // RFC 2046 §5.2.1: never encoded
        e = s.ascii && lines_ok ? TransferEncoding::seven_bit
            : lines_ok          ? TransferEncoding::eight_bit
                                : TransferEncoding::binary;
      } else if (text) {
        if (s.ascii && lines_ok) e = TransferEncoding::seven_bit;
        else if (o.allow_8bit && lines_ok) e = TransferEncoding::eight_bit;
        else if (s.high * 5 < content.size() && !s.nul) e = TransferEncoding::quoted_printable;
        else e = TransferEncoding::base64;
      } else {
        e = s.ascii && lines_ok && !s.controls ? TransferEncoding::seven_bit : TransferEncoding::base64;
      }
    }
    cte = encoding_name(e);
    if (e == TransferEncoding::base64) {
      body = encode_base64(content, 76);
      if (body.size() < 2 || body.compare(body.size() - 2, 2, "\r\n") != 0) body += "\r\n";
    }
    else if (e == TransferEncoding::quoted_printable) body = encode_quoted_printable(content, !text);
    else body = content;
  }
  head += format_structured_field("Content-Type", ctype);
  if (!cte.empty() && cte != "7bit") head += format_structured_field("Content-Transfer-Encoding", cte);
  if (!p.disposition.empty()) {
    std::string d = p.disposition;
    for (const auto& [k, v] : p.disposition_params) d += format_parameter(k, v);
    head += format_structured_field("Content-Disposition", d);
  }
  for (const auto& [k, v] : p.headers) head += format_unstructured_field(k, v, o.utf8_headers);
  return head + "\r\n" + body;
}

std::mt19937_64 make_rng(const BuildOptions& o) {
  if (o.seed != 0) return std::mt19937_64(o.seed);
  std::random_device rd;
  return std::mt19937_64((std::uint64_t{rd()} << 32) | rd());
}

}  // namespace

std::string MimePart::build(const BuildOptions& options) const {
  auto rng = make_rng(options);
  return build_entity(*this, options, rng);
}

MessageBuilder& MessageBuilder::date(std::string_view d) { date_ = std::string(d); return *this; }
MessageBuilder& MessageBuilder::from(const Mailbox& m) { from_.push_back(m); return *this; }
MessageBuilder& MessageBuilder::sender(const Mailbox& m) { sender_ = {m}; return *this; }
MessageBuilder& MessageBuilder::reply_to(const Mailbox& m) { reply_to_.push_back(m); return *this; }
MessageBuilder& MessageBuilder::to(const Mailbox& m) { to_.push_back(m); return *this; }
MessageBuilder& MessageBuilder::cc(const Mailbox& m) { cc_.push_back(m); return *this; }
MessageBuilder& MessageBuilder::subject(std::string_view s) {
  subject_ = std::string(s);
  has_subject_ = true;
  return *this;
}
MessageBuilder& MessageBuilder::message_id(std::string_view id) {
  message_id_ = !id.empty() && id.front() == '<' ? std::string(id) : "<" + std::string(id) + ">";
  return *this;
}
MessageBuilder& MessageBuilder::in_reply_to(std::string_view ids) { in_reply_to_ = std::string(ids); return *this; }
MessageBuilder& MessageBuilder::references(std::string_view ids) { references_ = std::string(ids); return *this; }
MessageBuilder& MessageBuilder::header(std::string_view name, std::string_view text) {
  unstructured_.emplace_back(name, text);
  return *this;
}
MessageBuilder& MessageBuilder::structured_header(std::string_view name, std::string_view value) {
  structured_.emplace_back(name, value);
  return *this;
}
MessageBuilder& MessageBuilder::body(MimePart part) {
  body_ = std::move(part);
  return *this;
}

std::string MessageBuilder::build(const BuildOptions& o) const {
  std::string out;
  const bool u = o.utf8_headers;
  if (!date_.empty()) out += format_structured_field("Date", date_);
  if (!from_.empty()) out += format_structured_field("From", format_address_list(from_, u));
  if (!sender_.empty()) out += format_structured_field("Sender", format_address_list(sender_, u));
  if (!reply_to_.empty()) out += format_structured_field("Reply-To", format_address_list(reply_to_, u));
  if (!to_.empty()) out += format_structured_field("To", format_address_list(to_, u));
  if (!cc_.empty()) out += format_structured_field("Cc", format_address_list(cc_, u));
  if (has_subject_) out += format_unstructured_field("Subject", subject_, u);
  if (!message_id_.empty()) out += format_structured_field("Message-ID", message_id_);
  if (!in_reply_to_.empty()) out += format_structured_field("In-Reply-To", in_reply_to_);
  if (!references_.empty()) out += format_structured_field("References", references_);
  for (const auto& [k, v] : structured_) out += format_structured_field(k, v);
  for (const auto& [k, v] : unstructured_) out += format_unstructured_field(k, v, u);
  out += "MIME-Version: 1.0\r\n";
  auto rng = make_rng(o);
  out += build_entity(body_, o, rng);
  return out;
}

}  // namespace tern::mime
