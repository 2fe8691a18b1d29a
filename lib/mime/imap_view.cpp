// ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2).
#include "tern/mime/imap_view.hpp"

#include "tern/mime/address.hpp"

namespace tern::mime {
namespace {

std::optional<std::string> header_value(const Part& p, std::string_view name) {
  const Header* h = p.header(name);
  if (!h) return std::nullopt;
  std::string v = h->unfolded();
  std::size_t a = v.find_first_not_of(" \t");
  if (a == std::string::npos) return std::string();
  std::size_t b = v.find_last_not_of(" \t");
  return v.substr(a, b - a + 1);
}

std::vector<EnvelopeAddress> addresses(const Part& p, std::string_view name) {
  std::vector<EnvelopeAddress> out;
  auto v = header_value(p, name);
  if (!v) return out;
  AddressList list = parse_address_list(*v);
  for (const auto& e : list.entries) {
    if (e.is_group) out.push_back({std::nullopt, std::nullopt, e.group_name_raw, std::nullopt});
    for (const auto& mb : e.mailboxes) {
      EnvelopeAddress a;
      if (!mb.display_name_raw.empty()) a.name = mb.display_name_raw;
      if (!mb.route.empty()) a.adl = mb.route;
      a.mailbox = mb.local_part;
      a.host = mb.domain;  // never NIL: a NIL host marks group syntax (RFC 9051 §7.5.2)
      out.push_back(std::move(a));
    }
    if (e.is_group) out.push_back({});
  }
  return out;
}

void nstring(std::string& out, const std::optional<std::string>& s) {
  if (!s) { out += "NIL"; return; }
  bool literal = false;
  for (char c : *s)
    if (c == '\r' || c == '\n' || c == '\0') literal = true;
  if (literal) {
    out += "{" + std::to_string(s->size()) + "}\r\n" + *s;
    return;
  }
  out += '"';
  for (char c : *s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void address_list(std::string& out, const std::vector<EnvelopeAddress>& list) {
  if (list.empty()) { out += "NIL"; return; }
  out += '(';
  for (const auto& a : list) {
    out += '(';
    nstring(out, a.name); out += ' ';
    nstring(out, a.adl); out += ' ';
    nstring(out, a.mailbox); out += ' ';
    nstring(out, a.host);
    out += ')';
  }
  out += ')';
}

void param_list(std::string& out, const std::vector<std::pair<std::string, std::string>>& ps) {
  if (ps.empty()) { out += "NIL"; return; }
  out += '(';
  bool first = true;
  for (const auto& [k, v] : ps) {
    if (!first) out += ' ';
    first = false;
    nstring(out, k);
    out += ' ';
    nstring(out, v);
  }
  out += ')';
}

std::vector<std::pair<std::string, std::string>> params_of(const Parameters& ps) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : ps) out.emplace_back(p.name, p.value);
  return out;
}

}  // namespace

Envelope make_envelope(const Message&, const Part& p) {
  Envelope e;
  e.date = header_value(p, "Date");
  e.subject = header_value(p, "Subject");
  e.from = addresses(p, "From");
  e.sender = addresses(p, "Sender");
  if (e.sender.empty()) e.sender = e.from;
  e.reply_to = addresses(p, "Reply-To");
  if (e.reply_to.empty()) e.reply_to = e.from;
  e.to = addresses(p, "To");
  e.cc = addresses(p, "Cc");
  e.bcc = addresses(p, "Bcc");
  e.in_reply_to = header_value(p, "In-Reply-To");
  e.message_id = header_value(p, "Message-ID");
  return e;
}

BodyStructure make_body_structure(const Message& m, const Part& part) {
  BodyStructure b;
  b.type = part.content_type.type;
  b.subtype = part.content_type.subtype;
  b.params = params_of(part.content_type.params);
  if (!part.disposition.type.empty()) {
    b.disposition = part.disposition.type;
    b.disposition_params = params_of(part.disposition.params);
  }
  if (auto lang = header_value(part, "Content-Language")) {
    std::string cur;
    for (char c : *lang + ",") {
      if (c == ',') {
        if (!cur.empty()) b.language.push_back(cur);
        cur.clear();
      } else if (c != ' ' && c != '\t') {
        cur += c;
      }
    }
  }
  b.location = header_value(part, "Content-Location");
  if (part.is_multipart()) {
    b.multipart = true;
    for (int c : part.children) b.children.push_back(make_body_structure(m, m.parts[static_cast<std::size_t>(c)]));
    return b;
  }
  if (!part.content_type.present && b.params.empty()) b.params.push_back({"charset", "us-ascii"});  // RFC 2045 §5.2
  b.id = header_value(part, "Content-ID");
  b.description = header_value(part, "Content-Description");
  b.encoding = part.transfer_encoding;
  b.md5 = header_value(part, "Content-MD5");
  b.size = part.body_end - part.body_start;
  b.lines = part.body_lines;
  if (b.type == "message" && (b.subtype == "rfc822" || b.subtype == "global") && part.children.size() == 1) {
    const Part& inner = m.parts[static_cast<std::size_t>(part.children[0])];
    b.envelope = std::make_shared<Envelope>(make_envelope(m, inner));
    b.message_body = std::make_shared<BodyStructure>(make_body_structure(m, inner));
  }
  return b;
}

BodyStructure make_body_structure(const Message& m) { return make_body_structure(m, m.root()); }

std::string to_imap(const Envelope& e) {
  std::string out = "(";
  nstring(out, e.date); out += ' ';
  nstring(out, e.subject); out += ' ';
  address_list(out, e.from); out += ' ';
  address_list(out, e.sender); out += ' ';
  address_list(out, e.reply_to); out += ' ';
  address_list(out, e.to); out += ' ';
  address_list(out, e.cc); out += ' ';
  address_list(out, e.bcc); out += ' ';
  nstring(out, e.in_reply_to); out += ' ';
  nstring(out, e.message_id);
  out += ')';
  return out;
}

std::string to_imap(const BodyStructure& b, bool extended) {
  auto upper = [](std::string s) {
    for (auto& c : s)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
  };
  std::string out = "(";
  auto extension_tail = [&] {
    out += ' ';
    if (b.disposition) {
      out += '(';
      nstring(out, upper(*b.disposition));
      out += ' ';
      param_list(out, b.disposition_params);
      out += ')';
    } else {
      out += "NIL";
    }
    out += ' ';
    if (b.language.empty()) out += "NIL";
    else if (b.language.size() == 1) nstring(out, b.language[0]);
    else {
      out += '(';
      for (std::size_t i = 0; i < b.language.size(); ++i) {
        if (i) out += ' ';
        nstring(out, b.language[i]);
      }
      out += ')';
    }
    out += ' ';
    nstring(out, b.location);
  };
  if (b.multipart) {
    for (const auto& c : b.children) out += to_imap(c, extended);
    out += ' ';
    nstring(out, upper(b.subtype));
    if (extended) {
      out += ' ';
      param_list(out, b.params);
      extension_tail();
    }
    out += ')';
    return out;
  }
  nstring(out, upper(b.type)); out += ' ';
  nstring(out, upper(b.subtype)); out += ' ';
  param_list(out, b.params); out += ' ';
  nstring(out, b.id); out += ' ';
  nstring(out, b.description); out += ' ';
  nstring(out, upper(b.encoding)); out += ' ';
  out += std::to_string(b.size);
  if (b.envelope && b.message_body) {
    out += ' ' + to_imap(*b.envelope) + ' ' + to_imap(*b.message_body, extended) + ' ' + std::to_string(b.lines);
  } else if (b.type == "text") {
    out += ' ' + std::to_string(b.lines);
  }
  if (extended) {
    out += ' ';
    nstring(out, b.md5);
    extension_tail();
  }
  out += ')';
  return out;
}

}  // namespace tern::mime
