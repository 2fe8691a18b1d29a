// One IMAP connection (private to lib/imap/server). The coroutine part (imap_session.cpp) reads bytes,
// feeds the CommandParser and handles what needs the network: AUTHENTICATE exchanges, STARTTLS, IDLE,
// literal continuations, LOGOUT. Every other command is a plain synchronous function over the session
// state (session_mailboxes.cpp, session_messages.cpp) run on the worker pool — the store blocks —
// while the coroutine waits, so only one thread touches the state at a time.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tern/core/log.hpp"
#include "deflate_stream.hpp"
#include "tern/imap/command.hpp"
#include "header_field_cache.hpp"
#include "tern/imap/command_parser.hpp"
#include "tern/imap/fetch_item.hpp"
#include "tern/imap/imap_service.hpp"
#include "tern/imap/search.hpp"
#include "tern/imap/search_key.hpp"
#include "tern/net/connection.hpp"
#include "tern/store/mail_store.hpp"

namespace tern::imap {

enum class SessionState { not_authenticated, authenticated, selected, logout };

// Shared with the store's change callback (which runs on whichever thread made the change).
struct ChangeSignal {
  std::mutex mutex;
  std::string mailbox;  // the selected mailbox (store name); "" when none
  std::atomic<bool> dirty{false};
  std::function<void()> wake;  // posts to the session's executor and interrupts an IDLE read
};

// The selected mailbox as this session has announced it: message sequence numbers are indexes into
// `messages` (+1). Only sync() changes it, so numbers never move under the client's feet except where
// RFC 9051 §7.5.1 allows.
struct SelectedMailbox {
  std::string name;  // store (UTF-8) name
  bool read_only = false;
  // The announced messages, UID order. Shared copy-on-write: sessions that see the same state of a
  // mailbox (many IDLE connections of one user) share one list instead of a copy each.
  const std::vector<store::MessageInfo>& messages() const { return *messages_; }
  void set_messages(const std::string& key, std::vector<store::MessageInfo> list);
  store::MessageInfo& mutable_message(std::size_t index);  // detaches from the shared list
  std::uint32_t uid_validity = 0;
  std::string mailbox_id;  // RFC 8474 MAILBOXID
  std::uint32_t uid_next = 1;
  std::uint64_t highest_modseq = 1;
  std::set<std::string> keywords;            // keywords announced in FLAGS
  std::set<std::uint32_t> recent;            // \Recent in this session (UIDs)
  std::vector<std::uint32_t> saved_search;   // RFC 5182 "$" (UIDs)
  bool has_saved_search = false;
  // The store's list sync() last merged (store::MailboxState::messages): while the store hands out the same
  // list nothing changed, and sync() has nothing to compare. Weak: an old list is not kept alive for a session
  // that has not synced since (and a list that is gone cannot compare equal to a new one at its address).
  std::weak_ptr<const std::vector<store::MessageInfo>> seen;
  bool expunges_held = false;  // sync() kept messages the store no longer has (their EXPUNGE not yet sent)

  // 1-based sequence number of `uid`, 0 if absent.
  std::uint32_t seq_of(std::uint32_t uid) const;
  std::uint32_t largest_uid() const { return messages_->empty() ? 0 : messages_->back().uid; }
  std::vector<std::uint32_t> uids() const {
    std::vector<std::uint32_t> out;
    out.reserve(messages_->size());
    for (const auto& m : *messages_) out.push_back(m.uid);
    return out;
  }

 private:
  std::shared_ptr<std::vector<store::MessageInfo>> messages_ = std::make_shared<std::vector<store::MessageInfo>>();
};

class ImapSession {
 public:
  ImapSession(const ImapService& service, std::shared_ptr<net::Connection> connection);
  ~ImapSession();
  asio::awaitable<void> run();

  // ---- synchronous command bodies (worker pool) ------------------------------------------------
  // Each appends its untagged responses and the tagged completion to out_.
  void execute(const Command& cmd);

 private:
  // imap_session.cpp
  asio::awaitable<bool> handle(const Command& cmd);  // false: close the connection
  asio::awaitable<void> cmd_starttls(const Command& cmd);
  asio::awaitable<void> cmd_login(const Command& cmd);
  asio::awaitable<void> cmd_authenticate(const Command& cmd);
  asio::awaitable<bool> cmd_idle(const Command& cmd);
  asio::awaitable<bool> logged_in(const std::string& tag, const std::string& identity, std::string_view mechanism);
  asio::awaitable<std::optional<std::string>> read_line();  // AUTHENTICATE responses, IDLE DONE
  asio::awaitable<bool> flush();
  // Reads once and feeds the parser (through DEFLATE after COMPRESS). 0: the client closed.
  asio::awaitable<Result<std::size_t>> receive(net::ReadMode mode);
  asio::awaitable<void> cmd_compress(const Command& cmd);
  std::string capabilities() const;
  bool plaintext_allowed() const;

  // session_mailboxes.cpp
  void cmd_capability(const Command& cmd);
  void cmd_noop(const Command& cmd);
  void cmd_id(const Command& cmd);
  void cmd_enable(const Command& cmd);
  void cmd_namespace(const Command& cmd);
  void cmd_select(const Command& cmd, bool read_only);
  void cmd_create(const Command& cmd);
  void cmd_delete(const Command& cmd);
  void cmd_rename(const Command& cmd);
  void cmd_subscribe(const Command& cmd, bool subscribe);
  void cmd_list(const Command& cmd, bool lsub);
  void cmd_status(const Command& cmd);
  void cmd_close(const Command& cmd, bool expunge);
  void cmd_getquota(const Command& cmd, bool root);
  void cmd_setquota(const Command& cmd);
  std::string status_items(const std::string& mailbox, const std::vector<std::string>& items, Status* error);

  // session_append.cpp
  void cmd_append(const Command& cmd);
  // RFC 4469 CATENATE: the bytes a URL part names (errors: the sentence for NO [BADURL]).
  Result<std::string> catenate_url(const std::string& url);

  // session_messages.cpp
  void cmd_fetch(const Command& cmd, bool uid, std::size_t first);
  void cmd_store(const Command& cmd, bool uid, std::size_t first);
  void cmd_search(const Command& cmd, bool uid, std::size_t first);
  void cmd_sort(const Command& cmd, bool uid, std::size_t first);
  void cmd_thread(const Command& cmd, bool uid, std::size_t first);
  // SORT/THREAD: the charset and search keys from args[keys_from]; fills `views` (all messages) and
  // `hits` (those matching), reading headers through `field_cache` when it suffices (it must outlive
  // the views). On a bad program answers BAD/NO and returns false.
  bool matching_views(const Command& cmd, std::size_t keys_from, std::vector<MessageView>& views,
                      std::vector<MessageView*>& hits, std::optional<HeaderFieldCache>& field_cache);
  void cmd_copy(const Command& cmd, bool uid, std::size_t first, bool move);
  void cmd_expunge(const Command& cmd, bool uid, std::size_t first);
  void announce_expunged(const std::set<std::uint32_t>& uids);
  // Resolves a sequence set to indexes into selected_->messages (sorted, unique).
  Result<std::vector<std::size_t>> resolve(const Arg& arg, bool uid);

  // selected_mailbox.cpp: announce what changed since the client last heard (RFC 9051 §7.5.1).
  // allow_expunge=false during FETCH/STORE/SEARCH (non-UID forms): expunges wait.
  void sync(bool allow_expunge);
  Status open_selected(const std::string& name, bool read_only);
  // \Recent (RFC 3501 §2.3.2): a message is recent in the first read-write session that sees it.
  // Claims what is new for this session (unless read-only) and returns the UIDs recent here.
  std::vector<std::uint32_t> claim_recent(const std::string& mailbox, std::uint32_t uid_validity,
                                          const std::vector<store::MessageInfo>& messages, bool claim);
  // RFC 7162 §3.1: the first command that enables CONDSTORE in the selected state announces HIGHESTMODSEQ.
  void enable_condstore();
  void close_selected();

  // helpers
  void untagged(std::string_view line);
  void ok(const std::string& tag, std::string_view text, std::string_view code = {});
  void no(const std::string& tag, std::string_view text, std::string_view code = {});
  void bad(const std::string& tag, std::string_view text, std::string_view code = {});
  // A store error as a tagged NO with the fitting response code (NONEXISTENT, ALREADYEXISTS,
  // OVERQUOTA, LIMIT, SERVERBUG ...).
  void no_from(const std::string& tag, const Error& error, std::string_view what);
  // Client mailbox name (mUTF-7 unless UTF8=ACCEPT) → store name; "INBOX" in any case → "INBOX".
  // A name that is not valid mUTF-7 fails with not_found (no mailbox can have it).
  Result<std::string> mailbox_arg(const Arg& arg) const;
  // Answers a mailbox_arg failure: NO for a name that cannot exist (as Dovecot), BAD for a syntax error.
  void reject_mailbox_arg(const std::string& tag, const Error& error);
  // Store name → wire form (astring).
  std::string mailbox_out(const std::string& name) const;
  store::QuotaLimits quota_limits_for(const std::string& mailbox) const;
  // RFC 8474 (session_objectid.cpp): the MAILBOXID of a status (the store's id, or one derived from the
  // name and UIDVALIDITY for a store without ids), and the EMAILIDs of `uids` of a mailbox: what COPY/MOVE
  // carried over (kept in the store's per-message cache), else derived from the MAILBOXID and the UID.
  SearchEnv search_env(SelectedMailbox& sel);
  static std::string mailbox_id_of(const std::string& name, const store::MailboxStatus& status);
  std::vector<std::string> email_ids(const std::string& mailbox, const std::string& mailbox_id,
                                     const std::vector<std::uint32_t>& uids);
  // After COPY/MOVE: the copies keep the EMAILIDs of their originals (`ids` in `pairs` order).
  void carry_email_ids(const std::string& dest, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& pairs,
                       const std::vector<std::string>& source_ids, const std::vector<std::uint32_t>& source_uids);

  const ImapService& svc_;
  const ImapServiceDeps& d_;
  std::shared_ptr<net::Connection> conn_;
  const log::SessionLog& log_;
  CommandParser parser_;
  std::string out_;
  std::string completion_;  // the tagged line of the command execute() runs (after sync's updates)
  SessionState state_ = SessionState::not_authenticated;
  std::string user_name_;  // "local@domain"
  std::shared_ptr<store::UserMailbox> user_;
  std::unique_ptr<store::ChangeSubscription> subscription_;
  std::shared_ptr<ChangeSignal> signal_;
  std::optional<SelectedMailbox> selected_;
  bool condstore_ = false, qresync_ = false, utf8_ = false, rev2_ = false;
  bool close_after_ = false;
  std::unique_ptr<DeflateStream> deflate_;  // RFC 4978, once COMPRESS DEFLATE succeeded
  std::uint32_t auth_failures_ = 0;
};

}  // namespace tern::imap
