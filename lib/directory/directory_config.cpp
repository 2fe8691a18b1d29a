#include "tern/directory/directory_config.hpp"

#include <fmt/format.h>

#include "tern/directory/file_directory.hpp"
#include "tern/directory/ldap_directory.hpp"

namespace tern::directory {

namespace {

void get_attr(ConfigSection& s, std::string_view key, std::string& out) { s.get(key, out); }

void parse_ldap(ConfigSection& s, LdapConfig& l) {
  s.get("uri", l.uri);
  if (l.uri.rfind("ldap://", 0) != 0 && l.uri.rfind("ldaps://", 0) != 0 && l.uri.rfind("ldapi://", 0) != 0)
    s.error("uri", "must start with ldap://, ldaps:// or ldapi://");
  s.get("start_tls", l.start_tls);
  if (l.start_tls && l.uri.rfind("ldaps://", 0) == 0) s.error("start_tls", "cannot be used with an ldaps:// uri");
  s.get("ca_file", l.ca_file);
  s.get("tls_verify", l.tls_verify);
  s.get("bind_dn", l.bind_dn);
  s.get("bind_password", l.bind_password);
  if (!s.get("base_dn", l.base_dn)) s.error("base_dn", "is required for the LDAP backend");
  s.get("auth", l.auth);
  if (l.auth != "bind" && l.auth != "compare") s.error("auth", "must be \"bind\" or \"compare\"");
  s.get("pool_size", l.pool_size, 1, 64);
  s.get_duration("timeout", l.timeout);
  s.get_duration("cache_ttl", l.cache_ttl);
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"user_filter", &l.user_filter},
           {"user_name_attribute", &l.user_name_attribute},
           {"user_password_attribute", &l.user_password_attribute},
           {"user_active_attribute", &l.user_active_attribute},
           {"group_filter", &l.group_filter},
           {"group_name_attribute", &l.group_name_attribute},
           {"group_member_attribute", &l.group_member_attribute},
           {"mailbox_filter", &l.mailbox_filter},
           {"mailbox_address_attribute", &l.mailbox_address_attribute},
           {"mailbox_owner_attribute", &l.mailbox_owner_attribute},
           {"mailbox_owner_type_attribute", &l.mailbox_owner_type_attribute},
           {"mailbox_alias_attribute", &l.mailbox_alias_attribute},
           {"mailbox_active_attribute", &l.mailbox_active_attribute},
           {"mailbox_password_attribute", &l.mailbox_password_attribute},
           {"list_filter", &l.list_filter},
           {"list_address_attribute", &l.list_address_attribute},
           {"list_member_attribute", &l.list_member_attribute},
           {"list_members_only_attribute", &l.list_members_only_attribute},
           {"list_active_attribute", &l.list_active_attribute},
           {"domain_filter", &l.domain_filter},
           {"domain_name_attribute", &l.domain_name_attribute},
           {"domain_incoming_attribute", &l.domain_incoming_attribute},
           {"domain_catch_all_attribute", &l.domain_catch_all_attribute},
       })
    get_attr(s, k, *v);
  s.finish();
}

}  // namespace

Status parse_directory_config(ConfigSection& s, DirectoryConfig& out) {
  std::size_t before = s.diagnostics().issues().size();
  s.get("backend", out.backend);
  if (out.backend != "file" && out.backend != "ldap") s.error("backend", "must be \"file\" or \"ldap\"");
  s.get_path("file", out.file);
  s.get_path("dms_dir", out.dms_dir);
  std::string sep(1, out.resolve.subaddress_separator);
  if (s.get("subaddress_separator", sep)) {
    if (sep.empty()) out.resolve.subaddress_separator = '\0';
    else if (sep.size() == 1 && sep[0] > ' ' && sep[0] < 0x7f && sep[0] != '@' && sep[0] != '.')
      out.resolve.subaddress_separator = sep[0];
    else s.error("subaddress_separator", "must be one printable character other than '@' and '.', or \"\"");
  }
  s.get("masquerading", out.resolve.masquerading);
  s.get("send_as_lists", out.resolve.send_as_lists);
  s.get_duration("reload_interval", out.reload_interval);
  if (auto ldap = s.table("ldap")) parse_ldap(*ldap, out.ldap);
  else if (out.backend == "ldap") s.error("ldap", "backend = \"ldap\" needs a [directory.ldap] section");
  s.finish();
  if (s.diagnostics().issues().size() != before) return fail(s.diagnostics().to_error());
  return {};
}

std::filesystem::path directory_file(const DirectoryConfig& c, const std::filesystem::path& data_dir) {
  return c.file.empty() ? data_dir / "directory" / "directory.toml" : c.file;
}

Result<std::unique_ptr<Directory>> open_directory(const DirectoryConfig& c, const std::filesystem::path& data_dir) {
  if (c.backend == "ldap") {
    auto d = LdapDirectory::open(c.ldap, c.resolve);
    if (!d) return fail(d.error());
    return std::unique_ptr<Directory>(std::move(*d));
  }
  FileDirectoryOptions o;
  o.file = directory_file(c, data_dir);
  o.dms_dir = c.dms_dir;
  o.resolve = c.resolve;
  o.check_interval = c.reload_interval;
  auto d = FileDirectory::open(std::move(o));
  if (!d) return fail(d.error());
  return std::unique_ptr<Directory>(std::move(*d));
}

}  // namespace tern::directory
