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
    case DefectKind::broken_header_line: return "broken_header_line";
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
  if (m.source.size() < m.size) return out;
  out.reserve(m.source.size());
  std::size_t pos = 0;
  if (!m.parts.empty()) write_part(m, m.parts.front(), out, pos);
  if (pos < m.source.size()) out.append(m.source.substr(pos));
  return out;
}

}  // namespace tern::mime
