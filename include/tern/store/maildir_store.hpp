// tern::store::MaildirStore: the embedded default MailStore, a Dovecot-compatible Maildir++ tree
// `<data_dir>/mail/<domain>/<user>/` (dovecot-uidlist v3, dovecot-keywords, maildirsize, subscriptions) with
// a per-user SQLite index `tern-index.sqlite` (a rebuildable cache plus MODSEQs). See docs/store.md.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "tern/store/mail_store.hpp"

namespace tern::store {

class MaildirStore final : public MailStore {
 public:
  explicit MaildirStore(std::filesystem::path data_dir);
  ~MaildirStore() override;

  Result<std::shared_ptr<UserMailbox>> open_user(std::string_view user, QuotaLimits limits = {}) override;
  Status delete_user(std::string_view user, DeleteMode mode) override;

  // Rebuilds the user's index (`tern-index.sqlite`) from the Maildir: uidlists re-read, directories listed,
  // files stat-ed, MODSEQs kept for unchanged files; quota recalculated. (`ternctl store reindex USER`.)
  Status reindex(std::string_view user);

  // `<data_dir>/mail/<domain>/<local>` for "local@domain".
  Result<std::filesystem::path> user_dir(std::string_view user) const;

 private:
  std::filesystem::path data_dir_;
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<UserMailbox>> open_;
};

// Maildir file-name flags (after ":2,"), in Dovecot's order: letters a..z are keyword indexes.
std::string maildir_flag_letters(std::uint32_t system, const std::vector<int>& keyword_indexes);

}  // namespace tern::store
