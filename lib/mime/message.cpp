// The MIME tree parser (RFC 5322 §2-3, RFC 2045, RFC 2046 §5, RFC 2231).
#include "tern/mime/message.hpp"

#include "comment.hpp"

#include <algorithm>
#include <map>

#include "tern/mime/codec.hpp"

namespace tern::mime {

std::string_view to_string(DefectKind k) noexcept {
  switch (k) {
    case DefectKind::header_count_limit: return "header_count_limit";
    case DefectKind::header_line_too_long: return "header_line_too_long";
    case DefectKind::depth_limit: return "depth_limit";
    case DefectKind::part_count_limit: return "part_count_limit";
    case DefectKind::first_line_is_continuation: return "first_line_is_continuation";
    case DefectKind::missing_header_body_separator: return "missing_header_body_separator";
    case DefectKind::invalid_header_name: return "invalid_header_name";
    case DefectKind::nul_in_header: return "nul_in_header";
    case DefectKind::bare_cr: return "bare_cr";
    case DefectKind::invalid_content_type: return "invalid_content_type";
    case DefectKind::multiple_content_type: return "multiple_content_type";
    case DefectKind::invalid_parameter: return "invalid_parameter";
    case DefectKind::no_boundary_in_multipart: return "no_boundary_in_multipart";
    case DefectKind::start_boundary_not_found: return "start_boundary_not_found";
    case DefectKind::close_boundary_not_found: return "close_boundary_not_found";
    case DefectKind::invalid_transfer_encoding: return "invalid_transfer_encoding";
    case DefectKind::invalid_base64: return "invalid_base64";
    case DefectKind::invalid_quoted_printable: return "invalid_quoted_printable";
    case DefectKind::non_ascii_header: return "non_ascii_header";
  }
  return "unknown";
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 2045 §5.1 tspecials and token characters.
bool is_token_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= 32 || u >= 127) return u >= 128;  // 8-bit tolerated (RFC 6532)
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// Skips white space, line breaks and (nested) comments (RFC 5322 §3.2.2).
void skip_cfws(std::string_view s, std::size_t& i) {
  while (i < s.size()) {
    char c = s[i];
    if (is_wsp(c) || c == '\r' || c == '\n') { ++i; continue; }
    if (c == '(') {
      detail::skip_comment(s, i);
      continue;
    }
    break;
  }
}

std::string read_token(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  return std::string(s.substr(start, i - start));
}

// A quoted-string starting at s[i] == '"'; unterminated strings end at the end of the input.
std::string read_quoted(std::string_view s, std::size_t& i) {
  std::string out;
  ++i;
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\' && i + 1 < s.size()) { out += s[i + 1]; i += 2; continue; }
    if (s[i] == '\r' || s[i] == '\n') { ++i; continue; }  // unfolding inside the quoted string
    out += s[i++];
  }
  if (i < s.size()) ++i;
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size()) {
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h >= 0 && l >= 0) { out += static_cast<char>(h * 16 + l); i += 2; continue; }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::string Header::unfolded() const {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    if (c == '\n') continue;
    out += c;
  }
  return out;
}

const std::string* find_parameter(const Parameters& params, std::string_view name) {
  for (const auto& p : params)
    if (iequals(p.name, name)) return &p.value;
  return nullptr;
}

Parameters parse_parameters(std::string_view list, std::vector<Defect>* defects, std::size_t offset) {
  struct Section {
    std::string value;
    bool extended = false;
  };
  struct Pending {
    std::map<int, Section> sections;
    std::string charset, language;
    std::size_t order = 0;
  };
  Parameters simple;
  std::map<std::string, Pending> continued;
  std::size_t order = 0;
  std::size_t i = 0;
  auto defect = [&] {
    if (defects) defects->push_back({DefectKind::invalid_parameter, offset});
  };
  std::size_t guard = 0;
  while (i < list.size() && ++guard < 10000) {
    skip_cfws(list, i);
    if (i >= list.size()) break;
    if (list[i] == ';') { ++i; continue; }
    std::string name = lower(read_token(list, i));
    skip_cfws(list, i);
    if (name.empty() || i >= list.size() || list[i] != '=') {
      if (!name.empty() || (i < list.size() && list[i] != ';')) defect();
      // Skip to the next ';'.
      while (i < list.size() && list[i] != ';') {
        if (list[i] == '"') read_quoted(list, i);
        else ++i;
      }
      continue;
    }
    ++i;
    skip_cfws(list, i);
    std::string value;
    bool quoted = false;
    if (i < list.size() && list[i] == '"') {
      value = read_quoted(list, i);
      quoted = true;
    } else {
      std::size_t start = i;
      while (i < list.size() && is_token_char(list[i])) ++i;
      std::size_t token_end = i;
      skip_cfws(list, i);
      if (i < list.size() && list[i] != ';') {
        // Tolerant: anything up to ';' for sloppy writers (e.g. unquoted "a b.pdf").
        defect();
        while (i < list.size() && list[i] != ';') ++i;
        token_end = i;
      }
      std::string_view raw = list.substr(start, token_end - start);
      while (!raw.empty() && (is_wsp(raw.back()) || raw.back() == '\r' || raw.back() == '\n')) raw.remove_suffix(1);
      value = std::string(raw);
    }
    // RFC 2231 §3-4: name*N, name*N*, name*.
    std::size_t star = name.find('*');
    if (star == std::string::npos) {
      bool dup = false;
      for (auto& p : simple) dup = dup || p.name == name;
      if (dup) { defect(); continue; }
      (void)quoted;
      value = decode_encoded_words(value);
      simple.push_back({name, value, {}, {}});
      ++order;
      continue;
    }
    std::string base = name.substr(0, star);
    std::string_view rest = std::string_view(name).substr(star + 1);
    bool extended = false;
    int section = 0;
    if (rest.empty()) {
      extended = true;
    } else {
      std::size_t k = 0;
      int num = 0;
      while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9' && num < 1000) num = num * 10 + (rest[k++] - '0');
      if (k == 0) { defect(); continue; }
      section = num;
      if (k < rest.size()) {
        if (rest.substr(k) != "*") { defect(); continue; }
        extended = true;
      }
    }
    auto& pend = continued[base];
    if (pend.sections.empty()) pend.order = order++;
    if (pend.sections.count(section)) { defect(); continue; }
    if (pend.sections.size() >= 1000) { defect(); continue; }
    if (extended && section == 0) {
      // charset'language'value (RFC 2231 §4).
      std::size_t q1 = value.find('\'');
      std::size_t q2 = q1 == std::string::npos ? std::string::npos : value.find('\'', q1 + 1);
      if (q2 != std::string::npos) {
        pend.charset = lower(value.substr(0, q1));
        pend.language = value.substr(q1 + 1, q2 - q1 - 1);
        value = value.substr(q2 + 1);
      } else {
        defect();
      }
    }
    pend.sections[section] = Section{value, extended};
  }
  // Join the continuations in section order and convert their charset.
  Parameters out = simple;
  std::vector<std::pair<std::size_t, Parameter>> joined;
  for (auto& [base, pend] : continued) {
    std::string bytes;
    int expect = 0;
    for (auto& [num, sec] : pend.sections) {
      if (num != expect) { defect(); break; }
      ++expect;
      bytes += sec.extended ? percent_decode(sec.value) : sec.value;
    }
    std::string value = pend.charset.empty() ? decode_encoded_words(bytes) : to_utf8(pend.charset, bytes).data;
    Parameter p{base, value, pend.charset, pend.language};
    // A continued form overrides a plain one of the same name (RFC 2231 is the newer syntax).
    bool replaced = false;
    for (auto& q : out)
      if (q.name == base) { q = p; replaced = true; }
    if (!replaced) out.push_back(p);
  }
  return out;
}

bool parse_content_type(std::string_view value, ContentType& out, std::vector<Defect>* defects, std::size_t offset) {
  std::size_t i = 0;
  skip_cfws(value, i);
  std::string type = lower(read_token(value, i));
  skip_cfws(value, i);
  bool ok = !type.empty() && i < value.size() && value[i] == '/';
  std::string subtype;
  if (ok) {
    ++i;
    skip_cfws(value, i);
    subtype = lower(read_token(value, i));
    ok = !subtype.empty();
  }
  if (!ok) {
    if (defects) defects->push_back({DefectKind::invalid_content_type, offset});
    out = ContentType{};
    // RFC 2045 §5.2: keep a charset even from a broken field.
    std::size_t semi = value.find(';');
    if (semi != std::string_view::npos) {
      Parameters ps = parse_parameters(value.substr(semi), nullptr, offset);
      if (auto* cs = find_parameter(ps, "charset")) out.params.push_back({"charset", *cs, {}, {}});
    }
    return false;
  }
  out.type = type;
  out.subtype = subtype;
  out.present = true;
  skip_cfws(value, i);
  out.params = parse_parameters(value.substr(i), defects, offset);
  return true;
}

bool parse_content_disposition(std::string_view value, ContentDisposition& out, std::vector<Defect>* defects,
                               std::size_t offset) {
  std::size_t i = 0;
  skip_cfws(value, i);
  out.type = lower(read_token(value, i));
  skip_cfws(value, i);
  out.params = parse_parameters(value.substr(i), defects, offset);
  return !out.type.empty();
}

const Header* Part::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

const Part* Message::find(std::string_view number) const {
  for (const auto& p : parts)
    if (p.number == number && !(p.is_message && p.parent >= 0)) return &p;
  // RFC 9051 §6.4.5: the body of a non-multipart message inside message/rfc822 part N is N.1.
  if (number.size() > 2 && number.substr(number.size() - 2) == ".1") {
    const Part* outer = find(number.substr(0, number.size() - 2));
    if (outer && outer->children.size() == 1) {
      const Part& inner = parts[static_cast<std::size_t>(outer->children[0])];
      if (inner.is_message && !inner.is_multipart()) return &inner;
    }
  }
  return nullptr;
}

namespace {

struct Parser {
  std::string_view src;
  const ParseLimits& limits;
  Message& msg;
  bool part_limit_reported = false;

  void defect(DefectKind k, std::size_t off) {
    if (msg.defects.size() < 10000) msg.defects.push_back({k, off});
  }

  // End of the line starting at i (offset after its LF, or end).
  std::size_t line_end(std::size_t i, std::size_t end) const {
    auto p = src.find('\n', i);
    if (p == std::string_view::npos || p >= end) return end;
    return p + 1;
  }

  static std::size_t count_lines(std::string_view s) {
    std::size_t n = static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
    if (!s.empty() && s.back() != '\n') ++n;
    return n;
  }

  // Header block of the entity at [start, end): fills headers and header/body offsets.
  void parse_headers(Part& part, std::size_t start, std::size_t end) {
    part.header_start = start;
    std::size_t i = start;
    bool first = true;
    bool limit_hit = false;
    while (i < end) {
      std::size_t le = line_end(i, end);
      std::string_view line = src.substr(i, le - i);
      std::string_view content = line;
      if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
      if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
      if (content.empty()) {  // the empty line separating header and body
        part.header_end = i;
        part.body_start = le;
        return;
      }
      if (is_wsp(line[0])) {
        if (first) defect(DefectKind::first_line_is_continuation, i);
        // Continuation of a field whose start was ignored; it belongs to nothing.
        i = le;
        first = false;
        continue;
      }
      first = false;
      std::size_t colon = content.find(':');
      std::string_view name = colon == std::string_view::npos ? std::string_view{} : content.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // obs-optional (RFC 5322 §4.5)
      bool valid_name = !name.empty();
      for (char c : name)
        if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126 || c == ':') valid_name = false;
      if (colon == std::string_view::npos || !valid_name) {
        if (line.substr(0, 5) == "From " && i == start) {  // mbox separator line
          i = le;
          continue;
        }
        // Not a header: the body starts here (as Python's email and most clients do).
        defect(DefectKind::missing_header_body_separator, i);
        part.header_end = i;
        part.body_start = i;
        return;
      }
      // Gather continuation lines.
      std::size_t field_end = le;
      while (field_end < end && is_wsp(src[field_end])) {
        std::size_t next = line_end(field_end, end);
        std::string_view l = src.substr(field_end, next - field_end);
        // A white-space-only line is still a continuation (obs-FWS); an empty one is not.
        field_end = next;
        (void)l;
      }
      std::string_view raw = src.substr(i, field_end - i);
      if (raw.size() > limits.max_header_line) defect(DefectKind::header_line_too_long, i);
      if (raw.find('\0') != std::string_view::npos) defect(DefectKind::nul_in_header, i);
      std::string_view value = raw.substr(colon + 1);
      if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
      if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
      if (value.size() > limits.max_header_line) value = value.substr(0, limits.max_header_line);
      if (part.headers.size() >= limits.max_headers) {
        if (!limit_hit) defect(DefectKind::header_count_limit, i);
        limit_hit = true;
      } else {
        part.headers.push_back(Header{name, value, raw, i});
      }
      i = field_end;
    }
    // No empty line: everything is header, the body is empty.
    part.header_end = end;
    part.body_start = end;
  }

  bool is_delimiter(std::string_view line, std::string_view boundary, bool& close) const {
    // RFC 2046 §5.1.1: "--" boundary, optional "--", then transport padding.
    if (line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-') return false;
    if (line.substr(2, boundary.size()) != boundary) return false;
    std::string_view rest = line.substr(2 + boundary.size());
    close = rest.substr(0, 2) == "--";
    if (close) rest.remove_prefix(2);
    for (char c : rest)
      if (!is_wsp(c) && c != '\r' && c != '\n') return false;
    return true;
  }

  void interpret(Part& part) {
    bool seen_ct = false, seen_cte = false, seen_cd = false;
    for (const auto& h : part.headers) {
      if (iequals(h.name, "Content-Type")) {
        if (seen_ct) { defect(DefectKind::multiple_content_type, h.offset); continue; }
        seen_ct = true;
        std::string v = h.unfolded();
        ContentType ct;
        parse_content_type(v, ct, &msg.defects, h.offset);
        part.content_type = ct;
      } else if (iequals(h.name, "Content-Transfer-Encoding") && !seen_cte) {
        seen_cte = true;
        std::string v = h.unfolded();
        std::size_t i = 0;
        skip_cfws(v, i);
        std::string enc = lower(read_token(v, i));
        if (enc == "7bit" || enc == "8bit" || enc == "binary" || enc == "base64" || enc == "quoted-printable") {
          part.transfer_encoding = enc;
        } else {
          defect(DefectKind::invalid_transfer_encoding, h.offset);
          if (!enc.empty()) part.transfer_encoding = enc;
        }
      } else if (iequals(h.name, "Content-Disposition") && !seen_cd) {
        seen_cd = true;
        parse_content_disposition(h.unfolded(), part.disposition, &msg.defects, h.offset);
      }
    }
  }

  // Parses the entity at [start, end) into msg.parts[index] and its children.
  void parse_entity(int index, std::size_t start, std::size_t end, std::size_t depth, bool digest_child) {
    {
      Part& part = msg.parts[index];
      part.depth = depth;
      if (digest_child) { part.content_type.type = "message"; part.content_type.subtype = "rfc822"; }
      parse_headers(part, start, end);
      part.body_end = end;
      if (part.body_start > end) part.body_start = end;
      interpret(part);
      part.header_lines = count_lines(src.substr(part.header_start, part.body_start - part.header_start));
      part.body_lines = count_lines(src.substr(part.body_start, part.body_end - part.body_start));
    }
    const std::string type = msg.parts[index].content_type.type;
    const std::string subtype = msg.parts[index].content_type.subtype;
    const std::string cte = msg.parts[index].transfer_encoding;
    if (type == "multipart") {
      parse_multipart(index, depth);
    } else if (type == "message" && (subtype == "rfc822" || subtype == "global") &&
               (cte == "7bit" || cte == "8bit" || cte == "binary")) {
      if (depth + 1 > limits.max_depth) { defect(DefectKind::depth_limit, msg.parts[index].body_start); return; }
      int child = new_part(index, msg.parts[index].body_start);
      if (child < 0) return;
      msg.parts[child].is_message = true;
      msg.parts[child].number = msg.parts[index].number;
      std::size_t bs = msg.parts[index].body_start, be = msg.parts[index].body_end;
      parse_entity(child, bs, be, depth + 1, false);
    }
  }

  int new_part(int parent, std::size_t offset) {
    if (msg.parts.size() >= limits.max_parts) {
      if (!part_limit_reported) defect(DefectKind::part_count_limit, offset);
      part_limit_reported = true;
      return -1;
    }
    msg.parts.emplace_back();
    int idx = static_cast<int>(msg.parts.size() - 1);
    msg.parts[idx].parent = parent;
    msg.parts[parent].children.push_back(idx);
    return idx;
  }

  void parse_multipart(int index, std::size_t depth) {
    const Part& part = msg.parts[index];
    const std::string* b = find_parameter(part.content_type.params, "boundary");
    if (!b || b->empty() || b->size() > 200) {
      defect(DefectKind::no_boundary_in_multipart, part.header_start);
      return;
    }
    if (depth + 1 > limits.max_depth) { defect(DefectKind::depth_limit, part.body_start); return; }
    std::string boundary = *b;
    bool digest = part.content_type.subtype == "digest";
    std::size_t body_start = part.body_start, body_end = part.body_end;
    // Collect the delimiter lines: [line start, line end, close?].
    struct Delim { std::size_t begin, end; bool close; };
    std::vector<Delim> delims;
    std::size_t i = body_start;
    bool closed = false;
    while (i < body_end) {
      std::size_t le = line_end(i, body_end);
      bool close = false;
      if (src[i] == '-' && is_delimiter(src.substr(i, le - i), boundary, close)) {
        delims.push_back({i, le, close});
        if (close) { closed = true; break; }
      }
      i = le;
    }
    if (delims.empty() || (delims.size() == 1 && delims[0].close)) {
      defect(DefectKind::start_boundary_not_found, body_start);
      return;
    }
    if (!closed) defect(DefectKind::close_boundary_not_found, body_end);
    // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    auto before = [&](std::size_t pos, std::size_t floor) {
      if (pos > floor && src[pos - 1] == '\n') {
        --pos;
        if (pos > floor && src[pos - 1] == '\r') --pos;
      }
      return pos;
    };
    msg.parts[index].preamble_end = before(delims[0].begin, body_start);
    msg.parts[index].epilogue_start = closed ? delims.back().end : body_end;
    const std::string prefix = msg.parts[index].number.empty() ? "" : msg.parts[index].number + ".";
    int n = 0;
    for (std::size_t k = 0; k < delims.size(); ++k) {
      if (delims[k].close) break;
      std::size_t s = delims[k].end;
      std::size_t e = k + 1 < delims.size() ? before(delims[k + 1].begin, s) : body_end;
      int child = new_part(index, s);
      if (child < 0) break;
      msg.parts[child].number = prefix + std::to_string(++n);
      parse_entity(child, s, e, depth + 1, digest);
    }
  }
};

}  // namespace

Message parse(std::string_view message, const ParseLimits& limits) {
  Message msg;
  msg.source = message;
  msg.parts.reserve(16);
  msg.parts.emplace_back();
  msg.parts[0].is_message = true;
  Parser p{message, limits, msg};
  // Bare CR and 8-bit header bytes are only reported once, at their first offset.
  if (auto cr = message.find('\r'); cr != std::string_view::npos) {
    for (std::size_t i = cr; i < message.size(); ++i)
      if (message[i] == '\r' && (i + 1 == message.size() || message[i + 1] != '\n')) {
        p.defect(DefectKind::bare_cr, i);
        break;
      }
  }
  p.parse_entity(0, 0, message.size(), 0, false);
  // IMAP numbering (RFC 9051 §6.4.5): a non-multipart top level is part "1".
  if (!msg.parts[0].is_multipart()) msg.parts[0].number = "1";
  for (auto& part : msg.parts) {
    for (const auto& h : part.headers) {
      bool high = false;
      for (char c : h.raw) high = high || static_cast<unsigned char>(c) >= 0x80;
      if (high) { p.defect(DefectKind::non_ascii_header, h.offset); break; }
    }
  }
  std::stable_sort(msg.defects.begin(), msg.defects.end(),
                   [](const Defect& a, const Defect& b) { return a.offset < b.offset; });
  return msg;
}

namespace {

void write_part(const Message& m, const Part& p, std::string& out, std::size_t& pos) {
  // Header fields from their views, then everything up to the first child from the source.
  std::string_view src = m.source;
  std::size_t hs = p.header_start;
  if (hs > pos) { out.append(src.substr(pos, hs - pos)); pos = hs; }
  for (const auto& h : p.headers) {
    std::size_t off = h.offset;
    if (off > pos) out.append(src.substr(pos, off - pos));
    out.append(h.raw);
    pos = off + h.raw.size();
  }
  for (int c : p.children) write_part(m, m.parts[static_cast<std::size_t>(c)], out, pos);
  if (p.body_end > pos) { out.append(src.substr(pos, p.body_end - pos)); pos = p.body_end; }
}

}  // namespace

std::string serialize(const Message& m) {
  std::string out;
  out.reserve(m.source.size());
  std::size_t pos = 0;
  if (!m.parts.empty()) write_part(m, m.parts.front(), out, pos);
  if (pos < m.source.size()) out.append(m.source.substr(pos));
  return out;
}

}  // namespace tern::mime
