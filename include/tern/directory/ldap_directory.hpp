// LDAP directory backend (OpenLDAP client library). The whole directory (domains, users, groups,
// mailboxes, aliases, lists) is read with the configured filters and attribute mapping into a
// DirectorySnapshot that is reused for `cache_ttl`, so the shared resolution engine applies the
// same rules as for the file backend. Passwords are checked live on every login: by binding as the
// user's DN (auth = "bind", default) or by reading the password attribute and verifying its
// {SCHEME} hash locally (auth = "compare"). Connections are pooled; ldaps:// and StartTLS supported.
//
// BLOCKING: every call may do network round trips. Thread-safe.
#pragma once

#include <memory>

#include "tern/core/result.hpp"
#include "tern/directory/directory.hpp"
#include "tern/directory/ldap_config.hpp"

namespace tern::directory {

class LdapDirectory final : public Directory {
 public:
  // Connects once (bind as bind_dn) to report configuration errors early and loads the snapshot.
  static Result<std::unique_ptr<LdapDirectory>> open(const LdapConfig& config, ResolveOptions options = {});
  ~LdapDirectory() override;

  // The cached snapshot, refreshed when older than cache_ttl. When LDAP is unreachable the last
  // snapshot stays in use (logged); without one the error is `temporary`.
  Result<std::shared_ptr<const DirectorySnapshot>> snapshot() override;
  std::shared_ptr<const DirectorySnapshot> snapshot_if_ready() override;  // nullptr once older than cache_ttl
  const ResolveOptions& options() const override { return options_; }
  // Binds as credential.bind_dn with the password on a separate pooled connection.
  Result<bool> verify_external(const Credential& credential, std::string_view password) override;
  // Reads the directory now, ignoring the cache.
  Status refresh();

 private:
  LdapDirectory(const LdapConfig& config, ResolveOptions options);
  struct Impl;
  ResolveOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::directory
