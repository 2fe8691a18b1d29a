// Fuzz target: the dovecot-uidlist parser (a file any Maildir user or other IMAP server may have written).
// Invariants: consumed bytes never exceed the input, every record has a UID and a base without '/' or ':',
// next_uid is past every UID, and formatting then re-parsing gives the same records.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/store/uidlist.hpp"

using namespace tern::store;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = parse_uidlist(in);
  UidlistParse tail;
  parse_uidlist_records(in, 3, tail);
  if (tail.consumed > in.size()) std::abort();
  if (!p) return 0;
  if (p->consumed > in.size() || p->records.size() > kUidlistMaxRecords) std::abort();
  std::string again = format_uidlist_header(p->header);
  for (const auto& r : p->records) {
    if (r.uid == 0 || r.base.empty() || r.base.find('/') != std::string::npos || r.base.find(':') != std::string::npos) std::abort();
    if (r.uid >= p->header.next_uid) std::abort();
    // A base with a newline or " :" cannot round-trip; the parser never yields one from a line.
    if (r.base.find('\n') != std::string::npos) std::abort();
    again += format_uidlist_record(r);
  }
  auto q = parse_uidlist(again);
  if (p->header.version == 3 && p->header.guid.find(' ') == std::string::npos) {
    if (!q || q->records != p->records || q->header.next_uid != p->header.next_uid || q->header.uid_validity != p->header.uid_validity)
      std::abort();
  }
  return 0;
}
