#include "tern/directory/snapshot_edit.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tern/directory/address.hpp"

namespace tern::directory::edit {

namespace {
tl::unexpected<Error> not_found(std::string msg) { return fail(ErrorCategory::not_found, std::move(msg)); }
tl::unexpected<Error> exists(std::string msg) { return fail(ErrorCategory::exists, std::move(msg)); }

// Is local@domain taken by a mailbox, list or exact alias?
std::string taken_by(const DirectorySnapshot& d, std::string_view local, std::string_view domain) {
  if (d.find_mailbox(local, domain)) return "a mailbox";
  if (d.find_list(local, domain)) return "a list";
  if (d.find_alias(local, domain)) return "an alias";
  return {};
}

Result<Address> local_address(const DirectorySnapshot& d, std::string_view text) {
  auto a = parse_address(text);
  if (!a) return a;
  if (!d.find_domain(a->domain))
    return not_found(fmt::format("the domain {} is not in the directory (add it with 'domain add')", a->domain));
  return a;
}

Result<std::vector<std::string>> normalise_targets(std::vector<std::string> targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) {
    auto a = parse_address(t);
    if (!a) return fail(a.error());
    if (std::find(out.begin(), out.end(), a->str()) == out.end()) out.push_back(a->str());
  }
  return out;
}
}  // namespace

Status add_domain(DirectorySnapshot& d, std::string_view domain, bool incoming) {
  auto name = to_lower(domain);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (auto st = validate_domain_name(name); !st) return st;
  if (d.find_domain(name)) return exists(fmt::format("the domain {} exists already", name));
  d.domains.push_back(Domain{name, incoming, {}});
  return {};
}

Status remove_domain(DirectorySnapshot& d, std::string_view domain, bool cascade) {
  auto name = to_lower(domain);
  if (!d.find_domain(name)) return not_found(fmt::format("the domain {} is not in the directory", name));
  auto in = [&](const auto& x) { return x.domain == name; };
  bool used = std::any_of(d.mailboxes.begin(), d.mailboxes.end(), in) ||
              std::any_of(d.aliases.begin(), d.aliases.end(), in) || std::any_of(d.lists.begin(), d.lists.end(), in);
  if (used && !cascade)
    return fail(ErrorCategory::invalid_argument,
                fmt::format("the domain {} still has mailboxes, aliases or lists; remove them first", name));
  std::erase_if(d.mailboxes, in);
  std::erase_if(d.aliases, in);
  std::erase_if(d.lists, in);
  std::erase_if(d.domains, [&](const Domain& x) { return x.name == name; });
  return {};
}

Status set_domain_incoming(DirectorySnapshot& d, std::string_view domain, bool incoming) {
  Domain* dom = d.find_domain(to_lower(domain));
  if (!dom) return not_found(fmt::format("the domain {} is not in the directory", to_lower(domain)));
  dom->incoming = incoming;
  return {};
}

Status set_mailbox_quota(DirectorySnapshot& d, std::string_view address, Quota quota) {
  auto addr = parse_address(address);
  if (!addr) return fail(addr.error());
  Mailbox* m = d.find_mailbox(addr->local, addr->domain);
  if (!m) return not_found(fmt::format("there is no mailbox {}", addr->str()));
  m->quota = quota;
  return {};
}

Status set_domain_max_message_size(DirectorySnapshot& d, std::string_view domain, std::uint64_t bytes) {
  Domain* dom = d.find_domain(to_lower(domain));
  if (!dom) return not_found(fmt::format("the domain {} is not in the directory", to_lower(domain)));
  dom->max_message_size = bytes;
  return {};
}

Status set_catch_all(DirectorySnapshot& d, std::string_view domain, std::vector<std::string> targets) {
  Domain* dom = d.find_domain(to_lower(domain));
  if (!dom) return not_found(fmt::format("the domain {} is not in the directory", to_lower(domain)));
  auto t = normalise_targets(std::move(targets));
  if (!t) return fail(t.error());
  dom->catch_all = std::move(*t);
  return {};
}

Status add_mailbox(DirectorySnapshot& d, Mailbox mb, char sep) {
  mb.name = to_lower(mb.name);
  mb.domain = to_lower(mb.domain);
  auto kind = mb.owner_type == OwnerType::app ? NameKind::app_mailbox : NameKind::user_mailbox;
  if (auto st = validate_mailbox_name(mb.name, kind, sep); !st) return st;
  if (!d.find_domain(mb.domain))
    return not_found(fmt::format("the domain {} is not in the directory (add it with 'domain add')", mb.domain));
  if (auto t = taken_by(d, mb.name, mb.domain); !t.empty())
    return exists(fmt::format("{} is already {}", mb.address(), t));
  if (mb.owner_type == OwnerType::user && !d.find_user(mb.owner))
    return not_found(fmt::format("the owner {} is not a user", mb.owner));
  if (mb.owner_type == OwnerType::group && !d.find_group(mb.owner))
    return not_found(fmt::format("the owner {} is not a group", mb.owner));
  d.mailboxes.push_back(std::move(mb));
  return {};
}

Status add_user_mailbox(DirectorySnapshot& d, std::string_view address, std::string password_hash, char sep) {
  auto a = local_address(d, address);
  if (!a) return fail(a.error());
  if (auto st = validate_mailbox_name(a->local, NameKind::user_mailbox, sep); !st) return st;
  if (auto t = taken_by(d, a->local, a->domain); !t.empty()) return exists(fmt::format("{} is already {}", a->str(), t));
  if (d.find_user(a->str())) return exists(fmt::format("the user {} exists already", a->str()));
  d.users.push_back(User{a->str(), std::move(password_hash), true, ""});
  Mailbox mb;
  mb.name = a->local;
  mb.domain = a->domain;
  mb.owner = a->str();
  mb.owner_type = OwnerType::user;
  return add_mailbox(d, std::move(mb), sep);
}

Status remove_mailbox(DirectorySnapshot& d, std::string_view address) {
  auto a = parse_address(address);
  if (!a) return fail(a.error());
  if (!d.find_mailbox(a->local, a->domain)) return not_found(fmt::format("no mailbox {}", a->str()));
  std::erase_if(d.mailboxes, [&](const Mailbox& m) { return m.name == a->local && m.domain == a->domain; });
  // Aliases pointing only at the removed mailbox would dangle: drop the target, then empty aliases.
  for (auto& al : d.aliases) std::erase(al.targets, a->str());
  std::erase_if(d.aliases, [](const Alias& al) { return al.targets.empty(); });
  return {};
}

Status remove_user_mailbox(DirectorySnapshot& d, std::string_view address) {
  auto a = parse_address(address);
  if (!a) return fail(a.error());
  const Mailbox* mb = d.find_mailbox(a->local, a->domain);
  if (!mb) return not_found(fmt::format("no mailbox {}", a->str()));
  std::string owner = mb->owner_type == OwnerType::user ? mb->owner : std::string();
  if (auto st = remove_mailbox(d, a->str()); !st) return st;
  bool still_owns = std::any_of(d.mailboxes.begin(), d.mailboxes.end(), [&](const Mailbox& m) {
    return m.owner_type == OwnerType::user && m.owner == owner;
  });
  if (!owner.empty() && !still_owns) {
    std::erase_if(d.users, [&](const User& u) { return u.name == owner; });
    for (auto& g : d.groups) std::erase(g.members, owner);
  }
  return {};
}

Status set_password(DirectorySnapshot& d, std::string_view address, std::string hash) {
  auto a = parse_address(address);
  if (!a) return fail(a.error());
  Mailbox* mb = d.find_mailbox(a->local, a->domain);
  if (!mb) return not_found(fmt::format("no mailbox {}", a->str()));
  if (!mb->password_hash.empty() || mb->owner_type != OwnerType::user) {
    mb->password_hash = std::move(hash);
    return {};
  }
  User* u = d.find_user(mb->owner);
  if (!u) return not_found(fmt::format("the owner {} of {} is not a user", mb->owner, a->str()));
  u->password_hash = std::move(hash);
  return {};
}

Status set_mailbox_active(DirectorySnapshot& d, std::string_view address, bool active) {
  auto a = parse_address(address);
  if (!a) return fail(a.error());
  Mailbox* mb = d.find_mailbox(a->local, a->domain);
  if (!mb) return not_found(fmt::format("no mailbox {}", a->str()));
  mb->active = active;
  return {};
}

Status add_alias(DirectorySnapshot& d, std::string_view alias, std::vector<std::string> targets, char sep) {
  auto a = local_address(d, alias);
  if (!a) return fail(a.error());
  if (auto st = validate_alias_name(a->local, sep); !st) return st;
  if (auto t = taken_by(d, a->local, a->domain); !t.empty())
    return exists(fmt::format("the alias {} conflicts with {} of the same address", a->str(), t));
  if (targets.empty()) return fail(ErrorCategory::invalid_argument, fmt::format("the alias {} needs a target", a->str()));
  auto t = normalise_targets(std::move(targets));
  if (!t) return fail(t.error());
  d.aliases.push_back(Alias{a->local, a->domain, std::move(*t)});
  return {};
}

Status remove_alias(DirectorySnapshot& d, std::string_view alias) {
  auto a = parse_address(alias);
  if (!a) return fail(a.error());
  auto n = std::erase_if(d.aliases, [&](const Alias& x) { return x.name == a->local && x.domain == a->domain; });
  if (n == 0) return not_found(fmt::format("no alias {}", a->str()));
  return {};
}

Status add_list(DirectorySnapshot& d, std::string_view address, std::vector<std::string> members, bool members_only,
                char sep) {
  auto a = local_address(d, address);
  if (!a) return fail(a.error());
  if (auto st = validate_mailbox_name(a->local, NameKind::user_mailbox, sep); !st)
    return fail(ErrorCategory::invalid_argument, "list: " + st.error().message);
  if (auto t = taken_by(d, a->local, a->domain); !t.empty()) return exists(fmt::format("{} is already {}", a->str(), t));
  auto m = normalise_targets(std::move(members));
  if (!m) return fail(m.error());
  d.lists.push_back(MailingList{a->local, a->domain, std::move(*m), members_only, true});
  return {};
}

Status remove_list(DirectorySnapshot& d, std::string_view address) {
  auto a = parse_address(address);
  if (!a) return fail(a.error());
  auto n = std::erase_if(d.lists, [&](const MailingList& x) { return x.name == a->local && x.domain == a->domain; });
  if (n == 0) return not_found(fmt::format("no list {}", a->str()));
  return {};
}

Status set_list_members(DirectorySnapshot& d, std::string_view address, std::vector<std::string> members) {
  auto a = parse_address(address);
  if (!a) return fail(a.error());
  MailingList* l = d.find_list(a->local, a->domain);
  if (!l) return not_found(fmt::format("no list {}", a->str()));
  auto m = normalise_targets(std::move(members));
  if (!m) return fail(m.error());
  l->members = std::move(*m);
  return {};
}

}  // namespace tern::directory::edit
