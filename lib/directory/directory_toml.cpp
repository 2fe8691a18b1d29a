// directory.toml: reading with file:line diagnostics (via ConfigSection) and writing.
#include <fmt/format.h>

#include "tern/core/config.hpp"
#include "tern/directory/address.hpp"
#include "tern/directory/file_directory.hpp"

namespace tern::directory {

namespace {

bool split(ConfigSection& s, std::string_view key, std::string& local, std::string& domain) {
  std::string text;
  if (!s.get(key, text)) {
    s.error(key, "is required");
    return false;
  }
  auto a = parse_address(text);
  if (!a) {
    s.error(key, a.error().message);
    return false;
  }
  local = a->local;
  domain = a->domain;
  return true;
}

void lower_all(std::vector<std::string>& v) {
  for (auto& x : v) x = to_lower(x);
}

}  // namespace

Result<DirectorySnapshot> parse_directory_toml(std::string_view text, const std::string& file_name) {
  ConfigDiagnostics diag;
  auto doc = ConfigDocument::load_string(text, file_name, {}, diag);
  if (!diag.ok()) return fail(diag.to_error());
  auto root = doc->root(diag);
  if (!root) return fail(diag.to_error());
  DirectorySnapshot d;
  std::int64_t version = 1;
  root->get("version", version, 1, 1);
  for (auto& s : root->tables("domain")) {
    Domain dom;
    if (!s.get("name", dom.name)) s.error("name", "is required");
    dom.name = to_lower(dom.name);
    s.get("incoming", dom.incoming);
    s.get_size("max_message_size", dom.max_message_size);
    s.get("catch_all", dom.catch_all);
    lower_all(dom.catch_all);
    s.finish();
    d.domains.push_back(std::move(dom));
  }
  for (auto& s : root->tables("user")) {
    User u;
    if (!s.get("name", u.name)) s.error("name", "is required");
    u.name = to_lower(u.name);
    s.get("password", u.password_hash);
    s.get("active", u.active);
    s.finish();
    d.users.push_back(std::move(u));
  }
  for (auto& s : root->tables("group")) {
    Group g;
    if (!s.get("name", g.name)) s.error("name", "is required");
    g.name = to_lower(g.name);
    s.get("members", g.members);
    lower_all(g.members);
    s.finish();
    d.groups.push_back(std::move(g));
  }
  for (auto& s : root->tables("mailbox")) {
    Mailbox m;
    split(s, "address", m.name, m.domain);
    s.get("owner", m.owner);
    m.owner = to_lower(m.owner);
    std::string type = "user";
    s.get("owner_type", type);
    if (auto t = parse_owner_type(type)) m.owner_type = *t;
    else s.error("owner_type", "must be \"user\", \"group\" or \"app\"");
    s.get("active", m.active);
    s.get_size("quota_bytes", m.quota.bytes);
    std::int64_t msgs = 0;
    if (s.get("quota_messages", msgs, 0)) m.quota.messages = static_cast<std::uint64_t>(msgs);
    s.get("password", m.password_hash);
    s.finish();
    d.mailboxes.push_back(std::move(m));
  }
  for (auto& s : root->tables("alias")) {
    Alias a;
    split(s, "address", a.name, a.domain);
    if (!s.get("targets", a.targets)) s.error("targets", "is required");
    lower_all(a.targets);
    s.finish();
    d.aliases.push_back(std::move(a));
  }
  for (auto& s : root->tables("list")) {
    MailingList l;
    split(s, "address", l.name, l.domain);
    s.get("members", l.members);
    lower_all(l.members);
    s.get("members_only", l.members_only);
    s.get("active", l.active);
    s.finish();
    d.lists.push_back(std::move(l));
  }
  for (auto& s : root->tables("master")) {
    MasterUser m;
    if (!s.get("name", m.name)) s.error("name", "is required");
    if (!s.get("password", m.password_hash)) s.error("password", "is required");
    s.finish();
    d.masters.push_back(std::move(m));
  }
  root->finish();
  if (!diag.ok()) return fail(diag.to_error());
  return d;
}

namespace {

// TOML basic string (TOML 1.0 "Basic strings").
std::string q(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04X}", c);
        else out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

std::string arr(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += q(v[i]);
  }
  return out + "]";
}

const char* b(bool v) { return v ? "true" : "false"; }

}  // namespace

std::string render_directory_toml(const DirectorySnapshot& d) {
  std::string o;
  o += "# Tern directory: domains, users, groups, mailboxes, aliases, lists.\n"
       "# Managed with `ternctl`; hand edits are picked up without a restart (see docs/directory.md).\n"
       "version = 1\n";
  for (const auto& x : d.domains) {
    o += fmt::format("\n[[domain]]\nname = {}\nincoming = {}\ncatch_all = {}\n", q(x.name), b(x.incoming),
                     arr(x.catch_all));
    if (x.max_message_size) o += fmt::format("max_message_size = {}\n", x.max_message_size);
  }
  for (const auto& x : d.users)
    o += fmt::format("\n[[user]]\nname = {}\npassword = {}\nactive = {}\n", q(x.name), q(x.password_hash),
                     b(x.active));
  for (const auto& x : d.groups) o += fmt::format("\n[[group]]\nname = {}\nmembers = {}\n", q(x.name), arr(x.members));
  for (const auto& x : d.mailboxes) {
    o += fmt::format("\n[[mailbox]]\naddress = {}\nowner = {}\nowner_type = {}\nactive = {}\n", q(x.address()),
                     q(x.owner), q(to_string(x.owner_type)), b(x.active));
    if (x.quota.bytes) o += fmt::format("quota_bytes = {}\n", x.quota.bytes);
    if (x.quota.messages) o += fmt::format("quota_messages = {}\n", x.quota.messages);
    if (!x.password_hash.empty()) o += fmt::format("password = {}\n", q(x.password_hash));
  }
  for (const auto& x : d.aliases)
    o += fmt::format("\n[[alias]]\naddress = {}\ntargets = {}\n", q(x.address()), arr(x.targets));
  for (const auto& x : d.lists)
    o += fmt::format("\n[[list]]\naddress = {}\nmembers = {}\nmembers_only = {}\nactive = {}\n", q(x.address()),
                     arr(x.members), b(x.members_only), b(x.active));
  for (const auto& x : d.masters)
    o += fmt::format("\n[[master]]\nname = {}\npassword = {}\n", q(x.name), q(x.password_hash));
  return o;
}

}  // namespace tern::directory
