// The embedded default directory: one TOML file under the data directory, plus docker-mailserver's
// files read as-is when present, so operators can migrate without converting anything.
//
//   <data_dir>/directory/directory.toml   domains, users, groups, mailboxes, aliases, lists, masters
//   <dms_dir>/postfix-accounts.cf         user@domain|{SCHEME}hash          (read-only)
//   <dms_dir>/postfix-virtual.cf          alias@domain target[, target...]  "@domain target" = catch-all
//   <dms_dir>/dovecot-masters.cf          name|{SCHEME}hash                 (master users)
//
// The TOML file is authoritative: docker-mailserver entries that collide with it are skipped with a
// warning. Writes (DirectoryEditor::apply) go to the TOML file only, atomically: write a temporary
// file, fsync, rename over the old one, fsync the directory; a lock file serialises writers across
// processes (ternctl and the server). Readers notice changes by (inode, size, mtime) at most once per
// `check_interval` and reload without a restart; a file that fails to parse is reported and the last
// good view stays in use. The format is documented in docs/directory.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "tern/core/result.hpp"
#include "tern/directory/directory.hpp"

namespace tern::directory {

struct FileDirectoryOptions {
  std::filesystem::path file;     // the TOML file (default <data_dir>/directory/directory.toml)
  std::filesystem::path dms_dir;  // where postfix-accounts.cf etc. are looked for; empty: not read
  ResolveOptions resolve;
  std::chrono::milliseconds check_interval{1000};  // 0: stat on every call
};

class FileDirectory final : public Directory, public DirectoryEditor {
 public:
  // Loads the files (a missing TOML file is an empty directory). Errors: parse errors with file:line.
  static Result<std::unique_ptr<FileDirectory>> open(FileDirectoryOptions options);
  ~FileDirectory() override;

  Result<std::shared_ptr<const DirectorySnapshot>> snapshot() override;
  std::shared_ptr<const DirectorySnapshot> snapshot_if_ready() override;  // nullptr when a reload check is due
  const ResolveOptions& options() const override { return options_.resolve; }
  Status apply(const std::function<Status(DirectorySnapshot&)>& edit) override;

  // Checks the files now (ignoring check_interval); true if something was reloaded.
  Result<bool> reload();

 private:
  explicit FileDirectory(FileDirectoryOptions options);
  struct State;
  FileDirectoryOptions options_;
  std::unique_ptr<State> state_;
};

// The TOML codec, exposed for tests and ternctl. parse reports "FILE:LINE: key: message".
Result<DirectorySnapshot> parse_directory_toml(std::string_view text, const std::string& file_name);
std::string render_directory_toml(const DirectorySnapshot& snapshot);

// docker-mailserver formats. Lines that cannot be read are reported as "FILE:LINE: message" in
// `warnings` and skipped (the rest of the file still counts, as with Postfix/Dovecot).
struct DmsData {
  std::vector<Mailbox> accounts;  // owner empty, password_hash set
  std::vector<Alias> aliases;
  std::vector<std::pair<std::string, std::vector<std::string>>> catch_alls;  // domain -> targets
  std::vector<MasterUser> masters;
  std::vector<std::string> warnings;
};
void parse_postfix_accounts(std::string_view text, const std::string& file_name, DmsData& out);
void parse_postfix_virtual(std::string_view text, const std::string& file_name, DmsData& out);
void parse_dovecot_masters(std::string_view text, const std::string& file_name, DmsData& out);
// Adds docker-mailserver data to a snapshot (domains created as needed); collisions are warnings.
void merge_dms(DirectorySnapshot& into, const DmsData& dms, std::vector<std::string>& warnings);

}  // namespace tern::directory
