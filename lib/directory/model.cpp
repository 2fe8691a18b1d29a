#include "tern/directory/model.hpp"

#include <algorithm>
#include <unordered_map>

namespace tern::directory {

std::string_view to_string(OwnerType t) noexcept {
  switch (t) {
    case OwnerType::user: return "user";
    case OwnerType::group: return "group";
    case OwnerType::app: return "app";
  }
  return "user";
}

std::optional<OwnerType> parse_owner_type(std::string_view s) noexcept {
  if (s == "user") return OwnerType::user;
  if (s == "group") return OwnerType::group;
  if (s == "app") return OwnerType::app;
  return std::nullopt;
}

namespace {
template <class V, class Pred>
auto find_in(V& v, Pred p) -> decltype(&v.front()) {
  auto it = std::find_if(v.begin(), v.end(), p);
  return it == v.end() ? nullptr : &*it;
}
}  // namespace

struct DirectoryIndex {
  // Keys are "name" or "local@domain"; values are positions in the snapshot's vectors. The first
  // entry wins, as with the linear scans.
  using Map = std::unordered_map<std::string, std::size_t>;
  Map domains, users, groups, mailboxes, lists, aliases, masters;
  std::unordered_map<std::string, std::vector<std::size_t>> wildcards;  // domain -> alias positions
};

namespace {
std::string key(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + b.size() + 1);
  k.append(a).push_back('@');
  k.append(b);
  return k;
}
template <class V>
auto lookup(const DirectoryIndex::Map& m, const V& v, const std::string& k) -> decltype(&v.front()) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : &v[it->second];
}
}  // namespace

void DirectorySnapshot::build_index() {
  auto idx = std::make_shared<DirectoryIndex>();
  for (std::size_t i = 0; i < domains.size(); ++i) idx->domains.emplace(domains[i].name, i);
  for (std::size_t i = 0; i < users.size(); ++i) idx->users.emplace(users[i].name, i);
  for (std::size_t i = 0; i < groups.size(); ++i) idx->groups.emplace(groups[i].name, i);
  for (std::size_t i = 0; i < mailboxes.size(); ++i) idx->mailboxes.emplace(key(mailboxes[i].name, mailboxes[i].domain), i);
  for (std::size_t i = 0; i < lists.size(); ++i) idx->lists.emplace(key(lists[i].name, lists[i].domain), i);
  for (std::size_t i = 0; i < aliases.size(); ++i) {
    idx->aliases.emplace(key(aliases[i].name, aliases[i].domain), i);
    if (aliases[i].wildcard()) idx->wildcards[aliases[i].domain].push_back(i);
  }
  for (std::size_t i = 0; i < masters.size(); ++i) idx->masters.emplace(masters[i].name, i);
  index_.index = std::move(idx);
}

const Domain* DirectorySnapshot::find_domain(std::string_view n) const {
  if (index_.index) return lookup(index_.index->domains, domains, std::string(n));
  return find_in(domains, [&](const Domain& d) { return d.name == n; });
}
const User* DirectorySnapshot::find_user(std::string_view n) const {
  if (index_.index) return lookup(index_.index->users, users, std::string(n));
  return find_in(users, [&](const User& u) { return u.name == n; });
}
const Group* DirectorySnapshot::find_group(std::string_view n) const {
  if (index_.index) return lookup(index_.index->groups, groups, std::string(n));
  return find_in(groups, [&](const Group& g) { return g.name == n; });
}
const Mailbox* DirectorySnapshot::find_mailbox(std::string_view n, std::string_view d) const {
  if (index_.index) return lookup(index_.index->mailboxes, mailboxes, key(n, d));
  return find_in(mailboxes, [&](const Mailbox& m) { return m.name == n && m.domain == d; });
}
const MailingList* DirectorySnapshot::find_list(std::string_view n, std::string_view d) const {
  if (index_.index) return lookup(index_.index->lists, lists, key(n, d));
  return find_in(lists, [&](const MailingList& l) { return l.name == n && l.domain == d; });
}
const Alias* DirectorySnapshot::find_alias(std::string_view n, std::string_view d) const {
  if (index_.index) return lookup(index_.index->aliases, aliases, key(n, d));
  return find_in(aliases, [&](const Alias& a) { return a.name == n && a.domain == d; });
}
const MasterUser* DirectorySnapshot::find_master(std::string_view n) const {
  if (index_.index) return lookup(index_.index->masters, masters, std::string(n));
  return find_in(masters, [&](const MasterUser& m) { return m.name == n; });
}
std::vector<const Alias*> DirectorySnapshot::wildcard_aliases(std::string_view domain) const {
  std::vector<const Alias*> out;
  if (index_.index) {
    auto it = index_.index->wildcards.find(std::string(domain));
    if (it != index_.index->wildcards.end())
      for (auto i : it->second) out.push_back(&aliases[i]);
    return out;
  }
  for (const auto& a : aliases)
    if (a.domain == domain && a.wildcard()) out.push_back(&a);
  return out;
}

Domain* DirectorySnapshot::find_domain(std::string_view n) {
  return find_in(domains, [&](const Domain& d) { return d.name == n; });
}
User* DirectorySnapshot::find_user(std::string_view n) {
  return find_in(users, [&](const User& u) { return u.name == n; });
}
Mailbox* DirectorySnapshot::find_mailbox(std::string_view n, std::string_view d) {
  return find_in(mailboxes, [&](const Mailbox& m) { return m.name == n && m.domain == d; });
}
MailingList* DirectorySnapshot::find_list(std::string_view n, std::string_view d) {
  return find_in(lists, [&](const MailingList& l) { return l.name == n && l.domain == d; });
}

}  // namespace tern::directory
