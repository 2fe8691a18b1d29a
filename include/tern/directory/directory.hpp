// tern::directory::Directory: who exists, where their mail goes, who may log in.
//
// Backends: FileDirectory (embedded default, file_directory.hpp), LdapDirectory (ldap_directory.hpp),
// or a host's own class. A backend only has to produce a DirectorySnapshot; the default methods run
// the shared resolution engine (resolution.hpp) on it, so every backend obeys the same rules. A host
// that answers queries live (its own database) may override resolve/lookup_login directly instead.
//
// Blocking: every method here MAY BLOCK (file stat/parse on reload, LDAP round trips). Servers call
// them from the worker pool, never from an I/O thread — except snapshot_if_ready(), which never blocks and
// lets an I/O thread answer from memory without the round trip to a worker. Implementations are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "tern/core/result.hpp"
#include "tern/directory/model.hpp"
#include "tern/directory/resolution.hpp"

namespace tern::directory {

class Directory {
 public:
  virtual ~Directory() = default;

  // The current view of the directory (reloaded if its source changed). BLOCKING.
  // A host that answers queries live overrides the methods below instead; the default here fails
  // with `unsupported`.
  virtual Result<std::shared_ptr<const DirectorySnapshot>> snapshot();
  virtual const ResolveOptions& options() const = 0;
  // NEVER BLOCKS. The snapshot snapshot() would return, when the backend holds it in memory and no reload
  // is due; nullptr otherwise (then call snapshot() from a worker). The SMTP session resolves recipients
  // with it on its own thread (the shared engine, as the default resolve() does), saving two thread
  // hand-offs per lookup. Default: nullptr — a backend that overrides resolve() or may_send_as() (a host
  // answering live) keeps that default, so its overrides are always the ones called.
  virtual std::shared_ptr<const DirectorySnapshot> snapshot_if_ready();

  // RCPT TO resolution. BLOCKING.
  virtual Result<Resolution> resolve(std::string_view recipient, std::optional<std::string_view> sender = std::nullopt);
  // Anti-spoofing for authenticated submission. BLOCKING.
  virtual Result<SendAsVerdict> may_send_as(std::string_view login, std::string_view from);
  // Credentials for a login name (mailbox address only). BLOCKING.
  virtual Result<LoginRecord> lookup_login(std::string_view login);
  virtual Result<LoginRecord> lookup_master(std::string_view master_name);
  // Verifies a credential that has no local hash (LDAP bind). BLOCKING. Default: unsupported.
  virtual Result<bool> verify_external(const Credential& credential, std::string_view password);
};

// A directory that can be changed (file backend; not LDAP, which is edited with LDAP tools).
class DirectoryEditor {
 public:
  virtual ~DirectoryEditor() = default;
  // Applies `edit` to a fresh copy of the current data, checks validate_snapshot(), stores it
  // durably, and publishes it. Nothing is stored when edit or validation fails. BLOCKING.
  virtual Status apply(const std::function<Status(DirectorySnapshot&)>& edit) = 0;
};

// An in-memory directory: for hosts that build the snapshot themselves and for tests.
class MemoryDirectory final : public Directory, public DirectoryEditor {
 public:
  explicit MemoryDirectory(DirectorySnapshot snap = {}, ResolveOptions opts = {});
  Result<std::shared_ptr<const DirectorySnapshot>> snapshot() override;
  std::shared_ptr<const DirectorySnapshot> snapshot_if_ready() override;
  const ResolveOptions& options() const override { return opts_; }
  Status apply(const std::function<Status(DirectorySnapshot&)>& edit) override;
  void replace(DirectorySnapshot snap);

 private:
  std::shared_ptr<const DirectorySnapshot> current() const;
  ResolveOptions opts_;
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tern::directory
