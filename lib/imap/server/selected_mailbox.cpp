// The selected mailbox: opening it (SELECT/EXAMINE responses) and telling the client what changed
// since it last heard (RFC 9051 §7.5.1 EXISTS/EXPUNGE/FETCH, RFC 7162 VANISHED and MODSEQ).
#include <algorithm>
#include <map>
#include <unordered_map>
#include <mutex>

#include <fmt/format.h>

#include "imap_session.hpp"
#include "tern/imap/command_args.hpp"
#include "tern/imap/search.hpp"

namespace tern::imap {

namespace {
constexpr std::uint32_t kSystemFlags =
    store::flag_seen | store::flag_answered | store::flag_flagged | store::flag_deleted | store::flag_draft;

std::string flags_list(const std::set<std::string>& keywords, bool permanent) {
  std::string s = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (const auto& k : keywords) s += " " + k;
  if (permanent) s += " \\*";
  return s + ")";
}
}  // namespace

namespace {

// Identical lists of announced messages are shared between sessions (process-wide, by content).
struct SharedLists {
  std::mutex mutex;
  std::unordered_map<std::string, std::weak_ptr<std::vector<store::MessageInfo>>> lists;
};
SharedLists& shared_lists() {
  static SharedLists s;
  return s;
}

std::uint64_t content_hash(const std::vector<store::MessageInfo>& list) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields a session announces
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (i * 8)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (const auto& m : list) {
    mix(m.uid);
    mix(m.modseq);
    mix(m.flags.system);
    mix(m.size);
    mix(static_cast<std::uint64_t>(m.internal_date));
    for (const auto& k : m.flags.keywords) mix(std::hash<std::string>{}(k));
  }
  return h;
}

}  // namespace

void SelectedMailbox::set_messages(const std::string& key, std::vector<store::MessageInfo> list) {
  // Small lists are not worth the lookup.
  if (list.size() < 64) {
    messages_ = std::make_shared<std::vector<store::MessageInfo>>(std::move(list));
    return;
  }
  std::string full = fmt::format("{}\n{}\n{}\n{}", key, uid_validity, list.size(), content_hash(list));
  auto& s = shared_lists();
  std::lock_guard lock(s.mutex);
  auto it = s.lists.find(full);
  if (it != s.lists.end()) {
    if (auto existing = it->second.lock(); existing && *existing == list) {
      messages_ = std::move(existing);
      return;
    }
  }
  auto fresh = std::make_shared<std::vector<store::MessageInfo>>(std::move(list));
  s.lists[full] = fresh;
  messages_ = std::move(fresh);
  if (s.lists.size() > 4096)  // forget lists nobody holds any more
    for (auto i = s.lists.begin(); i != s.lists.end();) i = i->second.expired() ? s.lists.erase(i) : std::next(i);
}

store::MessageInfo& SelectedMailbox::mutable_message(std::size_t index) {
  if (messages_.use_count() > 1) messages_ = std::make_shared<std::vector<store::MessageInfo>>(*messages_);
  // This session is now the only owner: editing in place is safe (set_messages() compares contents
  // before sharing, so the shared-list table cannot hand out this edited list under its old key).
  return (*messages_)[index];
}

namespace {
// Process-wide: which UIDs some session has already seen as \Recent, per store, user and mailbox. Not
// persistent: after a restart the messages not yet seen by a read-write session are recent once more.
struct RecentClaims {
  std::mutex mutex;
  std::map<std::string, std::uint32_t> highest;  // key -> highest claimed UID
};
RecentClaims& recent_claims() {
  static RecentClaims claims;
  return claims;
}
}  // namespace

std::vector<std::uint32_t> ImapSession::claim_recent(const std::string& mailbox, std::uint32_t uid_validity,
                                                     const std::vector<store::MessageInfo>& messages, bool claim) {
  std::string key = fmt::format("{}\n{}\n{}\n{}", static_cast<const void*>(d_.store.get()), user_name_, mailbox,
                                uid_validity);
  std::uint32_t largest = messages.empty() ? 0 : messages.back().uid;
  std::uint32_t before;
  {
    auto& c = recent_claims();
    std::lock_guard lock(c.mutex);
    auto& h = c.highest[key];
    before = h;
    if (claim) h = std::max(h, largest);
  }
  std::vector<std::uint32_t> out;
  for (auto it = messages.rbegin(); it != messages.rend() && it->uid > before; ++it) out.push_back(it->uid);
  return out;
}

void ImapSession::enable_condstore() {
  if (condstore_) return;
  condstore_ = true;
  if (selected_) untagged(fmt::format("OK [HIGHESTMODSEQ {}] Highest", selected_->highest_modseq));
}

Status ImapSession::open_selected(const std::string& name, bool read_only) {
  auto state = user_->state(name);
  if (!state) return fail(state.error());
  const auto* status = &state->status;
  close_selected();
  SelectedMailbox sel;
  sel.name = name;
  sel.read_only = read_only;
  sel.set_messages(user_name_ + "\n" + name, *state->messages);
  sel.seen = state->messages;
  sel.uid_validity = status->uid_validity;
  sel.mailbox_id = mailbox_id_of(name, *status);
  sel.uid_next = status->uid_next;
  sel.highest_modseq = status->highest_modseq;
  for (const auto& m : sel.messages())
    for (const auto& k : m.flags.keywords) sel.keywords.insert(k);
  for (auto uid : claim_recent(name, sel.uid_validity, sel.messages(), !read_only)) sel.recent.insert(uid);
  // Standard keywords clients set (RFC 5788 registry) are always offered.
  for (const char* k : {"$Forwarded", "$Junk", "$NotJunk"}) sel.keywords.insert(k);
  {
    std::lock_guard lock(signal_->mutex);
    signal_->mailbox = name;
  }
  signal_->dirty = false;
  selected_ = std::move(sel);
  state_ = SessionState::selected;
  return {};
}

void ImapSession::close_selected() {
  {
    std::lock_guard lock(signal_->mutex);
    signal_->mailbox.clear();
  }
  selected_.reset();
  if (state_ == SessionState::selected) state_ = SessionState::authenticated;
}

void ImapSession::sync(bool allow_expunge) {
  if (!selected_) return;
  auto& sel = *selected_;
  auto state = user_->state(sel.name);
  if (!state) {
    // The mailbox went away under us (deleted or renamed by another session): RFC 9051 §7.1.5.
    if (state.error().category == ErrorCategory::not_found && allow_expunge) {
      untagged("BYE [CLOSED] The selected mailbox was deleted or renamed by another session");
      close_after_ = true;
    }
    return;
  }
  const auto* status = &state->status;
  // The list merged last time, and no expunge waiting to be announced: nothing to tell.
  if (sel.seen.lock() == state->messages && !(allow_expunge && sel.expunges_held)) {
    sel.uid_next = status->uid_next;
    sel.highest_modseq = status->highest_modseq;
    return;
  }
  const auto* fresh = state->messages.get();
  sel.seen = state->messages;
  sel.expunges_held = false;
  auto keep = sel.messages();  // a copy: set_messages() below replaces the list
  const auto& old = keep;
  std::vector<store::MessageInfo> merged;
  merged.reserve(std::max(old.size(), fresh->size()));
  std::vector<std::uint32_t> expunged_seqs, vanished;
  std::vector<std::size_t> changed;
  std::size_t j = 0;
  for (std::size_t i = 0; i < old.size(); ++i) {
    while (j < fresh->size() && (*fresh)[j].uid < old[i].uid) ++j;  // cannot happen: UIDs only grow
    if (j < fresh->size() && (*fresh)[j].uid == old[i].uid) {
      const auto& f = (*fresh)[j];
      if (f.flags != old[i].flags || f.modseq != old[i].modseq) changed.push_back(merged.size());
      merged.push_back(f);
      ++j;
    } else if (allow_expunge) {
      expunged_seqs.push_back(static_cast<std::uint32_t>(i + 1));
      vanished.push_back(old[i].uid);
    } else {
      merged.push_back(old[i]);  // announced later, when EXPUNGE responses are allowed
      sel.expunges_held = true;
    }
  }
  std::uint32_t before_new = static_cast<std::uint32_t>(merged.size());
  std::uint32_t largest = sel.largest_uid();
  for (; j < fresh->size(); ++j)
    if ((*fresh)[j].uid > largest) merged.push_back((*fresh)[j]);
  std::uint32_t added = static_cast<std::uint32_t>(merged.size()) - before_new;

  // Expunges first: the sequence numbers of FETCH and EXISTS below are the new ones.
  if (!vanished.empty()) {
    if (qresync_) {
      untagged("VANISHED " + format_sequence_set(vanished));
    } else {
      std::uint32_t k = 0;
      for (auto seq : expunged_seqs) untagged(fmt::format("{} EXPUNGE", seq - k++));
    }
    for (auto uid : vanished) sel.recent.erase(uid);
  }
  sel.set_messages(user_name_ + "\n" + sel.name, std::move(merged));
  // New keywords: FLAGS and PERMANENTFLAGS come before the FETCH responses that use them.
  bool new_keywords = false;
  for (const auto& m : sel.messages())
    for (const auto& k : m.flags.keywords)
      if (sel.keywords.insert(k).second) new_keywords = true;
  if (new_keywords) {
    untagged("FLAGS " + flags_list(sel.keywords, false));
    if (!sel.read_only) untagged("OK [PERMANENTFLAGS " + flags_list(sel.keywords, true) + "] Flags permitted");
  }
  for (auto idx : changed) {
    const auto& m = sel.messages()[idx];
    std::string items = "FLAGS " + format_flags(m.flags, sel.recent.count(m.uid) > 0);
    if (qresync_) items = fmt::format("UID {} ", m.uid) + items;
    if (condstore_) items += fmt::format(" MODSEQ ({})", m.modseq);
    untagged(fmt::format("{} FETCH ({})", idx + 1, items));
  }
  if (added > 0 || !vanished.empty()) {
    if (added > 0) {
      for (auto uid : claim_recent(sel.name, sel.uid_validity, sel.messages(), !sel.read_only))
        if (uid > largest) sel.recent.insert(uid);
      untagged(fmt::format("{} EXISTS", sel.messages().size()));
      if (!rev2_) untagged(fmt::format("{} RECENT", sel.recent.size()));
    }
  }
  sel.uid_next = status->uid_next;
  sel.highest_modseq = status->highest_modseq;
  (void)kSystemFlags;
}

}  // namespace tern::imap
