// JSON view of a parse for `ternctl mime inspect`.
#include "tern/mime/inspect.hpp"

#include <cstdio>

#include "tern/mime/address.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/date.hpp"

namespace tern::mime {

std::string json_quote(std::string_view in) {
  std::string s = valid_utf8(in) ? std::string(in) : to_utf8("utf-8", in).data;
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else out += c;
  }
  out += '"';
  return out;
}

namespace {

std::string trimmed(std::string s) {
  std::size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return {};
  std::size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

std::string opt(const std::string* s) { return s ? json_quote(*s) : "null"; }

std::string address_json(const Part& p, std::string_view name) {
  const Header* h = p.header(name);
  if (!h) return "null";
  AddressList list = parse_address_list(h->unfolded());
  std::string out = "[";
  bool first = true;
  for (const auto& mb : list.all_mailboxes()) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":" + json_quote(mb.display_name) + ",\"address\":" + json_quote(mb.address()) + "}";
  }
  return out + "]";
}

}  // namespace

std::string inspect_json(const Message& m) {
  std::string out = "{\"parts\":[";
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    const Part& p = m.parts[i];
    if (i) out += ',';
    out += "{\"number\":" + json_quote(p.number);
    out += ",\"depth\":" + std::to_string(p.depth);
    out += ",\"message\":" + std::string(p.is_message ? "true" : "false");
    out += ",\"content_type\":" + json_quote(p.content_type.mime_type());
    out += ",\"params\":{";
    for (std::size_t k = 0; k < p.content_type.params.size(); ++k) {
      if (k) out += ',';
      out += json_quote(p.content_type.params[k].name) + ":" + json_quote(p.content_type.params[k].value);
    }
    out += "}";
    out += ",\"charset\":" + opt(find_parameter(p.content_type.params, "charset"));
    out += ",\"transfer_encoding\":" + json_quote(p.transfer_encoding);
    out += ",\"disposition\":" + (p.disposition.type.empty() ? std::string("null") : json_quote(p.disposition.type));
    const std::string* filename = find_parameter(p.disposition.params, "filename");
    if (!filename) filename = find_parameter(p.content_type.params, "name");
    out += ",\"filename\":" + opt(filename);
    out += ",\"size\":" + std::to_string(p.body_end - p.body_start);
    if (p.children.empty()) {
      out += ",\"decoded_size\":" + std::to_string(decode_transfer_encoding(m.body(p), p.transfer_encoding).data.size());
    } else {
      out += ",\"decoded_size\":null";
    }
    out += ",\"lines\":" + std::to_string(p.body_lines);
    out += ",\"children\":" + std::to_string(p.children.size());
    out += ",\"offsets\":[" + std::to_string(p.header_start) + "," + std::to_string(p.header_end) + "," +
           std::to_string(p.body_start) + "," + std::to_string(p.body_end) + "]}";
  }
  out += "],\"headers\":{";
  const Part& r = m.root();
  auto text = [&](std::string_view name) -> std::string {
    const Header* h = r.header(name);
    if (!h) return "null";
    return json_quote(trimmed(decode_encoded_words(h->unfolded())));
  };
  out += "\"subject\":" + text("Subject");
  out += ",\"from\":" + address_json(r, "From");
  out += ",\"to\":" + address_json(r, "To");
  out += ",\"cc\":" + address_json(r, "Cc");
  if (const Header* d = r.header("Date")) {
    auto dt = parse_date_time(d->unfolded());
    out += ",\"date\":" + json_quote(trimmed(d->unfolded()));
    out += ",\"date_parsed\":" + (dt ? json_quote(format_date_time(*dt)) : std::string("null"));
  } else {
    out += ",\"date\":null,\"date_parsed\":null";
  }
  if (const Header* id = r.header("Message-ID")) out += ",\"message_id\":" + json_quote(trimmed(id->unfolded()));
  else out += ",\"message_id\":null";
  out += "},\"defects\":[";
  for (std::size_t i = 0; i < m.defects.size(); ++i) {
    if (i) out += ',';
    out += "{\"kind\":" + json_quote(to_string(m.defects[i].kind)) + ",\"offset\":" + std::to_string(m.defects[i].offset) + "}";
  }
  out += "]}";
  return out;
}

std::string inspect_json(std::string_view message, const ParseLimits& limits) {
  return inspect_json(parse(message, limits));
}

}  // namespace tern::mime
