// The pure resolution engine: every backend produces a DirectorySnapshot and these functions apply
// the same rules to it. No I/O, no clock; safe on any thread (the snapshot is read-only).
//
// Order for RCPT local@domain (first match wins):
//   1. domain not in the directory            -> not_local (the caller decides about relaying)
//   2. domain with incoming disabled          -> domain_disabled
//   3. mailbox local@domain                   -> deliver (inactive: catch-all if set, else inactive)
//   4. list local@domain                      -> members (inactive list: inactive; members-only check)
//   5. exact alias local@domain               -> its targets
//   6. 3-5 again with the subaddress tag removed ("user+tag" -> "user"; separator configurable)
//   7. wildcard aliases ('*'), most specific (most literal characters) first, full then base local
//   8. the domain's catch-all                 -> its targets
//   9. otherwise                              -> unknown
// Local targets of aliases, lists and catch-alls are resolved again (aliases to lists, lists of
// lists), at most kMaxExpansionDepth levels deep; loops are cut. Duplicates are removed.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/directory/address.hpp"
#include "tern/directory/model.hpp"

namespace tern::directory {

inline constexpr int kMaxExpansionDepth = 8;

struct ResolveOptions {
  char subaddress_separator = '+';  // '\0' disables subaddressing
  bool masquerading = false;         // true: may_send_as allows any address (Cloudron "masquerading")
  bool send_as_lists = false;        // true: members may use a list's address as sender
};

enum class ResolveStatus {
  deliver,          // targets is non-empty
  not_local,        // the domain is not served here
  domain_disabled,  // incoming mail disabled for the domain
  unknown,          // no such address and no catch-all
  inactive,         // mailbox or list disabled and no catch-all
  members_only,     // a members-only list and the sender is not a member
};
std::string_view to_string(ResolveStatus s) noexcept;
std::ostream& operator<<(std::ostream& os, ResolveStatus s);

// What an SMTP server answers for a refused recipient (RFC 5321 reply code, RFC 3463 status).
struct Reply {
  int code = 250;
  std::string enhanced;  // "5.1.1"
  std::string text;
};

struct DeliveryTarget {
  std::string address;   // a local mailbox address, or an external address to forward to
  bool local = true;
  std::string via_list;  // the list this target was expanded from ("" if none): lets delivery skip a
                         // member who is also a direct To/Cc recipient (duplicate suppression)
  bool operator==(const DeliveryTarget&) const = default;
};

struct Resolution {
  ResolveStatus status = ResolveStatus::unknown;
  Address recipient;                  // normalised
  std::string detail;                 // subaddress tag, if any ("tag" of user+tag@)
  std::vector<DeliveryTarget> targets;
  bool via_catch_all = false;

  std::vector<std::string> mailboxes() const;  // local targets
  std::vector<std::string> forwards() const;   // external targets
  // The reply for a refused recipient (250 2.1.5 for deliver).
  Reply reply() const;
};

// `sender` (envelope MAIL FROM, may be empty for bounces) is needed only for members-only lists;
// nullopt skips that check.
Result<Resolution> resolve(const DirectorySnapshot& dir, std::string_view recipient, const ResolveOptions& opts,
                           std::optional<std::string_view> sender = std::nullopt);

// Cloudron's list duplicate suppression: drops targets that came through a list (via_list set)
// when the same person is also addressed directly in the message's To or Cc (`to_cc`: addresses
// from those header fields), since the direct copy reaches them anyway. External members match by
// address; local ones by the mailbox the To/Cc address resolves to. Returns how many were dropped.
std::size_t suppress_list_duplicates(std::vector<DeliveryTarget>& targets, const std::vector<std::string>& to_cc,
                                     const DirectorySnapshot& dir, const ResolveOptions& opts);

// Anti-spoofing: may the user logged in as mailbox `login` use `from` as sender address?
// Allowed: masquerading on; the login address itself (also with a subaddress tag); another mailbox
// with the same owner; an alias (exact or wildcard) delivering to one of those; a list the login is
// a member of when send_as_lists is on.
struct SendAsVerdict {
  bool allowed = false;
  std::string reason;  // why (for logs)
  // The reply for a refused sender: 553 5.7.1 (RFC 3463 3.8: delivery not authorized).
  Reply reply(std::string_view from) const;
};
SendAsVerdict may_send_as(const DirectorySnapshot& dir, std::string_view login, std::string_view from,
                          const ResolveOptions& opts);

// One way to prove a login: a password hash, or (LDAP bind) a DN to bind as.
struct Credential {
  std::string principal;      // whose credential: user name, or the mailbox address itself
  std::string password_hash;  // "{SCHEME}..." (may be empty when bind_dn is set)
  std::string bind_dn;        // LDAP: verify by binding as this DN with the password
};

struct LoginRecord {
  std::string mailbox;  // the identity after login: the mailbox address
  bool active = true;   // false: mailbox, owner or domain disabled; login must fail after verification
  std::vector<Credential> credentials;  // any one matching is enough
};

// Login is by mailbox address only (Cloudron: "It is not possible to login using the alias address").
// Errors: invalid_argument (not an address), not_found (no such mailbox; an alias gives a sentence
// saying aliases cannot log in).
Result<LoginRecord> lookup_login(const DirectorySnapshot& dir, std::string_view login);
Result<LoginRecord> lookup_master(const DirectorySnapshot& dir, std::string_view master_name);

// Consistency of a whole snapshot (what editors and loaders check before accepting it): name rules,
// unknown domains, aliases/lists shadowing mailboxes, dangling owners, duplicates.
Status validate_snapshot(const DirectorySnapshot& dir, char separator = '+');

}  // namespace tern::directory
