// RFC 5322 §3.4 address lists: mailboxes, groups, display names (RFC 2047 words decoded), quoted
// local parts, obsolete forms (RFC 5322 §4.4) tolerated.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct Mailbox {
  std::string display_name;      // decoded to UTF-8, unquoted; empty if none
  std::string display_name_raw;  // unquoted but not RFC 2047-decoded (for IMAP ENVELOPE)
  std::string local_part;        // unquoted (quoted-pair escapes removed), case preserved
  std::string domain;            // as written (may be empty for a bare local part)
  std::string route;             // obsolete source route "@a,@b" (RFC 5322 §4.4), empty normally

  // "local@domain", quoting the local part if it needs it (RFC 5322 §3.4.1).
  std::string address() const;
};

// One element of an address list: a mailbox, or a named group of mailboxes (RFC 5322 §3.4).
struct AddressEntry {
  bool is_group = false;
  std::string group_name;      // decoded
  std::string group_name_raw;  // not RFC 2047-decoded
  std::vector<Mailbox> mailboxes;  // one for a mailbox entry
};

struct AddressList {
  std::vector<AddressEntry> entries;
  bool clean = true;  // false if something had to be skipped or repaired
  std::vector<Mailbox> all_mailboxes() const;
};

struct AddressLimits {
  std::size_t max_entries = 1000;
  std::size_t max_length = 256 * 1024;  // input bytes looked at
};

// Parses an unfolded or folded header value such as "A <a@x>, Team: b@y, \"c d\"@z;".
AddressList parse_address_list(std::string_view value, const AddressLimits& limits = {});

}  // namespace tern::mime
