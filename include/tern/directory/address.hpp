// Mail addresses as the directory sees them, and the naming rules for what may be created.
//
// Lookups are case-insensitive: addresses are normalised to lower case (ASCII) before any comparison.
// Name rules follow Cloudron's mailbox rules (reference/cloudron-email-docs): alphanumerals, '.' and
// '-' only, at most 200 characters, names ending in ".app" reserved for applications, '+' refused
// because it is the subaddress separator.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tern/core/result.hpp"

namespace tern::directory {

inline constexpr std::size_t kMaxMailboxNameLength = 200;
inline constexpr std::size_t kMaxDomainLength = 253;     // RFC 1035 2.3.4 (without the final dot)
inline constexpr std::size_t kMaxAddressLength = 254;    // RFC 5321 4.5.3.1.3 path minus "<>"

// "local@domain", lower-cased. The local part is kept whole (subaddress tags included).
struct Address {
  std::string local;
  std::string domain;

  std::string str() const { return local + "@" + domain; }
  bool operator==(const Address&) const = default;
};

// Lower-cases ASCII letters.
std::string to_lower(std::string_view s);

// Splits at the last '@', lower-cases, strips one pair of surrounding "<>". Refuses empty parts,
// spaces/control characters and over-long input. No quoting or source routes (RFC 5321 4.1.2 quoted
// local parts are refused: nobody creates mailboxes with them).
Result<Address> parse_address(std::string_view text);

// Splits "user+tag" at the first separator: {"user", "tag"}; nullopt when there is no separator or
// the base would be empty.
struct Subaddress {
  std::string base;
  std::string detail;
};
std::optional<Subaddress> split_subaddress(std::string_view local, char separator);

enum class NameKind { user_mailbox, app_mailbox };

// Mailbox and list names. `separator` is the subaddress separator (default '+'), which is refused too.
// Errors (category invalid_argument) say which rule was broken.
Status validate_mailbox_name(std::string_view name, NameKind kind = NameKind::user_mailbox, char separator = '+');
// Alias local parts: the mailbox rules plus '*' wildcards ("*" alone is allowed: every address).
Status validate_alias_name(std::string_view name, char separator = '+');
// Domain names: LDH labels of 1..63 characters, at least two labels, at most 253 characters.
Status validate_domain_name(std::string_view domain);
// Login/user names (owners): alphanumerals, '.', '-', '_' and '@', 1..254 characters.
Status validate_user_name(std::string_view name);

// Glob match with '*' matching zero or more characters (case-sensitive; callers pass lower case).
bool wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace tern::directory
