// tern::store uidlist: Dovecot's `dovecot-uidlist` file (UID <-> Maildir file name), sans-I/O.
// Version 3 (Dovecot >= 1.1): header "3 V<uidvalidity> N<nextuid> G<guid> [<key><value>...]", records
// "<uid> [<key><value>...] :<filename>". Version 1 (Courier-compatible): "1 <uidvalidity> <nextuid>",
// records "<uid> <filename>". Dovecot appends records to the end and rewrites the file only now and then,
// so the header's N may be lower than the last record's UID + 1 (the reader takes the larger).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::store {

struct UidlistRecord {
  std::uint32_t uid = 0;
  std::string base;  // Maildir base name (the file name up to ':')
  friend bool operator==(const UidlistRecord&, const UidlistRecord&) = default;
};

struct UidlistHeader {
  int version = 3;
  std::uint32_t uid_validity = 0;
  std::uint32_t next_uid = 1;
  std::string guid;  // 128-bit mailbox GUID in hex
};

// Bounds: a line is at most 64 KiB; a file at most 16 M records.
inline constexpr std::size_t kUidlistMaxLine = 64 * 1024;
inline constexpr std::size_t kUidlistMaxRecords = 16u << 20;

struct UidlistParse {
  UidlistHeader header;
  std::vector<UidlistRecord> records;  // in file order
  std::size_t consumed = 0;            // bytes of complete lines parsed (a trailing partial line is left)
  std::size_t skipped = 0;             // malformed record lines ignored
  bool ordered = true;                 // UIDs strictly increase (Dovecot rewrites the file otherwise)
  std::uint32_t max_uid = 0;
};

// Parses a whole file (header and records). Fails on a missing or unknown header.
Result<UidlistParse> parse_uidlist(std::string_view text);
// Parses appended record lines (no header) of a file of `version`; `out.consumed` counts complete lines.
void parse_uidlist_records(std::string_view text, int version, UidlistParse& out);

std::string format_uidlist_header(const UidlistHeader& h);   // "3 V.. N.. G..\n"
std::string format_uidlist_record(const UidlistRecord& r);   // "<uid> :<base>\n"

}  // namespace tern::store
