// dovecot-uidlist parsing and formatting (see include/tern/store/uidlist.hpp).
#include "tern/store/uidlist.hpp"

#include <charconv>

namespace tern::store {

namespace {

bool parse_u32(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xffffffffull) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

// One record line (without its '\n').
bool parse_record(std::string_view line, int version, UidlistRecord& r) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  if (!parse_u32(line.substr(0, sp), r.uid) || r.uid == 0) return false;
  std::string_view name;
  if (version == 1) {
    name = line.substr(sp + 1);
  } else {
    // "<uid> [<key><value> ...] :<filename>": the file name follows the first " :".
    auto c = line.find(" :", sp);
    if (c == std::string_view::npos) return false;
    name = line.substr(c + 2);
  }
  auto colon = name.find(':');
  if (colon != std::string_view::npos) name = name.substr(0, colon);
  if (name.empty() || name.find('/') != std::string_view::npos) return false;
  // Dovecot ignores files whose names hold CR or LF; control characters cannot be a Maildir name here.
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return false;
  r.base.assign(name);
  return true;
}

}  // namespace

void parse_uidlist_records(std::string_view text, int version, UidlistParse& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;  // a partial last line is left for later
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    out.consumed += line.size() + 1;
    if (line.empty()) continue;
    UidlistRecord r;
    if (line.size() > kUidlistMaxLine || out.records.size() >= kUidlistMaxRecords || !parse_record(line, version, r)) {
      ++out.skipped;
      continue;
    }
    if (r.uid <= out.max_uid) out.ordered = false;
    else out.max_uid = r.uid;
    out.records.push_back(std::move(r));
  }
}

Result<UidlistParse> parse_uidlist(std::string_view text) {
  UidlistParse out;
  auto nl = text.find('\n');
  if (nl == std::string_view::npos || nl > kUidlistMaxLine) return fail(ErrorCategory::storage, "dovecot-uidlist has no complete header line");
  std::string_view h = text.substr(0, nl);
  if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
  std::vector<std::string_view> tok;
  for (std::size_t p = 0; p < h.size();) {
    auto q = h.find(' ', p);
    if (q == std::string_view::npos) q = h.size();
    if (q > p) tok.push_back(h.substr(p, q - p));
    p = q + 1;
  }
  if (tok.empty()) return fail(ErrorCategory::storage, "dovecot-uidlist header is empty");
  if (tok[0] == "1") {
    out.header.version = 1;
    if (tok.size() < 3 || !parse_u32(tok[1], out.header.uid_validity) || !parse_u32(tok[2], out.header.next_uid))
      return fail(ErrorCategory::storage, "dovecot-uidlist v1 header is malformed");
  } else if (tok[0] == "3") {
    out.header.version = 3;
    for (std::size_t i = 1; i < tok.size(); ++i) {
      auto t = tok[i];
      if (t.size() < 2) continue;
      if (t[0] == 'V' && !parse_u32(t.substr(1), out.header.uid_validity)) return fail(ErrorCategory::storage, "dovecot-uidlist V field is malformed");
      if (t[0] == 'N' && !parse_u32(t.substr(1), out.header.next_uid)) return fail(ErrorCategory::storage, "dovecot-uidlist N field is malformed");
      if (t[0] == 'G') out.header.guid.assign(t.substr(1, 64));
    }
  } else {
    return fail(ErrorCategory::storage, "dovecot-uidlist has unknown version " + std::string(tok[0].substr(0, 8)));
  }
  out.consumed = nl + 1;
  parse_uidlist_records(text.substr(nl + 1), out.header.version, out);
  // Dovecot: appended records may be past the header's next UID.
  if (out.header.next_uid <= out.max_uid) out.header.next_uid = out.max_uid + 1;
  return out;
}

std::string format_uidlist_header(const UidlistHeader& h) {
  return "3 V" + std::to_string(h.uid_validity) + " N" + std::to_string(h.next_uid) + " G" + h.guid + "\n";
}

std::string format_uidlist_record(const UidlistRecord& r) { return std::to_string(r.uid) + " :" + r.base + "\n"; }

}  // namespace tern::store
