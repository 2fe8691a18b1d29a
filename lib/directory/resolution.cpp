#include "tern/directory/resolution.hpp"

#include <algorithm>
#include <ostream>
#include <set>

#include <fmt/format.h>

namespace tern::directory {

std::string_view to_string(ResolveStatus s) noexcept {
  switch (s) {
    case ResolveStatus::deliver: return "deliver";
    case ResolveStatus::not_local: return "not_local";
    case ResolveStatus::domain_disabled: return "domain_disabled";
    case ResolveStatus::unknown: return "unknown";
    case ResolveStatus::inactive: return "inactive";
    case ResolveStatus::members_only: return "members_only";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, ResolveStatus s) { return os << to_string(s); }

std::vector<std::string> Resolution::mailboxes() const {
  std::vector<std::string> out;
  for (const auto& t : targets)
    if (t.local) out.push_back(t.address);
  return out;
}

std::vector<std::string> Resolution::forwards() const {
  std::vector<std::string> out;
  for (const auto& t : targets)
    if (!t.local) out.push_back(t.address);
  return out;
}

Reply Resolution::reply() const {
  switch (status) {
    case ResolveStatus::deliver: return {250, "2.1.5", "Recipient OK"};
    // RFC 3463 3.2: X.1.1 bad destination mailbox address.
    case ResolveStatus::unknown: return {550, "5.1.1", fmt::format("No such user here: {}", recipient.str())};
    // X.2.1 mailbox disabled, not accepting messages.
    case ResolveStatus::inactive: return {550, "5.2.1", fmt::format("Mailbox {} is disabled", recipient.str())};
    // X.1.2 bad destination system address.
    case ResolveStatus::domain_disabled:
      return {550, "5.1.2", fmt::format("Incoming mail for {} is disabled", recipient.domain)};
    // X.7.1 delivery not authorized (the caller may decide to relay instead).
    case ResolveStatus::not_local: return {554, "5.7.1", fmt::format("Relay access denied for {}", recipient.str())};
    // X.7.2 mailing list expansion prohibited.
    case ResolveStatus::members_only:
      return {550, "5.7.2", fmt::format("Only members may post to the list {}", recipient.str())};
  }
  return {550, "5.1.1", "No such user here"};
}

namespace {

struct Match {
  const Mailbox* mailbox = nullptr;
  const MailingList* list = nullptr;
  const Alias* alias = nullptr;
  std::string detail;
  explicit operator bool() const { return mailbox || list || alias; }
};

Match find_exact(const DirectorySnapshot& dir, std::string_view local, std::string_view domain) {
  Match m;
  if ((m.mailbox = dir.find_mailbox(local, domain))) return m;
  if ((m.list = dir.find_list(local, domain))) return m;
  if (const Alias* a = dir.find_alias(local, domain); a && !a->wildcard()) m.alias = a;
  return m;
}

std::size_t literal_chars(const std::string& p) {
  return static_cast<std::size_t>(std::count_if(p.begin(), p.end(), [](char c) { return c != '*'; }));
}

const Alias* find_wildcard(const DirectorySnapshot& dir, std::string_view local, std::string_view domain) {
  const Alias* best = nullptr;
  for (const Alias* a : dir.wildcard_aliases(domain)) {
    if (!wildcard_match(a->name, local)) continue;
    if (!best || literal_chars(a->name) > literal_chars(best->name) ||
        (literal_chars(a->name) == literal_chars(best->name) && a->name < best->name))
      best = a;
  }
  return best;
}

// Steps 3-7 of the order in the header.
Match find_address(const DirectorySnapshot& dir, std::string_view local, std::string_view domain, char sep) {
  if (auto m = find_exact(dir, local, domain)) return m;
  auto sub = split_subaddress(local, sep);
  if (sub) {
    if (auto m = find_exact(dir, sub->base, domain)) {
      m.detail = sub->detail;
      return m;
    }
  }
  Match m;
  if ((m.alias = find_wildcard(dir, local, domain))) return m;
  if (sub && (m.alias = find_wildcard(dir, sub->base, domain))) {
    m.detail = sub->detail;
    return m;
  }
  return m;
}

struct Expander {
  const DirectorySnapshot& dir;
  const ResolveOptions& opts;
  std::vector<DeliveryTarget> out;
  std::set<std::string> visited;

  void add(DeliveryTarget t) {
    for (const auto& o : out)
      if (o.address == t.address && o.local == t.local) return;
    out.push_back(std::move(t));
  }

  void expand_match(const Match& m, int depth, const std::string& via_list) {
    if (m.mailbox) {
      if (m.mailbox->active) add({m.mailbox->address(), true, via_list});
    } else if (m.list) {
      if (!m.list->active) return;
      for (const auto& member : m.list->members) expand(member, depth + 1, m.list->address());
    } else if (m.alias) {
      for (const auto& t : m.alias->targets) expand(t, depth + 1, via_list);
    }
  }

  void expand(const std::string& target, int depth, const std::string& via_list) {
    if (depth > kMaxExpansionDepth) return;
    auto addr = parse_address(target);
    if (!addr) return;  // validate_snapshot refuses these; a live backend may still hand one over
    auto key = addr->str();
    if (!dir.find_domain(addr->domain)) {
      auto written = forward_address(target);  // leaves this host: the local part's case is kept
      add({written ? *written : key, false, via_list});
      return;
    }
    if (!visited.insert(key).second) return;  // loop or already expanded
    auto m = find_address(dir, addr->local, addr->domain, opts.subaddress_separator);
    expand_match(m, depth, via_list);
  }
};

bool is_member(const DirectorySnapshot& dir, const MailingList& list, const Address& sender,
               const ResolveOptions& opts) {
  auto base = sender;
  if (auto sub = split_subaddress(sender.local, opts.subaddress_separator)) base.local = sub->base;
  for (const auto& m : list.members) {
    auto a = parse_address(m);
    if (!a) continue;
    if (*a == sender || *a == base) return true;
  }
  (void)dir;
  return false;
}

}  // namespace

Result<Resolution> resolve(const DirectorySnapshot& dir, std::string_view recipient, const ResolveOptions& opts,
                           std::optional<std::string_view> sender) {
  auto addr = parse_address(recipient);
  if (!addr) return fail(addr.error());
  Resolution r;
  r.recipient = *addr;
  const Domain* domain = dir.find_domain(addr->domain);
  if (!domain) {
    r.status = ResolveStatus::not_local;
    return r;
  }
  if (!domain->incoming) {
    r.status = ResolveStatus::domain_disabled;
    return r;
  }
  Expander ex{dir, opts, {}, {}};
  ex.visited.insert(addr->str());
  auto use_catch_all = [&]() {
    for (const auto& t : domain->catch_all) ex.expand(t, 1, "");
    r.via_catch_all = !ex.out.empty();
  };
  Match m = find_address(dir, addr->local, addr->domain, opts.subaddress_separator);
  r.detail = m.detail;
  if (m.mailbox && !m.mailbox->active) {
    use_catch_all();
    r.status = ex.out.empty() ? ResolveStatus::inactive : ResolveStatus::deliver;
  } else if (m.list && !m.list->active) {
    use_catch_all();
    r.status = ex.out.empty() ? ResolveStatus::inactive : ResolveStatus::deliver;
  } else if (m.list && m.list->members_only && sender) {
    auto s = parse_address(*sender);
    if (!s || !is_member(dir, *m.list, *s, opts)) {
      r.status = ResolveStatus::members_only;
      return r;
    }
    ex.expand_match(m, 0, "");
    r.status = ex.out.empty() ? ResolveStatus::inactive : ResolveStatus::deliver;
  } else if (m) {
    ex.expand_match(m, 0, "");
    // An alias or list whose every target is disabled behaves like a disabled mailbox.
    r.status = ex.out.empty() ? ResolveStatus::inactive : ResolveStatus::deliver;
  } else {
    use_catch_all();
    r.status = ex.out.empty() ? ResolveStatus::unknown : ResolveStatus::deliver;
  }
  r.targets = std::move(ex.out);
  return r;
}

std::size_t suppress_list_duplicates(std::vector<DeliveryTarget>& targets, const std::vector<std::string>& to_cc,
                                     const DirectorySnapshot& dir, const ResolveOptions& opts) {
  std::set<std::string> direct;  // addresses reached without a list
  for (const auto& h : to_cc) {
    auto a = parse_address(h);
    if (!a) continue;
    direct.insert(a->str());
    auto r = resolve(dir, a->str(), opts);
    if (!r || r->status != ResolveStatus::deliver) continue;
    for (const auto& t : r->targets)
      if (t.via_list.empty()) direct.insert(t.address);
  }
  auto before = targets.size();
  std::erase_if(targets, [&](const DeliveryTarget& t) { return !t.via_list.empty() && direct.count(t.address); });
  return before - targets.size();
}

Reply SendAsVerdict::reply(std::string_view from) const {
  if (allowed) return {250, "2.1.0", "Sender OK"};
  return {553, "5.7.1", fmt::format("Sender address rejected: {} is not yours to send as", from)};
}

namespace {
std::vector<const Mailbox*> owned_like(const DirectorySnapshot& dir, const Mailbox& login) {
  std::vector<const Mailbox*> out;
  for (const auto& m : dir.mailboxes)
    if (&m == &login || (m.owner == login.owner && m.owner_type == login.owner_type && !login.owner.empty()))
      out.push_back(&m);
  return out;
}
}  // namespace

SendAsVerdict may_send_as(const DirectorySnapshot& dir, std::string_view login, std::string_view from,
                          const ResolveOptions& opts) {
  if (opts.masquerading) return {true, "masquerading is enabled"};
  auto l = parse_address(login);
  if (!l) return {false, "the login is not an address"};
  auto f = parse_address(from);
  if (!f) return {false, fmt::format("the sender is not an address: {}", f.error().message)};
  const Mailbox* me = dir.find_mailbox(l->local, l->domain);
  if (!me) return {false, fmt::format("{} has no mailbox", l->str())};
  auto mine = owned_like(dir, *me);
  auto owns = [&](std::string_view address) {
    return std::any_of(mine.begin(), mine.end(), [&](const Mailbox* m) { return m->address() == address; });
  };
  Address base = *f;
  if (auto sub = split_subaddress(f->local, opts.subaddress_separator)) base.local = sub->base;
  if (owns(f->str()) || owns(base.str())) return {true, "own address"};
  if (!dir.find_domain(f->domain)) return {false, fmt::format("{} is not a local address", f->str())};
  Match m = find_address(dir, f->local, f->domain, opts.subaddress_separator);
  if (m.alias) {
    Expander ex{dir, opts, {}, {}};
    ex.expand_match(m, 0, "");
    for (const auto& t : ex.out)
      if (t.local && owns(t.address)) return {true, fmt::format("alias {} of an own mailbox", m.alias->address())};
  } else if (m.list && opts.send_as_lists) {
    for (const Mailbox* mb : mine)
      if (is_member(dir, *m.list, Address{mb->name, mb->domain}, opts))
        return {true, fmt::format("member of the list {}", m.list->address())};
  }
  return {false, fmt::format("{} may not send as {}", l->str(), f->str())};
}

Result<LoginRecord> lookup_login(const DirectorySnapshot& dir, std::string_view login) {
  auto a = parse_address(login);
  if (!a) return fail(a.error());
  const Mailbox* mb = dir.find_mailbox(a->local, a->domain);
  if (!mb) {
    if (find_exact(dir, a->local, a->domain) || find_wildcard(dir, a->local, a->domain))
      return fail(ErrorCategory::not_found,
                  fmt::format("{} is an alias or list, not a mailbox: log in with the mailbox address", a->str()));
    return fail(ErrorCategory::not_found, fmt::format("no mailbox {}", a->str()));
  }
  LoginRecord r;
  r.mailbox = mb->address();
  r.active = mb->active;
  if (!mb->password_hash.empty()) r.credentials.push_back({r.mailbox, mb->password_hash, ""});
  auto add_user = [&](std::string_view name, bool owner) {
    const User* u = dir.find_user(name);
    if (!u) return;
    if (!u->active) {
      if (!owner) return;  // a disabled group member is skipped
      r.active = false;    // a disabled owner: the password still verifies, the login is then refused
    }
    if (!u->password_hash.empty() || !u->ldap_dn.empty()) r.credentials.push_back({u->name, u->password_hash, u->ldap_dn});
  };
  if (mb->owner_type == OwnerType::user) {
    add_user(mb->owner, true);
  } else if (mb->owner_type == OwnerType::group) {
    if (const Group* g = dir.find_group(mb->owner))
      for (const auto& member : g->members) add_user(member, false);
  }
  return r;
}

Result<LoginRecord> lookup_master(const DirectorySnapshot& dir, std::string_view master_name) {
  const MasterUser* m = dir.find_master(master_name);
  if (!m) return fail(ErrorCategory::not_found, fmt::format("no master user {}", master_name));
  LoginRecord r;
  r.mailbox = m->name;
  r.credentials.push_back({m->name, m->password_hash, ""});
  return r;
}

Status validate_snapshot(const DirectorySnapshot& dir, char sep) {
  auto bad = [](std::string msg) { return fail(ErrorCategory::invalid_argument, std::move(msg)); };
  std::set<std::string> seen;
  for (const auto& d : dir.domains) {
    if (auto st = validate_domain_name(d.name); !st) return st;
    if (!seen.insert(d.name).second) return bad(fmt::format("the domain {} is listed twice", d.name));
    for (const auto& t : d.catch_all)
      if (auto a = parse_address(t); !a)
        return bad(fmt::format("catch-all of {}: {}", d.name, a.error().message));
  }
  seen.clear();
  for (const auto& u : dir.users) {
    if (auto st = validate_user_name(u.name); !st) return st;
    if (!seen.insert(u.name).second) return bad(fmt::format("the user {} is listed twice", u.name));
  }
  seen.clear();
  for (const auto& g : dir.groups) {
    if (auto st = validate_user_name(g.name); !st) return bad(fmt::format("group: {}", st.error().message));
    if (!seen.insert(g.name).second) return bad(fmt::format("the group {} is listed twice", g.name));
    for (const auto& m : g.members)
      if (!dir.find_user(m)) return bad(fmt::format("the group {} has a member {} who is not a user", g.name, m));
  }
  std::set<std::string> addresses;
  for (const auto& m : dir.mailboxes) {
    auto kind = m.owner_type == OwnerType::app ? NameKind::app_mailbox : NameKind::user_mailbox;
    if (auto st = validate_mailbox_name(m.name, kind, sep); !st) return st;
    if (!dir.find_domain(m.domain))
      return bad(fmt::format("the mailbox {} is in the domain {}, which is not in the directory", m.address(), m.domain));
    if (!addresses.insert(m.address()).second) return bad(fmt::format("the mailbox {} is listed twice", m.address()));
    if (m.owner_type == OwnerType::user && !m.owner.empty() && !dir.find_user(m.owner))
      return bad(fmt::format("the mailbox {} is owned by {}, who is not a user", m.address(), m.owner));
    if (m.owner_type == OwnerType::group && !dir.find_group(m.owner))
      return bad(fmt::format("the mailbox {} is owned by the group {}, which does not exist", m.address(), m.owner));
  }
  for (const auto& l : dir.lists) {
    if (auto st = validate_mailbox_name(l.name, NameKind::user_mailbox, sep); !st)
      return bad(fmt::format("list: {}", st.error().message));
    if (!dir.find_domain(l.domain))
      return bad(fmt::format("the list {} is in the domain {}, which is not in the directory", l.address(), l.domain));
    if (!addresses.insert(l.address()).second)
      return bad(fmt::format("the list {} has the address of an existing mailbox or list", l.address()));
    for (const auto& m : l.members)
      if (auto a = parse_address(m); !a) return bad(fmt::format("member of {}: {}", l.address(), a.error().message));
  }
  for (const auto& a : dir.aliases) {
    if (auto st = validate_alias_name(a.name, sep); !st) return st;
    if (!dir.find_domain(a.domain))
      return bad(fmt::format("the alias {} is in the domain {}, which is not in the directory", a.address(), a.domain));
    if (!addresses.insert(a.address()).second)
      return bad(fmt::format("the alias {} conflicts with an existing mailbox, list or alias", a.address()));
    if (a.targets.empty()) return bad(fmt::format("the alias {} has no target", a.address()));
    for (const auto& t : a.targets)
      if (auto p = parse_address(t); !p) return bad(fmt::format("target of {}: {}", a.address(), p.error().message));
  }
  seen.clear();
  for (const auto& m : dir.masters)
    if (!seen.insert(m.name).second) return bad(fmt::format("the master user {} is listed twice", m.name));
  return {};
}

}  // namespace tern::directory
