#include "tern/mailauth/disclaimer.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "tern/core/text.hpp"
#include "tern/mime/codec.hpp"

namespace tern::mailauth {

std::string_view to_string(DisclaimerResult r) noexcept {
  switch (r) {
    case DisclaimerResult::added: return "added";
    case DisclaimerResult::too_large: return "too_large";
    case DisclaimerResult::already_present: return "already_present";
    case DisclaimerResult::signed_or_encrypted: return "signed_or_encrypted";
    case DisclaimerResult::no_text_part: return "no_text_part";
    case DisclaimerResult::unsupported: return "unsupported";
  }
  return "unknown";
}

namespace {

using mime::Message;
using mime::Part;

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// ---- charsets --------------------------------------------------------------------------------------

enum class CharsetKind {
  ascii,
  utf8,
  other,     // ASCII-compatible (ISO-8859-x, windows-125x, KOI8, GB18030, Shift_JIS, EUC, ...)
  stateful,  // ISO-2022-*: ASCII bytes may be half of a character; only whole-part conversion is safe
  unsupported,
};

std::string charset_label(const Part& p) {
  const std::string* cs = mime::find_parameter(p.content_type.params, "charset");
  std::string c = cs ? ascii_lower(*cs) : "us-ascii";
  while (!c.empty() && (c.back() == ' ' || c.back() == '"')) c.pop_back();
  while (!c.empty() && (c.front() == ' ' || c.front() == '"')) c.erase(0, 1);
  return c.empty() ? "us-ascii" : c;
}

CharsetKind classify(const std::string& c) {
  if (c == "us-ascii" || c == "ascii" || c == "ansi_x3.4-1968" || c == "iso646-us") return CharsetKind::ascii;
  if (c == "utf-8" || c == "utf8") return CharsetKind::utf8;
  // Charsets in which ASCII text is not ASCII bytes: "</body" and line breaks cannot be found by bytes.
  if (c.rfind("iso-2022", 0) == 0 || c == "hz-gb-2312" || c == "utf-7" || c == "unicode-1-1-utf-7")
    return CharsetKind::stateful;
  if (c.rfind("utf-16", 0) == 0 || c.rfind("utf-32", 0) == 0 || c.rfind("ucs-", 0) == 0 || c.rfind("ebcdic", 0) == 0 ||
      c == "cp037" || c == "cp500" || c == "cp875" || c == "cp1026" || c == "ibm037" || c == "ibm500" || c == "ibm1026")
    return CharsetKind::unsupported;
  return CharsetKind::other;
}

// The glibc iconv name of a MIME charset label (the aliases mail clients use).
std::string iconv_name(const std::string& c) {
  if (c == "gb2312" || c == "gbk" || c == "cp936" || c == "x-gbk") return "GB18030";
  if (c == "ks_c_5601-1987" || c == "ks_c_5601") return "CP949";
  if (c == "x-sjis" || c == "shift-jis" || c == "sjis") return "SHIFT_JIS";
  if (c == "iso-8859-8-i") return "ISO-8859-8";
  if (c == "latin1" || c == "latin-1") return "ISO-8859-1";
  if (classify(c) == CharsetKind::ascii) return "ASCII";
  if (classify(c) == CharsetKind::utf8) return "UTF-8";
  return c;
}

// Strict conversion: nullopt if the charset is unknown or any character is invalid or unrepresentable.
std::optional<std::string> convert(const std::string& from, const std::string& to, std::string_view in) {
  iconv_t cd = iconv_open(to.c_str(), from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out;
  out.reserve(in.size() + in.size() / 2 + 16);
  char* inp = const_cast<char*>(in.data());
  std::size_t inleft = in.size();
  char buf[4096];
  bool ok = true, flushing = false;
  while (true) {
    char* outp = buf;
    std::size_t outleft = sizeof buf;
    std::size_t rc = flushing ? iconv(cd, nullptr, nullptr, &outp, &outleft) : iconv(cd, &inp, &inleft, &outp, &outleft);
    out.append(buf, static_cast<std::size_t>(outp - buf));
    if (rc == static_cast<std::size_t>(-1)) {
      if (errno == E2BIG) continue;
      ok = false;  // EILSEQ: invalid or unrepresentable; EINVAL: truncated sequence
      break;
    }
    if (rc != 0) {  // irreversible (approximated) conversions
      ok = false;
      break;
    }
    if (flushing) break;
    if (inleft == 0) flushing = true;  // then reset the shift state once
  }
  iconv_close(cd);
  if (!ok) return std::nullopt;
  return out;
}

// Non-ASCII characters as HTML numeric character references (HTML §13.1.4), so the fragment fits any
// ASCII-compatible charset.
std::string html_ascii(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size();) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    std::uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : len == 4 ? (c & 0x07) : 0xFFFD;
    for (std::size_t k = 1; k < len && i + k < utf8.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    out += "&#" + std::to_string(cp) + ";";
    i += len;
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// ---- the disclaimer, prepared once ------------------------------------------------------------------

// Lines without trailing white space (format=flowed, RFC 3676 §4.2, would join them otherwise), no
// leading or trailing empty lines, joined with LF.
std::string clean_lines(std::string_view in) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    std::size_t eol = in.find('\n', pos);
    if (eol == std::string_view::npos) eol = in.size();
    std::string line(in.substr(pos, eol - pos));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    lines.push_back(std::move(line));
    pos = eol + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;
  std::string out;
  for (std::size_t i = first; i < lines.size(); ++i) {
    if (i > first) out += '\n';
    out += lines[i];
  }
  return out;
}

// RFC 3676 §4.4: in format=flowed text a line starting with a space, ">" or "From " gets one more space.
std::string space_stuffed(std::string_view lf_text) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= lf_text.size()) {
    std::size_t eol = lf_text.find('\n', pos);
    if (eol == std::string_view::npos) eol = lf_text.size();
    std::string_view line = lf_text.substr(pos, eol - pos);
    if (pos) out += '\n';
    if (!line.empty() && (line[0] == ' ' || line[0] == '>' || line.substr(0, 5) == "From ")) out += ' ';
    out += line;
    pos = eol + 1;
  }
  return out;
}

std::string with_breaks(std::string_view lf_text, std::string_view nl) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') out += nl;
    else out += c;
  }
  return out;
}

// Text for "is it already there": quote markers at line starts dropped, white space runs as one space.
std::string normalise(std::string_view s) {
  std::string out;
  bool line_start = true, space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      line_start = true;
      space = true;
      continue;
    }
    if (line_start && (c == '>' || c == ' ' || c == '\t')) continue;
    line_start = false;
    if (c == ' ' || c == '\t' || static_cast<unsigned char>(c) == 0xA0) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The text of an HTML fragment: tags dropped, the common entities decoded (enough to find a disclaimer).
std::string html_text(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '<') {
      std::size_t end = h.find('>', i);
      if (end == std::string_view::npos) break;
      out += ' ';
      i = end;
      continue;
    }
    if (c == '&') {
      std::size_t semi = h.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        std::string ent = ascii_lower(h.substr(i + 1, semi - i - 1));
        std::uint32_t cp = 0;
        if (ent == "amp") cp = '&';
        else if (ent == "lt") cp = '<';
        else if (ent == "gt") cp = '>';
        else if (ent == "quot") cp = '"';
        else if (ent == "apos") cp = '\'';
        else if (ent == "nbsp") cp = ' ';
        else if (ent.size() > 1 && ent[0] == '#') {
          bool hex = ent[1] == 'x';
          try {
            cp = static_cast<std::uint32_t>(std::stoul(ent.substr(hex ? 2 : 1), nullptr, hex ? 16 : 10));
          } catch (...) {
            cp = 0;
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0;
        }
        if (cp) {
          append_utf8(out, static_cast<char32_t>(cp));
          i = semi;
          continue;
        }
      }
    }
    out += c;
  }
  return out;
}

// "C2 A0" (no-break space in UTF-8) as a plain space, for the comparison only.
std::string nbsp_to_space(std::string s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) {
      out += ' ';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Prepared {
  std::string text;       // LF lines, UTF-8
  std::string html;       // UTF-8 fragment, LF lines
  std::string text_key;   // normalised text, for the presence check
  std::string html_key;   // normalised text of the HTML fragment
};

Prepared prepare(const DisclaimerText& d) {
  Prepared p;
  p.text = clean_lines(d.text);
  if (!d.html.empty()) {
    p.html = clean_lines(d.html);
  } else {
    // RFC 3676-style signature look in HTML: the text escaped, one <br> per line.
    std::string body;
    std::size_t pos = 0;
    while (pos <= p.text.size()) {
      std::size_t eol = p.text.find('\n', pos);
      if (eol == std::string::npos) eol = p.text.size();
      if (pos) body += "<br>\n";
      body += html_escape(std::string_view(p.text).substr(pos, eol - pos));
      pos = eol + 1;
    }
    p.html = "<div class=\"tern-disclaimer\">\n" + body + "\n</div>";
  }
  p.text_key = normalise(p.text);
  p.html_key = normalise(nbsp_to_space(html_text(p.html)));
  return p;
}

// ---- the MIME tree ----------------------------------------------------------------------------------

bool signed_or_encrypted(const mime::ContentType& ct) {
  if (ct.type == "multipart") return ct.subtype == "signed" || ct.subtype == "encrypted";
  if (ct.type == "application")
    return ct.subtype == "pkcs7-mime" || ct.subtype == "x-pkcs7-mime" || ct.subtype == "pkcs7-signature" ||
           ct.subtype == "x-pkcs7-signature" || ct.subtype == "pgp-encrypted" || ct.subtype == "pgp-signature";
  return false;
}

bool is_attachment(const Part& p) {
  if (p.disposition.type == "attachment") return true;
  // A file attached "inline" with a name (Thunderbird does this for text files) is an attachment too.
  return mime::find_parameter(p.disposition.params, "filename") != nullptr ||
         mime::find_parameter(p.content_type.params, "name") != nullptr;
}

enum class Kind { plain, html };

struct Target {
  int index;
  Kind kind;
};

struct Search {
  std::vector<Target> targets;
  bool signed_found = false;
};

bool leaf(const Part& p) { return p.children.empty(); }

bool is_text(const Part& p, std::string_view subtype) {
  return leaf(p) && p.content_type.type == "text" && p.content_type.subtype == subtype;
}

// The body part(s) of the entity at `idx`; true once the search is over (found, or a signature).
bool find_body(const Message& m, int idx, Search& s, bool top) {
  const Part& p = m.parts[static_cast<std::size_t>(idx)];
  const auto& ct = p.content_type;
  if (signed_or_encrypted(ct)) {
    s.signed_found = true;
    return true;
  }
  if (!top && is_attachment(p)) return false;
  if (ct.type == "message") return false;  // an embedded message is someone else's text
  if (p.is_multipart()) {
    if (ct.subtype == "alternative") {
      // RFC 2046 §5.1.4: the last alternative is the preferred one; take the last of each kind.
      bool plain = false, html = false;
      for (auto it = p.children.rbegin(); it != p.children.rend(); ++it) {
        const Part& c = m.parts[static_cast<std::size_t>(*it)];
        if (signed_or_encrypted(c.content_type)) {
          s.signed_found = true;
          return true;
        }
        if (is_attachment(c)) continue;
        if (is_text(c, "plain")) {
          if (!plain) s.targets.push_back({*it, Kind::plain});
          plain = true;
        } else if (is_text(c, "html")) {
          if (!html) s.targets.push_back({*it, Kind::html});
          html = true;
        } else if (c.is_multipart()) {
          Search sub;
          find_body(m, *it, sub, false);
          if (sub.signed_found) {
            s.signed_found = true;
            return true;
          }
          for (const auto& t : sub.targets) {
            bool& taken = t.kind == Kind::plain ? plain : html;
            if (!taken) s.targets.push_back(t);
            taken = true;
          }
        }
      }
      return !s.targets.empty();
    }
    if (ct.subtype == "related") return find_body(m, p.children.front(), s, false);  // RFC 2387 §3.2: the root
    if (ct.subtype == "digest") return false;                                          // a list of messages
    // multipart/mixed, report and anything else: the first body part that is not an attachment.
    for (int child : p.children)
      if (find_body(m, child, s, false)) return true;
    return false;
  }
  if (ct.type == "multipart") return false;  // a multipart without usable boundary
  if (is_text(p, "plain")) {
    s.targets.push_back({idx, Kind::plain});
    return true;
  }
  if (is_text(p, "html")) {
    s.targets.push_back({idx, Kind::html});
    return true;
  }
  return false;
}

// ---- rewriting one part -----------------------------------------------------------------------------

struct Edit {
  std::size_t begin, end;
  std::string text;
  int order = 0;  // at one offset, header fields (0) go before a body (1)
};

bool token_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u > 32 && u < 127 && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// "; name=value" (RFC 2045 §5.1), RFC 2231 §4 for non-ASCII values.
std::string format_parameter(const mime::Parameter& p) {
  if (!p.value.empty() && std::all_of(p.value.begin(), p.value.end(), token_char)) return "; " + p.name + "=" + p.value;
  if (is_ascii(p.value)) {
    std::string q;
    for (char c : p.value) {
      if (c == '"' || c == '\\') q += '\\';
      if (c != '\r' && c != '\n') q += c;
    }
    return "; " + p.name + "=\"" + q + "\"";
  }
  static const char* hex = "0123456789ABCDEF";
  std::string v = "; " + p.name + "*=utf-8''";
  for (char c : p.value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 128 && std::isalnum(u)) v += c;
    else if (u < 128 && std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos) v += c;
    else {
      v += '%';
      v += hex[u >> 4];
      v += hex[u & 15];
    }
  }
  return v;
}

std::size_t count_headers(const Part& p, std::string_view name) {
  return static_cast<std::size_t>(
      std::count_if(p.headers.begin(), p.headers.end(), [&](const mime::Header& h) { return mime::iequals(h.name, name); }));
}

// Replaces the field `name` of part p (or adds it at the end of its header block).
void set_header(const Part& p, std::string_view name, const std::string& field, std::vector<Edit>& edits) {
  if (const mime::Header* h = p.header(name)) {
    edits.push_back({h->offset, h->offset + h->raw.size(), field, 0});
    return;
  }
  edits.push_back({p.header_end, p.header_end, field, 0});
}

bool has_long_line(std::string_view s, std::size_t max) {
  std::size_t len = 0;
  for (char c : s) {
    if (c == '\n') len = 0;
    else if (++len > max) return true;
  }
  return false;
}

std::size_t rfind_ci(std::string_view hay, std::string_view needle) {
  if (hay.size() < needle.size()) return std::string_view::npos;
  for (std::size_t i = hay.size() - needle.size() + 1; i-- > 0;)
    if (mime::iequals(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

enum class PartResult { changed, present, signed_pgp, failed };

struct PartRewrite {
  PartResult result = PartResult::failed;
  std::string detail;
  bool utf8 = false;
};

PartRewrite rewrite_part(const Message& m, const Part& p, Kind kind, const Prepared& d, std::vector<Edit>& edits) {
  PartRewrite r;
  if (count_headers(p, "content-type") > 1 || count_headers(p, "content-transfer-encoding") > 1) {
    r.detail = "part " + p.number + " has repeated Content-Type or Content-Transfer-Encoding fields";
    return r;
  }
  if (p.header("content-type") && !p.content_type.present) {
    r.detail = "part " + p.number + " has an invalid Content-Type";  // RFC 2045 §5.2 default; leave it be
    return r;
  }
  const std::string cte = ascii_lower(p.transfer_encoding);
  bool encoded = cte == "base64" || cte == "quoted-printable";
  if (!encoded && cte != "7bit" && cte != "8bit" && cte != "binary") {
    r.detail = "unknown Content-Transfer-Encoding " + cte;
    return r;
  }
  std::string_view raw = m.body(p);
  auto decoded = mime::decode_transfer_encoding(raw, cte);
  if (!decoded.clean) {
    r.detail = "the " + cte + " body of part " + p.number + " does not decode cleanly";
    return r;
  }
  std::string body = std::move(decoded.data);
  std::string charset = charset_label(p);
  CharsetKind ck = classify(charset);
  if (ck == CharsetKind::unsupported || (ck == CharsetKind::stateful && kind == Kind::html)) {
    r.detail = "charset " + charset + " of part " + p.number + " is not ASCII-compatible";
    return r;
  }
  if (ck == CharsetKind::stateful) {
    // Text in a stateful charset is searched and extended as UTF-8 (the part becomes UTF-8 below).
    auto body8 = convert(iconv_name(charset), "UTF-8", body);
    if (!body8) {
      r.detail = "part " + p.number + " is not valid " + charset;
      return r;
    }
    body = std::move(*body8);
    ck = CharsetKind::utf8;
    r.utf8 = true;
  }
  if (body.find("-----BEGIN PGP SIGNED MESSAGE-----") != std::string::npos ||
      body.find("-----BEGIN PGP MESSAGE-----") != std::string::npos) {
    r.result = PartResult::signed_pgp;
    return r;
  }
  // Already there (a reply quoting a stamped message, a message passing this server twice)?
  std::string as_utf8 = ck == CharsetKind::utf8 || ck == CharsetKind::ascii ? body : mime::to_utf8(charset, body).data;
  if (kind == Kind::plain) {
    if (!d.text_key.empty() && normalise(as_utf8).find(d.text_key) != std::string::npos) {
      r.result = PartResult::present;
      return r;
    }
  } else if (!d.html_key.empty() && normalise(nbsp_to_space(html_text(as_utf8))).find(d.html_key) != std::string::npos) {
    r.result = PartResult::present;
    return r;
  }

  const std::string nl = body.find("\r\n") != std::string::npos ? "\r\n" : body.find('\n') != std::string::npos ? "\n" : "\r\n";
  std::string new_charset = r.utf8 ? "utf-8" : "";  // set when the part becomes UTF-8
  std::string out;
  if (kind == Kind::plain) {
    const std::string* format = mime::find_parameter(p.content_type.params, "format");
    std::string add = with_breaks(format && mime::iequals(*format, "flowed") ? space_stuffed(d.text) : d.text, nl);
    std::string bytes;
    if (ck == CharsetKind::utf8 || (ck == CharsetKind::ascii && is_ascii(add))) {
      bytes = add;
    } else if (auto conv = convert("UTF-8", iconv_name(charset), add)) {
      bytes = std::move(*conv);
    } else {
      // The charset cannot hold the text: the whole part becomes UTF-8.
      auto body8 = convert(iconv_name(charset), "UTF-8", body);
      if (!body8) {
        r.detail = "part " + p.number + " is not valid " + charset + " and cannot be converted to UTF-8";
        return r;
      }
      body = std::move(*body8);
      bytes = add;
      new_charset = "utf-8";
    }
    bool ends_nl = !body.empty() && body.back() == '\n';
    out = body;
    if (!out.empty()) {
      if (!ends_nl) out += nl;
      out += nl;
    }
    out += bytes;
    if (ends_nl || body.empty()) out += nl;
  } else {
    std::string frag = with_breaks(ck == CharsetKind::utf8 ? d.html : html_ascii(d.html), nl);
    std::size_t at = rfind_ci(body, "</body");
    if (at != std::string::npos) {
      std::string before = body.substr(0, at);
      out = before;
      if (!before.empty() && before.back() != '\n') out += nl;
      out += frag + nl;
      out.append(body, at, std::string::npos);
    } else {
      bool ends_nl = !body.empty() && body.back() == '\n';
      out = body;
      if (!out.empty() && !ends_nl) out += nl;
      out += frag;
      if (ends_nl || body.empty()) out += nl;
    }
  }

  // Re-encode with the part's own encoding; 7bit/8bit only while the content still fits it (RFC 2045 §2.7,
  // §2.8: 7bit has no octets over 127, neither has lines over 998 octets).
  std::string new_cte;
  std::string encoded_body;
  bool raw_ends_nl = !raw.empty() && raw.back() == '\n';
  if (cte == "base64") {
    encoded_body = mime::encode_base64(out);
  } else if (cte == "quoted-printable") {
    encoded_body = mime::encode_quoted_printable(out);
  } else if ((cte == "7bit" && !is_ascii(out)) || (cte != "binary" && has_long_line(out, 998))) {
    new_cte = "quoted-printable";
    encoded_body = mime::encode_quoted_printable(out);
  } else {
    encoded_body = out;
  }
  if (encoded) {
    // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1): keep the original's end.
    while (!raw_ends_nl && !encoded_body.empty() && (encoded_body.back() == '\n' || encoded_body.back() == '\r'))
      encoded_body.pop_back();
    if (raw_ends_nl && (encoded_body.empty() || encoded_body.back() != '\n')) encoded_body += "\r\n";
  } else if (!new_cte.empty()) {
    if (raw_ends_nl && (encoded_body.empty() || encoded_body.back() != '\n')) encoded_body += "\r\n";
  }

  bool headers_change = !new_charset.empty() || !new_cte.empty();
  r.utf8 = false;
  if (!new_charset.empty()) {
    std::string field = "Content-Type: " + p.content_type.mime_type();
    for (const auto& prm : p.content_type.params)
      if (prm.name != "charset") field += format_parameter(prm);
    field += "; charset=" + new_charset + "\r\n";
    set_header(p, "content-type", field, edits);
    r.utf8 = true;
  }
  if (!new_cte.empty()) set_header(p, "content-transfer-encoding", "Content-Transfer-Encoding: " + new_cte + "\r\n", edits);
  if (headers_change && p.is_message && !p.header("mime-version"))
    set_header(p, "mime-version", "MIME-Version: 1.0\r\n", edits);
  std::string body_edit = std::move(encoded_body);
  if (p.body_start == p.header_end) body_edit = "\r\n" + body_edit;  // no empty line after the header block
  edits.push_back({p.body_start, p.body_end, std::move(body_edit), 1});
  r.result = PartResult::changed;
  return r;
}

bool fatal_defect(mime::DefectKind k) {
  switch (k) {
    case mime::DefectKind::header_count_limit:
    case mime::DefectKind::header_line_too_long:
    case mime::DefectKind::depth_limit:
    case mime::DefectKind::part_count_limit:
    case mime::DefectKind::multiple_content_type:
    case mime::DefectKind::nul_in_header:
      return true;
    default:
      return false;
  }
}

}  // namespace

DisclaimerOutcome add_disclaimer(std::string_view message, std::string_view domain, const DisclaimerText& disclaimer,
                                 const DisclaimerOptions& options) {
  DisclaimerOutcome out;
  if (message.size() > options.max_message_size) {
    out.result = DisclaimerResult::too_large;
    out.detail = std::to_string(message.size()) + " bytes, more than max_message_size " +
                 std::to_string(options.max_message_size);
    return out;
  }
  Prepared d = prepare(disclaimer);
  if (d.text.empty() && d.html_key.empty()) {
    out.result = DisclaimerResult::no_text_part;
    out.detail = "the disclaimer is empty";
    return out;
  }
  Message m = mime::parse(message, options.parse);
  std::string completed;
  if (!m.parts.empty() && m.root().header_end == message.size()) {
    // Header fields only: complete the message with the empty line (RFC 5322 §2.1) so a body can follow.
    completed.assign(message);
    if (completed.empty() || completed.back() != '\n') completed += "\r\n";
    completed += "\r\n";
    message = completed;
    m = mime::parse(message, options.parse);
  }
  if (m.parts.empty()) {
    out.result = DisclaimerResult::unsupported;
    out.detail = "no message";
    return out;
  }
  for (const auto& def : m.defects)
    if (fatal_defect(def.kind)) {
      out.result = DisclaimerResult::unsupported;
      out.detail = "the message has a " + std::string(mime::to_string(def.kind)) + " defect at offset " +
                   std::to_string(def.offset);
      return out;
    }
  const Part& root = m.root();
  if (root.header(kDisclaimerHeader)) {
    out.result = DisclaimerResult::already_present;
    out.detail = "the message carries " + std::string(kDisclaimerHeader);
    return out;
  }
  if (root.header("dkim-signature")) {
    // Signed before it reached us (a host application, or a forwarded message): the body hash (RFC 6376
    // §3.7) would no longer match, so the signer's DMARC alignment would be lost.
    out.result = DisclaimerResult::signed_or_encrypted;
    out.detail = "the message already carries a DKIM-Signature";
    return out;
  }
  Search search;
  find_body(m, 0, search, true);
  if (search.signed_found) {
    out.result = DisclaimerResult::signed_or_encrypted;
    out.detail = "a signed or encrypted body (RFC 1847) would no longer verify";
    return out;
  }
  if (search.targets.empty()) {
    out.result = DisclaimerResult::no_text_part;
    out.detail = "no text/plain or text/html body part";
    return out;
  }
  std::sort(search.targets.begin(), search.targets.end(), [](const Target& a, const Target& b) { return a.index < b.index; });

  std::vector<Edit> edits;
  std::size_t present = 0;
  for (const auto& t : search.targets) {
    const Part& p = m.parts[static_cast<std::size_t>(t.index)];
    if (t.kind == Kind::plain && d.text.empty()) continue;
    auto pr = rewrite_part(m, p, t.kind, d, edits);
    if (pr.result == PartResult::failed || pr.result == PartResult::signed_pgp) {
      out.parts.clear();
      out.converted_to_utf8 = false;
    }
    if (pr.result == PartResult::failed) {
      out.result = DisclaimerResult::unsupported;
      out.detail = pr.detail;
      return out;
    }
    if (pr.result == PartResult::signed_pgp) {
      out.result = DisclaimerResult::signed_or_encrypted;
      out.detail = "inline PGP in part " + (p.number.empty() ? std::string("1") : p.number);
      return out;
    }
    if (pr.result == PartResult::present) {
      ++present;
      continue;
    }
    out.parts.push_back(p.number.empty() ? "1" : p.number);
    out.converted_to_utf8 = out.converted_to_utf8 || pr.utf8;
  }
  if (out.parts.empty()) {
    out.result = present ? DisclaimerResult::already_present : DisclaimerResult::no_text_part;
    out.detail = present ? "the body already contains the disclaimer" : "no part takes the disclaimer";
    return out;
  }
  // The marker, at the end of the top-level header block (RFC 5322 §3.6.8 optional field).
  edits.push_back({root.header_end, root.header_end, std::string(kDisclaimerHeader) + ": " + ascii_lower(domain) + "\r\n", 0});
  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.begin != b.begin ? a.begin < b.begin : a.order < b.order; });

  std::string result;
  std::size_t grow = 0;
  for (const auto& e : edits) grow += e.text.size();
  result.reserve(message.size() + grow);
  std::size_t pos = 0;
  for (const auto& e : edits) {
    if (e.begin < pos || e.end < e.begin || e.end > message.size()) {
      out.result = DisclaimerResult::unsupported;
      out.detail = "overlapping edits";
      out.parts.clear();
      out.converted_to_utf8 = false;
      return out;
    }
    result.append(message.substr(pos, e.begin - pos));
    result += e.text;
    pos = e.end;
  }
  result.append(message.substr(pos));
  // The tree must be the one we started from (a disclaimer line equal to a boundary delimiter, say, would
  // split a part): same parts with the same types, no new structural defect. Otherwise: unchanged.
  Message check = mime::parse(result, options.parse);
  bool same = check.parts.size() == m.parts.size();
  for (std::size_t i = 0; same && i < m.parts.size(); ++i)
    same = check.parts[i].content_type.mime_type() == m.parts[i].content_type.mime_type() &&
           check.parts[i].number == m.parts[i].number;
  for (const auto& def : check.defects) same = same && !fatal_defect(def.kind);
  if (!same || !check.root().header(kDisclaimerHeader)) {
    out.result = DisclaimerResult::unsupported;
    out.detail = "the rewritten message would not have the original's MIME structure";
    out.parts.clear();
    out.converted_to_utf8 = false;
    return out;
  }
  out.result = DisclaimerResult::added;
  out.message = std::move(result);
  return out;
}

}  // namespace tern::mailauth
