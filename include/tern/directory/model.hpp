// The directory data model: domains, users, groups, mailboxes, aliases, lists, master users.
// A DirectorySnapshot is an immutable-by-convention value that every backend produces (file, LDAP,
// host callback) and that the pure resolution engine (resolution.hpp) reads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::directory {

struct Domain {
  std::string name;                     // lower case
  bool incoming = true;                 // false: mail to this domain is refused (550 5.1.2)
  std::vector<std::string> catch_all;   // addresses receiving mail for unknown local parts; empty: bounce
  std::uint64_t max_message_size = 0;   // incoming size limit for this domain; 0: the server's [smtp] limit
};

// A person that can log in (Cloudron "user"). Mailboxes they own accept their password.
struct User {
  std::string name;           // login name of the person (not an address)
  std::string password_hash;  // Dovecot "{SCHEME}..." form; empty: no password (cannot log in)
  bool active = true;
  std::string ldap_dn;        // set by the LDAP backend (bind-to-authenticate)
};

// An ownership group: any member may log in to a mailbox the group owns with their own password.
struct Group {
  std::string name;
  std::vector<std::string> members;  // user names
};

enum class OwnerType { user, group, app };
std::string_view to_string(OwnerType t) noexcept;
std::optional<OwnerType> parse_owner_type(std::string_view s) noexcept;

struct Quota {
  std::uint64_t bytes = 0;     // 0: unlimited
  std::uint64_t messages = 0;  // 0: unlimited
};

struct Mailbox {
  std::string name;    // local part, lower case
  std::string domain;  // lower case
  std::string owner;   // user, group or app name
  OwnerType owner_type = OwnerType::user;
  bool active = true;  // inactive: mail bounces (or goes to the catch-all), login refused
  Quota quota;
  // A credential of the mailbox itself (docker-mailserver accounts, app mailboxes). When set, it is
  // accepted in addition to the owner's password.
  std::string password_hash;

  std::string address() const { return name + "@" + domain; }
};

// An alternate address (pattern may contain '*') delivering to target addresses. Cloudron aliases
// have one target (their mailbox); postfix-virtual.cf lines may have several, local or external.
struct Alias {
  std::string name;    // local-part pattern, lower case, may contain '*'
  std::string domain;  // lower case
  std::vector<std::string> targets;

  std::string address() const { return name + "@" + domain; }
  bool wildcard() const { return name.find('*') != std::string::npos; }
};

// A group address / mailing list: forwards to member addresses, local or external.
struct MailingList {
  std::string name;
  std::string domain;
  std::vector<std::string> members;  // addresses
  bool members_only = false;         // only members may post (others: 550 5.7.2)
  bool active = true;

  std::string address() const { return name + "@" + domain; }
};

// Dovecot-style master user: logs in as any user with "user*master" (off unless enabled in [auth]).
struct MasterUser {
  std::string name;
  std::string password_hash;
};

// Hash indexes over a snapshot's names; see DirectorySnapshot::build_index().
struct DirectoryIndex;

// Holds the index; a copy starts without one, so an edited copy can never use a stale index.
class DirectoryIndexHolder {
 public:
  DirectoryIndexHolder() = default;
  DirectoryIndexHolder(const DirectoryIndexHolder&) noexcept {}
  DirectoryIndexHolder& operator=(const DirectoryIndexHolder&) noexcept {
    index.reset();
    return *this;
  }
  DirectoryIndexHolder(DirectoryIndexHolder&&) noexcept = default;
  DirectoryIndexHolder& operator=(DirectoryIndexHolder&&) noexcept = default;
  std::shared_ptr<const DirectoryIndex> index;
};

struct DirectorySnapshot {
  std::vector<Domain> domains;
  std::vector<User> users;
  std::vector<Group> groups;
  std::vector<Mailbox> mailboxes;
  std::vector<Alias> aliases;
  std::vector<MailingList> lists;
  std::vector<MasterUser> masters;

  const Domain* find_domain(std::string_view name) const;
  const User* find_user(std::string_view name) const;
  const Group* find_group(std::string_view name) const;
  const Mailbox* find_mailbox(std::string_view name, std::string_view domain) const;
  const MailingList* find_list(std::string_view name, std::string_view domain) const;
  // Exact (non-wildcard) alias.
  const Alias* find_alias(std::string_view name, std::string_view domain) const;
  const MasterUser* find_master(std::string_view name) const;
  // Wildcard aliases of a domain.
  std::vector<const Alias*> wildcard_aliases(std::string_view domain) const;

  // Builds hash indexes so the finds above are O(1) instead of linear scans. Backends call this on
  // the snapshot they publish (after the last change). Any change to the vectors afterwards must be
  // made on a copy (copies start unindexed) or followed by build_index() again.
  void build_index();
  bool indexed() const noexcept { return static_cast<bool>(index_.index); }

  // Mutable variants for editing (never use the index).
  Domain* find_domain(std::string_view name);
  User* find_user(std::string_view name);
  Mailbox* find_mailbox(std::string_view name, std::string_view domain);
  MailingList* find_list(std::string_view name, std::string_view domain);

 private:
  DirectoryIndexHolder index_;
};

}  // namespace tern::directory
