// Settings of the LDAP directory backend ([directory.ldap]). The defaults model a Cloudron-style tree
// (ou=users, ou=groups, ou=mailboxes, ou=lists, ou=domains under base_dn) with standard attributes
// where they exist (uid, userPassword, member, mail, owner, rfc822MailMember); every filter and
// attribute name can be changed to fit another schema.
#pragma once

#include <chrono>
#include <string>

namespace tern::directory {

struct LdapConfig {
  std::string uri = "ldap://127.0.0.1:389";  // ldaps://host:636 for LDAPS
  bool start_tls = false;                    // StartTLS on ldap:// (RFC 4513 3)
  std::string ca_file;                       // CA bundle for TLS; "" = system default
  bool tls_verify = true;                    // verify the server certificate
  std::string bind_dn;                       // service account; "" = anonymous
  std::string bind_password;
  std::string base_dn;                       // required
  std::string auth = "bind";                 // "bind": bind as the user's DN; "compare": read the password attribute
  int pool_size = 4;                         // connections kept open
  std::chrono::milliseconds timeout{5000};   // per operation
  std::chrono::milliseconds cache_ttl{30000};  // how long a directory snapshot is reused

  std::string user_filter = "(objectClass=inetOrgPerson)";
  std::string user_name_attribute = "uid";
  std::string user_password_attribute = "userPassword";
  std::string user_active_attribute = "";    // boolean attribute ("TRUE"/"FALSE"); "" = always active

  std::string group_filter = "(objectClass=groupOfNames)";
  std::string group_name_attribute = "cn";
  std::string group_member_attribute = "member";  // member DNs (or user names)

  std::string mailbox_filter = "(objectClass=ternMailbox)";
  std::string mailbox_address_attribute = "mail";
  std::string mailbox_owner_attribute = "owner";          // DN of the owning user/group, or a name
  std::string mailbox_owner_type_attribute = "ternOwnerType";  // user | group | app ("" = from the owner DN)
  std::string mailbox_alias_attribute = "ternMailAlias";  // alias addresses of the mailbox
  std::string mailbox_active_attribute = "ternActive";
  std::string mailbox_password_attribute = "userPassword";  // the mailbox's own secret (apps)

  std::string list_filter = "(objectClass=ternMailList)";
  std::string list_address_attribute = "mail";
  std::string list_member_attribute = "rfc822MailMember";
  std::string list_members_only_attribute = "ternMembersOnly";
  std::string list_active_attribute = "ternActive";

  std::string domain_filter = "(objectClass=ternMailDomain)";
  std::string domain_name_attribute = "cn";
  std::string domain_incoming_attribute = "ternIncoming";
  std::string domain_catch_all_attribute = "ternCatchAll";
};

}  // namespace tern::directory
