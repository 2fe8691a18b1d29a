// RFC 8474 OBJECTID: MAILBOXID, EMAILID (THREADID is always NIL). See imap_session.hpp.
//
// MAILBOXID is the store's mailbox id (Maildir: the GUID in dovecot-uidlist's header, which moves with the
// folder on RENAME, as in Dovecot). EMAILID is "E<mailboxid>-<uid>" of the mailbox and UID the message was
// first saved under: unique (UIDs are never reused within a MAILBOXID) and stable without being stored.
// COPY and MOVE give the copy a new UID in another mailbox, so the original's EMAILID is written to the
// store's per-message cache (UserMailbox::cache, field "emailid") for the copy, where it outlives restarts;
// an index rebuild forgets it and the copy then gets its own (still unique) EMAILID.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "imap_session.hpp"

namespace tern::imap {
namespace {

constexpr std::string_view kEmailIdField = "emailid";

// objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §7).
bool is_objectid(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string ImapSession::mailbox_id_of(const std::string& name, const store::MailboxStatus& status) {
  if (is_objectid(status.mailbox_id) && status.mailbox_id.size() < 200) return status.mailbox_id;
  // A store without ids: the name (FNV-1a) and UIDVALIDITY, so a mailbox recreated under the same name differs.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}{:08x}", h, status.uid_validity);
}

std::vector<std::string> ImapSession::email_ids(const std::string& mailbox, const std::string& mailbox_id,
                                                const std::vector<std::uint32_t>& uids) {
  auto cached = user_->cached(mailbox, uids, kEmailIdField);
  std::vector<std::string> out;
  out.reserve(uids.size());
  for (std::size_t i = 0; i < uids.size(); ++i) {
    if (i < cached.size() && cached[i] && is_objectid(*cached[i])) out.push_back(std::move(*cached[i]));
    else out.push_back(fmt::format("E{}-{}", mailbox_id, uids[i]));
  }
  return out;
}

void ImapSession::carry_email_ids(const std::string& dest, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& pairs,
                                  const std::vector<std::string>& source_ids, const std::vector<std::uint32_t>& source_uids) {
  std::vector<store::UserMailbox::CacheEntry> entries;
  entries.reserve(pairs.size());
  for (const auto& [from, to] : pairs) {
    // source_uids is sorted (resolve() returns indexes in UID order).
    auto it = std::lower_bound(source_uids.begin(), source_uids.end(), from);
    if (it == source_uids.end() || *it != from) continue;
    entries.push_back({to, source_ids[static_cast<std::size_t>(it - source_uids.begin())]});
  }
  if (!entries.empty()) user_->cache(dest, kEmailIdField, entries);
}

}  // namespace tern::imap
