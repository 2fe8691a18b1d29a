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

// "local@domain" as a lookup key: the local part lower-cased (unquoted, subaddress tags included), the
// domain canonical (A-labels, lower case: "Bücher.example" and "xn--bcher-kva.example" are one domain).
struct Address {
  std::string local;
  std::string domain;

  // "local@domain", the local part quoted when it is not a dot-atom (RFC 5321 4.1.2).
  std::string str() const;
  bool operator==(const Address&) const = default;
};

// Lower-cases ASCII letters.
std::string to_lower(std::string_view s);

// An RFC 5321 4.1.2 mailbox parsed by lib/mime (mime::parse_smtp_mailbox: dot-atom or quoted local part,
// domain or address literal, RFC 6531 UTF-8, the 4.5.3.1 lengths), as a lookup key (see Address). One pair
// of surrounding "<>" and one trailing dot of the domain are tolerated; no source route.
Result<Address> parse_address(std::string_view text);
// The same mailbox as it is passed on to another host (alias and list targets outside this server): the
// local part exactly as written (RFC 5321 2.4: only the destination host may fold its case), the domain
// canonical; minimally quoted.
Result<std::string> forward_address(std::string_view text);

// Splits "user+tag" at the first separator (mime::split_subaddress): {"user", "tag"}; nullopt when there is
// no separator or the base would be empty.
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
