// Import/export of mailboxes in Cloudron's formats (reference/cloudron-email-docs):
//   CSV  : name,domain,owner,owner type,aliases,active   (aliases space separated "alias@domain";
//          import also takes the short form name,domain,owner,owner type; a header line is optional)
//   JSON : [{"name","domain","owner","ownerType","aliases":[{"name","domain"}],"active"}]
// Parsers are bounded (record count, field and line length, JSON nesting) for untrusted uploads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/directory/model.hpp"

namespace tern::directory {

enum class TransferFormat { csv, json };

inline constexpr std::size_t kMaxTransferRecords = 100000;
inline constexpr std::size_t kMaxTransferBytes = 64u << 20;

struct MailboxRecord {
  std::string name;
  std::string domain;
  std::string owner;
  OwnerType owner_type = OwnerType::user;
  std::vector<std::string> aliases;  // "alias@domain"
  bool active = true;
  bool operator==(const MailboxRecord&) const = default;
};

// Mailboxes of the snapshot with their aliases (aliases whose single target is the mailbox).
std::vector<MailboxRecord> export_mailboxes(const DirectorySnapshot& snapshot);
std::string render_mailboxes(const std::vector<MailboxRecord>& records, TransferFormat format);
// Errors name the record ("line 3: ...", "record 2: ...").
Result<std::vector<MailboxRecord>> parse_mailboxes(std::string_view text, TransferFormat format);
// Adds every record (all or nothing: the first error leaves `snapshot` in an unspecified state, so
// call this on a copy, as DirectoryEditor::apply does). Missing user owners are created without a
// password (set one with `ternctl user passwd`); missing groups are an error.
Status import_mailboxes(DirectorySnapshot& snapshot, const std::vector<MailboxRecord>& records, char separator = '+');

}  // namespace tern::directory
