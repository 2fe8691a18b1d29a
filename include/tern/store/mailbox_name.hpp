// Mailbox names: UTF-8 at the MailStore interface (hierarchy separator '/'); on disk, Dovecot's default
// Maildir++ convention: ".Parent.Child" with each part in modified UTF-7 (RFC 3501 section 5.1.3), which
// is what Dovecot writes unless the UTF-8 mailbox_list option is set.
#pragma once

#include <string>
#include <string_view>

#include "tern/core/result.hpp"

namespace tern::store {

inline constexpr std::size_t kMailboxNameMax = 255;  // bytes, of the UTF-8 name and of the directory name

// Checks a UTF-8 mailbox name: well-formed UTF-8, at most 255 bytes, no empty part ("a//b", leading or
// trailing '/'), no part "." or ".." or starting with '.', no '.' (the Maildir++ separator), no '\\', no
// control characters, no IMAP wildcards '%' '*'. The error says which rule was broken.
Status validate_mailbox_name(std::string_view name);

// RFC 3501 5.1.3 modified UTF-7: printable ASCII stands for itself ("&" as "&-"); other characters are
// UTF-16 in modified base64 (',' for '/') between '&' and '-'. `utf8` must be valid UTF-8.
std::string mutf7_encode(std::string_view utf8);
// Strict: rejects bad base64, non-zero padding bits, unpaired surrogates and encoded printable ASCII.
Result<std::string> mutf7_decode(std::string_view mutf7);

// "Lists/tern" -> ".Lists.tern" (validated; fails when the directory name would exceed 255 bytes).
Result<std::string> maildir_folder_dir(std::string_view name);
// ".Lists.tern" -> "Lists/tern"; fails on a name that is not a valid encoded Maildir++ folder.
Result<std::string> mailbox_from_folder_dir(std::string_view dir);

}  // namespace tern::store
