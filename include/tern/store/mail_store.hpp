// tern::store::MailStore: where mail lives. Per-user mailboxes, UIDs, flags, MODSEQ, quota and change
// notifications. The embedded default is MaildirStore (maildir_store.hpp); a host may implement its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::store {

// Hierarchy separator of mailbox names (names are UTF-8; modified UTF-7 is handled at the IMAP edge).
inline constexpr char kMailboxSeparator = '/';

// RFC 6154 SPECIAL-USE attributes.
enum class SpecialUse { none, sent, drafts, junk, trash, archive };
std::string_view to_string(SpecialUse u) noexcept;  // "\\Sent", ... ("" for none)

// RFC 3501 system flags, as a bit set.
enum SystemFlag : std::uint32_t {
  flag_seen = 1u << 0,
  flag_answered = 1u << 1,
  flag_flagged = 1u << 2,
  flag_deleted = 1u << 3,
  flag_draft = 1u << 4,
};

struct MessageFlags {
  std::uint32_t system = 0;           // SystemFlag bits
  std::vector<std::string> keywords;  // IMAP keywords ($Forwarded, $Junk, ...), sorted, unique
  friend bool operator==(const MessageFlags&, const MessageFlags&) = default;
};

struct MailboxInfo {
  std::string name;  // "INBOX", "Sent", "Lists/tern"
  SpecialUse special_use = SpecialUse::none;
  bool subscribed = false;
};

struct MailboxStatus {
  std::uint32_t uid_validity = 0;
  std::uint32_t uid_next = 1;
  std::uint64_t highest_modseq = 1;
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  std::uint32_t recent = 0;
  std::uint64_t size = 0;  // bytes of all messages
  // RFC 8474 MAILBOXID: a stable identifier of the mailbox (kept by RENAME, never reused; the Maildir store
  // gives the mailbox GUID of dovecot-uidlist, as Dovecot does); "" when the store has none.
  std::string mailbox_id;
};

// One message's metadata (what FETCH FLAGS UID RFC822.SIZE INTERNALDATE MODSEQ returns).
struct MessageInfo {
  std::uint32_t uid = 0;
  MessageFlags flags;
  std::uint64_t modseq = 1;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;  // seconds since the epoch
  // RFC 8514 save date: when the message was placed in this mailbox (APPEND, delivery, COPY, MOVE), in
  // seconds since the epoch; 0 when the store cannot tell.
  std::int64_t save_date = 0;
  friend bool operator==(const MessageInfo&, const MessageInfo&) = default;
};

// Parsed structure (envelope/bodystructure) cached per message. The store does not parse: a
// StructureParser from the message model is plugged in, and its serialised result is cached.
struct StructureParser {
  virtual ~StructureParser() = default;
  // Returns an opaque serialised form (e.g. the IMAP ENVELOPE and BODYSTRUCTURE text) of a raw message.
  virtual Result<std::string> parse(std::string_view raw_message) = 0;
};

struct AppendRequest {
  MessageFlags flags;
  std::int64_t internal_date = 0;  // 0: now
  // When set, quota is not checked (system messages such as quota warnings).
  bool bypass_quota = false;
};

// A streamed append: write() the bytes, then commit() (durable before it returns) or abort().
class AppendStream {
 public:
  virtual ~AppendStream() = default;
  virtual Status write(std::string_view bytes) = 0;
  // Makes the message durable (file and directory fsynced) and returns its UID.
  virtual Result<std::uint32_t> commit() = 0;
  virtual void abort() = 0;
};

struct FlagChange {
  enum class Mode { set, add, remove } mode = Mode::add;
  MessageFlags flags;
  // RFC 7162 UNCHANGEDSINCE: when set, messages with a higher MODSEQ are left and reported back.
  std::optional<std::uint64_t> unchanged_since;
};

struct FlagChangeResult {
  std::vector<MessageInfo> changed;      // new flags and MODSEQ of every message changed
  std::vector<std::uint32_t> modified;   // UIDs refused by UNCHANGEDSINCE
};

struct ExpungeResult {
  std::vector<std::uint32_t> uids;  // what went (for QRESYNC VANISHED)
  std::uint64_t modseq = 0;          // the MODSEQ of the expunge
};

struct CopyResult {
  std::uint32_t dest_uid_validity = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> uids;  // (source UID, destination UID), RFC 4315 COPYUID
};

// A mailbox's messages and status as of one moment.
struct MailboxState {
  // UID order. Shared and never changed once handed out: a store that keeps its list may hand out the same
  // object while nothing changed, so the same pointer means the same contents.
  std::shared_ptr<const std::vector<MessageInfo>> messages;
  MailboxStatus status;
};

struct QuotaLimits {
  std::uint64_t bytes = 0;     // 0: no limit
  std::uint64_t messages = 0;  // 0: no limit
};
struct QuotaUsage {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
  QuotaLimits limits;
};

// What changed, for IMAP IDLE/NOTIFY and POP3.
struct ChangeEvent {
  enum class Kind { message_added, flags_changed, expunged, mailbox_list_changed } kind{};
  std::string mailbox;
  std::vector<std::uint32_t> uids;
  std::uint64_t modseq = 0;
};

// A registered callback; dropping it (or calling cancel()) unsubscribes.
// The callback runs on the thread that made the change; the IMAP server posts it to its io_context.
class ChangeSubscription {
 public:
  virtual ~ChangeSubscription() = default;
  virtual void cancel() = 0;
};
using ChangeCallback = std::function<void(const ChangeEvent&)>;

// One user's mail. Thread-safe: several sessions of the same user may share one object, or open
// their own against the same directory (the Maildir locking keeps them consistent).
class UserMailbox {
 public:
  virtual ~UserMailbox() = default;

  virtual Result<std::vector<MailboxInfo>> list() = 0;
  virtual Status create(std::string_view name, SpecialUse use = SpecialUse::none) = 0;
  virtual Status rename(std::string_view from, std::string_view to) = 0;
  virtual Status remove(std::string_view name) = 0;
  virtual Status subscribe(std::string_view name, bool subscribed) = 0;
  // Every subscribed name, sorted, including names whose mailbox does not exist (any more): deleting a
  // mailbox keeps its subscription (RFC 3501 §6.3.6, RFC 9051 §6.3.7; Dovecot does the same).
  virtual Result<std::vector<std::string>> subscriptions() {
    auto boxes = list();
    if (!boxes) return fail(boxes.error());
    std::vector<std::string> out;
    for (const auto& b : *boxes)
      if (b.subscribed) out.push_back(b.name);
    std::sort(out.begin(), out.end());
    return out;
  }

  virtual Result<MailboxStatus> status(std::string_view mailbox) = 0;
  virtual Result<std::unique_ptr<AppendStream>> append(std::string_view mailbox, AppendRequest request) = 0;
  // Convenience: the whole message at once.
  Result<std::uint32_t> append_message(std::string_view mailbox, std::string_view raw, AppendRequest request = {});

  virtual Result<std::vector<MessageInfo>> messages(std::string_view mailbox) = 0;  // UID order
  // messages() and status() of one moment, without copying the list (IMAP calls it after every command and
  // skips its comparison when it gets the list it saw last). The default asks both and copies.
  virtual Result<MailboxState> state(std::string_view mailbox) {
    auto list = messages(mailbox);
    if (!list) return fail(list.error());
    auto st = status(mailbox);
    if (!st) return fail(st.error());
    return MailboxState{std::make_shared<const std::vector<MessageInfo>>(std::move(*list)), std::move(*st)};
  }
  virtual Result<MessageInfo> info(std::string_view mailbox, std::uint32_t uid) = 0;
  virtual Result<std::string> fetch(std::string_view mailbox, std::uint32_t uid) = 0;         // raw bytes
  virtual Result<std::string> fetch_header(std::string_view mailbox, std::uint32_t uid) = 0;  // up to the blank line
  virtual Result<std::string> fetch_structure(std::string_view mailbox, std::uint32_t uid) = 0;

  // Data derived from a message's bytes (which never change for a UID), kept by the store for as long
  // as the message lives, so that readers need not open the message again: IMAP caches the header fields
  // ENVELOPE, SORT, THREAD and common SEARCH keys read (as Dovecot's dovecot.index.cache does). `field`
  // names what is cached. A store without a cache keeps nothing (the defaults).
  struct CacheEntry {
    std::uint32_t uid = 0;
    std::string value;
  };
  // The cached values of `uids` (one per UID, nullopt where nothing is cached or the UID is gone).
  virtual std::vector<std::optional<std::string>> cached(std::string_view mailbox, const std::vector<std::uint32_t>& uids,
                                                         std::string_view field) {
    (void)mailbox, (void)field;
    return std::vector<std::optional<std::string>>(uids.size());
  }
  std::optional<std::string> cached(std::string_view mailbox, std::uint32_t uid, std::string_view field) {
    return std::move(cached(mailbox, std::vector<std::uint32_t>{uid}, field).front());
  }
  virtual void cache(std::string_view mailbox, std::string_view field, const std::vector<CacheEntry>& entries) {
    (void)mailbox, (void)field, (void)entries;
  }

  virtual Result<FlagChangeResult> change_flags(std::string_view mailbox, const std::vector<std::uint32_t>& uids,
                                                const FlagChange& change) = 0;
  // Expunges the given UIDs (or, if empty, every \Deleted message).
  virtual Result<ExpungeResult> expunge(std::string_view mailbox, const std::vector<std::uint32_t>& uids = {}) = 0;
  virtual Result<CopyResult> copy(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to) = 0;
  // RFC 6851: the messages appear in `to` and vanish from `from`; no message is ever in neither.
  virtual Result<CopyResult> move(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to) = 0;

  virtual Result<QuotaUsage> quota() = 0;
  virtual void set_quota(QuotaLimits limits) = 0;

  virtual std::unique_ptr<ChangeSubscription> subscribe_changes(ChangeCallback callback) = 0;
};

// The store: opens users. Opening the same user twice returns the same shared object, so sessions of
// one user see each other's changes immediately.
class MailStore {
 public:
  virtual ~MailStore() = default;
  // `user` is "local@domain".
  virtual Result<std::shared_ptr<UserMailbox>> open_user(std::string_view user, QuotaLimits limits = {}) = 0;
  enum class DeleteMode { archive, erase };
  virtual Status delete_user(std::string_view user, DeleteMode mode) = 0;
};

}  // namespace tern::store
