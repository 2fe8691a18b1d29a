// FETCH BODY[section] / BINARY[section] extraction (RFC 9051 §6.4.5, RFC 3516).
#include "tern/imap/section.hpp"

#include <algorithm>

#include "tern/mime/codec.hpp"

namespace tern::imap {
namespace {

struct Target {
  const mime::Part* part = nullptr;  // the addressed node; nullptr: no such part
  // The addressed node is a non-multipart message standing for its own part "1" (RFC 9051 §6.4.5:
  // "Every message has at least one part number"): its body is the part's content.
  bool message_as_body = false;
};

const mime::Part& at(const mime::Message& m, int i) { return m.parts[static_cast<std::size_t>(i)]; }

// A message/rfc822 (message/global) body part's embedded message, or nullptr.
const mime::Part* embedded_message(const mime::Message& m, const mime::Part& p) {
  if (p.is_message || p.children.size() != 1) return nullptr;
  const mime::Part& c = at(m, p.children[0]);
  return c.is_message ? &c : nullptr;
}

// The message embedded in the message/rfc822 body of a non-multipart message (the message standing for
// its own part "1"), or nullptr.
const mime::Part* embedded_in_body(const mime::Message& m, const mime::Part& msg) {
  if (!msg.is_message || msg.is_multipart() || msg.children.size() != 1) return nullptr;
  const mime::Part& c = at(m, msg.children[0]);
  return c.is_message ? &c : nullptr;
}

// RFC 9051 §6.4.5 numbering: the parts of a message are the children of its multipart body, or its
// non-multipart body as part 1; the parts of a message/rfc822 part (including a message's own body when
// that is message/rfc822) are those of the message it holds.
Target resolve(const mime::Message& m, const std::vector<std::uint32_t>& path) {
  Target t;
  if (m.parts.empty()) return t;
  const mime::Part* cur = &m.parts[0];
  bool at_message = true;  // cur is a message whose parts the next number selects
  for (std::uint32_t k : path) {
    if (k == 0) return {};
    if (!at_message) {  // cur is a body part
      if (t.message_as_body) {
        const mime::Part* e = embedded_in_body(m, *cur);
        if (!e) return {};  // the body of a non-multipart message has no subparts (unless message/rfc822)
        cur = e;
      } else if (cur->is_multipart()) {
        if (k > cur->children.size()) return {};
        cur = &at(m, cur->children[k - 1]);
        continue;
      } else if (const mime::Part* e = embedded_message(m, *cur)) {
        cur = e;
      } else {
        // A leaf body part has no subparts, but like Dovecot its ".1" is the leaf itself (BODY[1.1] of a
        // text/plain part 1 is part 1's body).
        if (k != 1) return {};
        continue;
      }
    }
    // cur is a message
    if (cur->is_multipart()) {
      if (k > cur->children.size()) return {};
      cur = &at(m, cur->children[k - 1]);
      t.message_as_body = false;
    } else {
      if (k != 1) return {};
      t.message_as_body = true;
    }
    at_message = false;
  }
  t.part = cur;
  return t;
}

std::string_view slice(const mime::Message& m, std::size_t a, std::size_t b) {
  if (a > m.source.size() || b < a) return {};
  return m.source.substr(a, std::min(b, m.source.size()) - a);
}

// The header block with its terminating empty line (added when the message has none).
std::string header_with_blank_line(const mime::Message& m, const mime::Part& p) {
  std::string out(slice(m, p.header_start, p.body_start));
  if (out.empty()) return "\r\n";  // no header fields at all: just the blank line
  bool blank = (out.size() >= 2 && out.compare(out.size() - 2, 2, "\n\n") == 0) ||
               (out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0) || out == "\r\n" || out == "\n";
  if (!blank) {
    if (!out.empty() && out.back() != '\n') out += "\r\n";
    out += "\r\n";
  }
  return out;
}

bool listed(const std::vector<std::string>& names, std::string_view name) {
  for (const auto& n : names)
    if (mime::iequals(n, name)) return true;
  return false;
}

// The fields of a header block as written: each line with its continuation lines; the name is what
// precedes the first colon, white space trimmed. Lines the message parser set aside as malformed
// ("From " mbox lines, names with spaces) are kept as fields here, as Dovecot does, so that
// HEADER.FIELDS.NOT returns every line it does not exclude.
std::string header_fields(std::string_view block, const std::vector<std::string>& names, bool exclude) {
  std::string out;
  std::size_t i = 0;
  while (i < block.size()) {
    std::size_t end = i;
    do {  // the field runs until a line that does not start with white space
      std::size_t nl = block.find('\n', end);
      end = nl == std::string_view::npos ? block.size() : nl + 1;
    } while (end < block.size() && (block[end] == ' ' || block[end] == '\t'));
    std::string_view field = block.substr(i, end - i);
    i = end;
    if (field == "\r\n" || field == "\n") break;  // the empty line ending the header
    std::size_t colon = field.find(':');
    std::string_view name = field.substr(0, colon == std::string_view::npos ? field.size() : colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (colon == std::string_view::npos) {  // a line without a colon: never asked for, kept by .NOT
      if (!exclude) continue;
    } else if (listed(names, name) == exclude) {
      continue;
    }
    out.append(field);
    if (field.back() != '\n') out += "\r\n";
  }
  out += "\r\n";  // RFC 9051 §6.4.5: the blank line is included
  return out;
}

bool known_cte(std::string_view cte) {
  return cte == "7bit" || cte == "8bit" || cte == "binary" || cte == "base64" || cte == "quoted-printable";
}

}  // namespace

bool transfer_encoding_known(const mime::Part& p) {
  if (!known_cte(p.transfer_encoding)) return false;
  const mime::Header* h = p.header("Content-Transfer-Encoding");
  if (!h) return true;
  // The first token of the value (RFC 2045 §6.1 mechanism; what follows it, such as ";", is ignored).
  std::string v = h->unfolded();
  std::size_t a = v.find_first_not_of(" \t");
  if (a == std::string::npos) return false;
  std::size_t b = v.find_first_of(" \t;(", a);
  std::string cte = v.substr(a, b == std::string::npos ? std::string::npos : b - a);
  for (char& c : cte)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return known_cte(cte);
}

std::string fetch_section(const mime::Message& m, const Section& s) {
  if (s.part.empty() && s.text == Section::Text::full) return std::string(m.source);
  Target t = resolve(m, s.part);
  if (!t.part) return {};
  const mime::Part& p = *t.part;
  // The message whose HEADER/TEXT is asked: the top level, or the one inside a message/rfc822 part.
  const mime::Part* msg = s.part.empty()         ? &m.parts[0]
                          : t.message_as_body ? embedded_in_body(m, p)
                                              : embedded_message(m, p);
  switch (s.text) {
    case Section::Text::full:
      return std::string(slice(m, p.body_start, p.body_end));
    case Section::Text::mime:
      if (s.part.empty()) return {};
      return header_with_blank_line(m, p);
    case Section::Text::header:
      return msg ? header_with_blank_line(m, *msg) : std::string();
    case Section::Text::text:
      return msg ? std::string(slice(m, msg->body_start, msg->body_end)) : std::string();
    case Section::Text::header_fields:
    case Section::Text::header_fields_not:
      return msg ? header_fields(slice(m, msg->header_start, msg->body_start), s.fields,
                                 s.text == Section::Text::header_fields_not)
                 : std::string();
  }
  return {};
}

std::string_view apply_partial(std::string_view data, const std::optional<Partial>& partial) {
  if (!partial) return data;
  if (partial->offset >= data.size()) return {};
  return data.substr(partial->offset, partial->length);
}

Result<std::string> fetch_binary(const mime::Message& m, const Section& s) {
  if (s.part.empty()) return std::string(m.source);
  Target t = resolve(m, s.part);
  if (!t.part) return std::string();
  const mime::Part& p = *t.part;
  // A multipart has no transfer encoding of its own: its body is returned as is (Dovecot does the same).
  if (!t.message_as_body && p.is_multipart()) return std::string(slice(m, p.body_start, p.body_end));
  if (!transfer_encoding_known(p))
    return fail(Error(ErrorCategory::unsupported,
                      "the part's Content-Transfer-Encoding " + p.transfer_encoding + " is unknown",
                      static_cast<int>(BinaryError::unknown_cte)));
  std::string_view body = slice(m, p.body_start, p.body_end);
  return mime::decode_transfer_encoding(body, p.transfer_encoding).data;
}

Result<std::uint64_t> fetch_binary_size(const mime::Message& m, const Section& s) {
  auto r = fetch_binary(m, s);
  if (!r) return fail(r.error());
  return static_cast<std::uint64_t>(r->size());
}

std::optional<std::string> binary_parts_to_base64(std::string_view message) {
  mime::Message m = mime::parse(message);
  struct Edit {
    std::size_t begin, end;
    std::string text;
  };
  std::vector<Edit> edits;
  for (const mime::Part& p : m.parts) {
    // Parts with children (multipart, message/rfc822) keep their encoding: some clients label
    // multiparts "binary", and the parts inside are converted on their own.
    if (!p.children.empty() || p.transfer_encoding != "binary") continue;
    const mime::Header* h = p.header("Content-Transfer-Encoding");
    if (!h || h->value.data() < message.data() || h->value.data() > message.data() + message.size()) continue;
    std::size_t v = static_cast<std::size_t>(h->value.data() - message.data());
    if (p.body_start > p.body_end || p.body_end > message.size()) continue;
    edits.push_back({v, v + h->value.size(), " base64"});
    edits.push_back({p.body_start, p.body_end,
                     mime::encode_base64(message.substr(p.body_start, p.body_end - p.body_start), 76)});
  }
  if (edits.empty()) return std::nullopt;
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(message.size() * 4 / 3 + 64);
  std::size_t at = 0;
  for (const Edit& e : edits) {
    if (e.begin < at) return std::nullopt;  // overlapping ranges: the tree is not what we think
    out.append(message.substr(at, e.begin - at));
    out += e.text;
    at = e.end;
  }
  out.append(message.substr(at));
  return out;
}

bool needs_literal8(std::string_view data) { return data.find('\0') != std::string_view::npos; }

}  // namespace tern::imap
