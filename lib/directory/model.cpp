#include "tern/directory/model.hpp"

#include <algorithm>

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

const Domain* DirectorySnapshot::find_domain(std::string_view n) const {
  return find_in(domains, [&](const Domain& d) { return d.name == n; });
}
const User* DirectorySnapshot::find_user(std::string_view n) const {
  return find_in(users, [&](const User& u) { return u.name == n; });
}
const Group* DirectorySnapshot::find_group(std::string_view n) const {
  return find_in(groups, [&](const Group& g) { return g.name == n; });
}
const Mailbox* DirectorySnapshot::find_mailbox(std::string_view n, std::string_view d) const {
  return find_in(mailboxes, [&](const Mailbox& m) { return m.name == n && m.domain == d; });
}
const MailingList* DirectorySnapshot::find_list(std::string_view n, std::string_view d) const {
  return find_in(lists, [&](const MailingList& l) { return l.name == n && l.domain == d; });
}
const Alias* DirectorySnapshot::find_alias(std::string_view n, std::string_view d) const {
  return find_in(aliases, [&](const Alias& a) { return a.name == n && a.domain == d; });
}
const MasterUser* DirectorySnapshot::find_master(std::string_view n) const {
  return find_in(masters, [&](const MasterUser& m) { return m.name == n; });
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
