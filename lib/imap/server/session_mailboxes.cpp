// Synchronous command bodies that work on mailboxes (RFC 9051 §6.1, §6.3): the dispatcher, CAPABILITY,
// NOOP, ID, ENABLE, NAMESPACE, SELECT/EXAMINE, CREATE/DELETE/RENAME, (UN)SUBSCRIBE, LIST/LSUB, STATUS,
// CLOSE/UNSELECT and QUOTA (APPEND: session_append.cpp). They run on a worker thread (see imap_session.hpp).
#include <algorithm>
#include <list>
#include <map>

#include <fmt/format.h>

#include "imap_session.hpp"
#include "tern/imap/command_args.hpp"
#include "tern/imap/search.hpp"
#include "tern/imap/section.hpp"
#include "tern/store/mailbox_name.hpp"

namespace tern::imap {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

constexpr char kSep = store::kMailboxSeparator;

// RFC 9051 §6.3.9: '*' matches anything, '%' anything but the hierarchy separator.
bool wildcard_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star_p = std::string_view::npos, star_n = 0;
  // Iterative matcher with backtracking for '*' and '%' ('%' may not cross a separator).
  struct Frame { std::size_t p, n; };
  std::vector<Frame> stack;
  for (;;) {
    if (p == pattern.size() && n == name.size()) return true;
    if (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '%')) {
      stack.push_back({p, n});
      ++p;
      continue;
    }
    if (p < pattern.size() && n < name.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
      continue;
    }
    // backtrack: let the last wildcard swallow one more character
    bool resumed = false;
    while (!stack.empty()) {
      auto& f = stack.back();
      if (f.n < name.size() && (pattern[f.p] == '*' || name[f.n] != kSep)) {
        ++f.n;
        p = f.p + 1;
        n = f.n;
        resumed = true;
        break;
      }
      stack.pop_back();
    }
    if (!resumed) return false;
  }
  (void)star_p;
  (void)star_n;
}

// INBOX is case-insensitive (RFC 9051 §5.1): match it, and its children, with an upper-cased prefix.
bool mailbox_matches(std::string_view pattern, const std::string& name) {
  if (wildcard_match(pattern, name)) return true;
  if (pattern.size() >= 5 && iequals(pattern.substr(0, 5), "INBOX") && name.rfind("INBOX", 0) == 0)
    return wildcard_match(std::string("INBOX") + std::string(pattern.substr(5)), name);
  return false;
}

}  // namespace

void ImapSession::ok(const std::string& tag, std::string_view text, std::string_view code) {
  completion_ = tag + " OK " + (code.empty() ? "" : "[" + std::string(code) + "] ") + std::string(text) + "\r\n";
}
void ImapSession::no(const std::string& tag, std::string_view text, std::string_view code) {
  completion_ = tag + " NO " + (code.empty() ? "" : "[" + std::string(code) + "] ") + std::string(text) + "\r\n";
}
void ImapSession::bad(const std::string& tag, std::string_view text, std::string_view code) {
  completion_ = tag + " BAD " + (code.empty() ? "" : "[" + std::string(code) + "] ") + std::string(text) + "\r\n";
}

void ImapSession::no_from(const std::string& tag, const Error& e, std::string_view what) {
  switch (e.category) {
    case ErrorCategory::not_found: no(tag, std::string(what) + ": " + e.message, "NONEXISTENT"); return;
    case ErrorCategory::exists: no(tag, std::string(what) + ": " + e.message, "ALREADYEXISTS"); return;
    case ErrorCategory::limit: no(tag, std::string(what) + ": the mailbox is over its quota", "OVERQUOTA"); return;
    case ErrorCategory::invalid_argument: no(tag, std::string(what) + ": " + e.message, "CANNOT"); return;
    case ErrorCategory::temporary: no(tag, std::string(what) + ": " + e.message + "; try again", "INUSE"); return;
    default:
      log_.error("imap.store_error", {{"user", user_name_}, {"what", std::string(what)}, {"error", e.message}});
      no(tag, std::string(what) + " failed because of a server error; try again later", "SERVERBUG");
  }
}

Result<std::string> ImapSession::mailbox_arg(const Arg& arg) const {
  if (!arg.is_astring() && !arg.is_nil()) return fail(ErrorCategory::invalid_argument, "Expected a mailbox name");
  std::string name;
  if (arg.is_nil()) {
    name = "NIL";  // an atom that happens to spell NIL (Dovecot reads it as a name too)
  } else if (utf8_) {
    name = arg.value;
  } else {
    auto decoded = store::mutf7_decode(arg.value);
    // Dovecot answers such names NO, not BAD: the argument is a well-formed astring naming no mailbox.
    if (!decoded) return fail(ErrorCategory::not_found, "Mailbox name is not valid modified UTF-7");
    name = std::move(*decoded);
  }
  while (name.size() > 1 && name.back() == kSep) name.pop_back();  // "Foo/" names Foo (RFC 9051 §6.3.4)
  if (name.size() >= 5 && iequals(std::string_view(name).substr(0, 5), "INBOX") &&
      (name.size() == 5 || name[5] == kSep))
    name.replace(0, 5, "INBOX");
  return name;
}

void ImapSession::reject_mailbox_arg(const std::string& tag, const Error& error) {
  if (error.category == ErrorCategory::not_found) no(tag, error.message, "CANNOT");
  else bad(tag, error.message);
}

std::string ImapSession::mailbox_out(const std::string& name) const {
  std::string wire = utf8_ ? name : store::mutf7_encode(name);
  // Dovecot quotes every name but INBOX; clients accept both, quoting avoids atom-char surprises.
  if (wire == "INBOX") return wire;
  return imap_string(wire);
}

void ImapSession::execute(const Command& cmd) {
  completion_.clear();
  const std::string& tag = cmd.tag;
  std::string name = cmd.name;
  bool uid = false;
  std::size_t first = 0;
  if (name == "UID") {
    if (cmd.args.empty() || !cmd.args[0].is_atom()) {
      bad(tag, "UID needs a command: FETCH, STORE, SEARCH, COPY, MOVE, SORT, THREAD or EXPUNGE");
    } else {
      name = upper(cmd.args[0].value);
      uid = true;
      first = 1;
    }
  }
  // The quota is read from the directory at login; an administrator may change it while the session
  // lives (`ternctl user quota`, directory reload), so the commands that report or use it re-read it.
  if (user_ && (name == "GETQUOTA" || name == "GETQUOTAROOT" || name == "APPEND" || name == "COPY"))
    user_->set_quota(quota_limits_for(user_name_));
  if (completion_.empty()) {
    if (name == "CAPABILITY") cmd_capability(cmd);
    else if (name == "NOOP" || name == "CHECK") cmd_noop(cmd);
    else if (name == "ID") cmd_id(cmd);
    else if (name == "ENABLE") cmd_enable(cmd);
    else if (name == "NAMESPACE") cmd_namespace(cmd);
    else if (name == "SELECT") cmd_select(cmd, false);
    else if (name == "EXAMINE") cmd_select(cmd, true);
    else if (name == "CREATE") cmd_create(cmd);
    else if (name == "DELETE") cmd_delete(cmd);
    else if (name == "RENAME") cmd_rename(cmd);
    else if (name == "SUBSCRIBE") cmd_subscribe(cmd, true);
    else if (name == "UNSUBSCRIBE") cmd_subscribe(cmd, false);
    else if (name == "LIST") cmd_list(cmd, false);
    else if (name == "LSUB") cmd_list(cmd, true);
    else if (name == "STATUS") cmd_status(cmd);
    else if (name == "APPEND") cmd_append(cmd);
    else if (name == "CLOSE") cmd_close(cmd, true);
    else if (name == "UNSELECT") cmd_close(cmd, false);
    else if (name == "GETQUOTA") cmd_getquota(cmd, false);
    else if (name == "GETQUOTAROOT") cmd_getquota(cmd, true);
    else if (name == "SETQUOTA") cmd_setquota(cmd);
    else if (name == "FETCH") cmd_fetch(cmd, uid, first);
    else if (name == "STORE") cmd_store(cmd, uid, first);
    else if (name == "SEARCH") cmd_search(cmd, uid, first);
    else if (name == "SORT") cmd_sort(cmd, uid, first);
    else if (name == "THREAD") cmd_thread(cmd, uid, first);
    else if (name == "COPY") cmd_copy(cmd, uid, first, false);
    else if (name == "MOVE") cmd_copy(cmd, uid, first, true);
    else if (name == "EXPUNGE") cmd_expunge(cmd, uid, first);
    else bad(tag, "Unknown command " + name.substr(0, 40));
  }
  // Changes made by other sessions are announced before the tagged response (RFC 9051 §7.5.1); during
  // FETCH, STORE and SEARCH (not their UID forms) without EXPUNGE responses, which would renumber.
  if (state_ == SessionState::selected && selected_ && !close_after_) {
    bool allow_expunge = uid || (name != "FETCH" && name != "STORE" && name != "SEARCH");
    if (allow_expunge) {
      if (signal_->dirty.exchange(false)) sync(true);
    } else if (signal_->dirty.load()) {
      sync(false);  // the flag stays set: the expunges are still to be announced
    }
  }
  out_ += completion_;
}

void ImapSession::cmd_capability(const Command& cmd) {
  untagged("CAPABILITY " + capabilities());
  ok(cmd.tag, "Capability completed");
}

void ImapSession::cmd_noop(const Command& cmd) {
  // NOOP and CHECK always look at the store: this also picks up changes made by other programs.
  if (selected_) {
    signal_->dirty = false;
    sync(true);
  }
  ok(cmd.tag, cmd.name == "CHECK" ? "Check completed" : "NOOP completed");
}

void ImapSession::cmd_id(const Command& cmd) {
  // RFC 2971: the client's identification is logged; ours is short (no version: less to fingerprint).
  if (cmd.args.size() != 1 || (!cmd.args[0].is_nil() && !cmd.args[0].is_list())) {
    bad(cmd.tag, "ID needs NIL or a parenthesised list of field/value pairs");
    return;
  }
  if (cmd.args[0].is_list()) {
    std::string client;
    const auto& l = cmd.args[0].list;
    for (std::size_t i = 0; i + 1 < l.size() && i < 60; i += 2) {
      if (!client.empty()) client += "; ";
      client += l[i].value + "=" + (l[i + 1].is_nil() ? "NIL" : l[i + 1].value.substr(0, 128));
    }
    log_.info("imap.client_id", {{"id", client}});
  }
  untagged("ID (\"name\" \"Tern\" \"vendor\" \"Tern\" \"support-url\" \"https://tern.invalid/\")");
  ok(cmd.tag, "ID completed");
}

void ImapSession::cmd_enable(const Command& cmd) {
  if (cmd.args.empty()) {
    bad(cmd.tag, "ENABLE needs at least one capability name");
    return;
  }
  std::string enabled;
  for (const auto& a : cmd.args) {
    if (!a.is_atom()) {
      bad(cmd.tag, "ENABLE takes capability names");
      return;
    }
    std::string c = upper(a.value);
    bool* flag = nullptr;
    if (c == "CONDSTORE") flag = &condstore_;
    else if (c == "QRESYNC") flag = &qresync_;
    else if (c == "UTF8=ACCEPT") flag = &utf8_;
    else if (c == "IMAP4REV2") flag = &rev2_;
    if (!flag || *flag) continue;  // unknown or already on: not listed (RFC 5161 §3.1)
    *flag = true;
    if (c == "QRESYNC") condstore_ = true;  // RFC 7162 §3.2.3
    enabled += " " + c;
  }
  untagged("ENABLED" + enabled);
  ok(cmd.tag, "Enabled");
}

void ImapSession::cmd_namespace(const Command& cmd) {
  untagged(fmt::format("NAMESPACE ((\"\" \"{}\")) NIL NIL", kSep));
  ok(cmd.tag, "Namespace completed");
}

void ImapSession::cmd_select(const Command& cmd, bool read_only) {
  const std::string& tag = cmd.tag;
  if (cmd.args.empty() || cmd.args.size() > 2) {
    bad(tag, cmd.name + " needs a mailbox name and optional parameters");
    return;
  }
  auto name = mailbox_arg(cmd.args[0]);
  if (!name) {
    reject_mailbox_arg(tag, name.error());
    return;
  }
  // RFC 7162: (CONDSTORE) and (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]])).
  struct Qresync {
    std::uint32_t uid_validity = 0;
    std::uint64_t modseq = 0;
    std::optional<SequenceSet> known;
  };
  std::optional<Qresync> qr;
  if (cmd.args.size() == 2) {
    if (!cmd.args[1].is_list()) {
      bad(tag, "SELECT parameters must be a parenthesised list");
      return;
    }
    const auto& p = cmd.args[1].list;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i].is_keyword("CONDSTORE")) {
        condstore_ = true;
      } else if (p[i].is_keyword("QRESYNC")) {
        if (!qresync_) {
          bad(tag, "QRESYNC must be enabled first (ENABLE QRESYNC)");
          return;
        }
        if (i + 1 >= p.size() || !p[i + 1].is_list() || p[i + 1].list.size() < 2) {
          bad(tag, "QRESYNC needs (uidvalidity modseq [known-uids])");
          return;
        }
        const auto& q = p[++i].list;
        Qresync r;
        try {
          r.uid_validity = static_cast<std::uint32_t>(std::stoul(q[0].value));
          r.modseq = std::stoull(q[1].value);
        } catch (...) {
          bad(tag, "QRESYNC uidvalidity and modseq must be numbers");
          return;
        }
        if (q.size() >= 3 && q[2].is_atom()) {
          auto set = parse_sequence_set(q[2].value);
          if (!set) {
            bad(tag, set.error().message);
            return;
          }
          r.known = *set;
        }
        qr = r;
      } else {
        bad(tag, "Unknown SELECT parameter " + p[i].value.substr(0, 40));
        return;
      }
    }
  }
  auto st = open_selected(*name, read_only);
  if (!st) {
    state_ = SessionState::authenticated;
    no_from(tag, st.error(), "Cannot select " + *name);
    return;
  }
  auto& sel = *selected_;
  untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" +
           [&] {
             std::string k;
             for (const auto& w : sel.keywords) k += " " + w;
             return k;
           }() + ")");
  std::string perm = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (const auto& w : sel.keywords) perm += " " + w;
  perm += " \\*)";
  untagged("OK [PERMANENTFLAGS " + (read_only ? std::string("()") : perm) + "] Flags permitted");
  untagged(fmt::format("{} EXISTS", sel.messages().size()));
  if (!rev2_) {
    untagged(fmt::format("{} RECENT", sel.recent.size()));
    for (std::size_t i = 0; i < sel.messages().size(); ++i)
      if (!(sel.messages()[i].flags.system & store::flag_seen)) {
        untagged(fmt::format("OK [UNSEEN {}] First unseen", i + 1));
        break;
      }
  }
  untagged(fmt::format("OK [UIDVALIDITY {}] UIDs valid", sel.uid_validity));
  untagged(fmt::format("OK [UIDNEXT {}] Predicted next UID", sel.uid_next));
  untagged(fmt::format("OK [HIGHESTMODSEQ {}] Highest", sel.highest_modseq));
  untagged("OK [MAILBOXID (" + sel.mailbox_id + ")] Ok");  // RFC 8474 §4.2
  if (rev2_) untagged("LIST () \"/\" " + mailbox_out(sel.name));
  if (qr && qr->uid_validity == sel.uid_validity) {
    // RFC 7162 §3.2.5.1: what vanished among the UIDs the client knows, then what changed since modseq.
    std::vector<std::uint32_t> gone;
    std::uint32_t upto = qr->known ? 0 : qr->uid_validity ? sel.uid_next - 1 : 0;
    if (qr->known) {
      for (const auto& r : qr->known->ranges) {
        std::uint32_t a = r.first == SeqRange::kStar ? sel.uid_next - 1 : r.first;
        std::uint32_t b = r.last == SeqRange::kStar ? sel.uid_next - 1 : r.last;
        upto = std::max({upto, a, b});
      }
    }
    std::size_t k = 0;
    for (std::uint32_t u = 1; u <= upto && gone.size() < 1000000; ++u) {
      while (k < sel.messages().size() && sel.messages()[k].uid < u) ++k;
      bool present = k < sel.messages().size() && sel.messages()[k].uid == u;
      if (!present && (!qr->known || qr->known->contains(u, sel.uid_next - 1))) gone.push_back(u);
    }
    if (!gone.empty()) untagged("VANISHED (EARLIER) " + format_sequence_set(gone));
    for (std::size_t i = 0; i < sel.messages().size(); ++i) {
      const auto& m = sel.messages()[i];
      if (m.modseq > qr->modseq)
        untagged(fmt::format("{} FETCH (UID {} FLAGS {} MODSEQ ({}))", i + 1, m.uid, format_flags(m.flags), m.modseq));
    }
  }
  ok(tag, cmd.name + " completed", read_only ? "READ-ONLY" : "READ-WRITE");
}

void ImapSession::cmd_create(const Command& cmd) {
  if (cmd.args.empty() || cmd.args.size() > 2) {
    bad(cmd.tag, "CREATE needs a mailbox name");
    return;
  }
  auto name = mailbox_arg(cmd.args[0]);
  if (!name) {
    reject_mailbox_arg(cmd.tag, name.error());
    return;
  }
  store::SpecialUse use = store::SpecialUse::none;
  if (cmd.args.size() == 2) {  // RFC 6154 §3: CREATE name (USE (\Sent))
    const auto& p = cmd.args[1];
    if (!p.is_list() || p.list.size() != 2 || !p.list[0].is_keyword("USE") || !p.list[1].is_list() ||
        p.list[1].list.size() != 1) {
      bad(cmd.tag, "CREATE parameters must be (USE (\\special-use))");
      return;
    }
    std::string u = upper(p.list[1].list[0].value);
    if (u == "\\SENT") use = store::SpecialUse::sent;
    else if (u == "\\DRAFTS") use = store::SpecialUse::drafts;
    else if (u == "\\JUNK") use = store::SpecialUse::junk;
    else if (u == "\\TRASH") use = store::SpecialUse::trash;
    else if (u == "\\ARCHIVE") use = store::SpecialUse::archive;
    else {
      no(cmd.tag, "Unsupported special-use attribute " + p.list[1].list[0].value.substr(0, 40), "USEATTR");
      return;
    }
  }
  if (*name == "INBOX") {
    no(cmd.tag, "INBOX always exists", "ALREADYEXISTS");
    return;
  }
  if (use != store::SpecialUse::none) {
    // The store derives a mailbox's special use from its name (Sent, Drafts, Junk, Trash, Archive), so any
    // other name cannot carry it: RFC 6154 §5.3 says do not create the mailbox and answer NO [USEATTR].
    std::string_view standard = use == store::SpecialUse::sent     ? "Sent"
                                : use == store::SpecialUse::drafts ? "Drafts"
                                : use == store::SpecialUse::junk   ? "Junk"
                                : use == store::SpecialUse::trash  ? "Trash"
                                                                   : "Archive";
    if (*name != standard) {
      no(cmd.tag, fmt::format("Only the mailbox named {} can have that special use", standard), "USEATTR");
      return;
    }
  }
  if (auto v = store::validate_mailbox_name(*name); !v) {
    no(cmd.tag, "Invalid mailbox name: " + v.error().message, "CANNOT");
    return;
  }
  // RFC 9051 §6.3.4: superior names are created as needed.
  auto existing = user_->list();
  for (std::size_t p = name->find(kSep); p != std::string::npos; p = name->find(kSep, p + 1)) {
    std::string parent = name->substr(0, p);
    if (parent == "INBOX" || !existing) continue;
    bool have = std::any_of(existing->begin(), existing->end(), [&](const auto& m) { return m.name == parent; });
    if (!have) (void)user_->create(parent);
  }
  auto st = user_->create(*name, use);
  if (!st) {
    no_from(cmd.tag, st.error(), "Cannot create " + *name);
    return;
  }
  // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK.
  if (auto created = user_->status(*name)) ok(cmd.tag, "Create completed", "MAILBOXID (" + mailbox_id_of(*name, *created) + ")");
  else ok(cmd.tag, "Create completed");
}

void ImapSession::cmd_delete(const Command& cmd) {
  if (cmd.args.size() != 1) {
    bad(cmd.tag, "DELETE needs a mailbox name");
    return;
  }
  auto name = mailbox_arg(cmd.args[0]);
  if (!name) {
    reject_mailbox_arg(cmd.tag, name.error());
    return;
  }
  if (*name == "INBOX") {
    no(cmd.tag, "INBOX cannot be deleted", "CANNOT");
    return;
  }
  if (selected_ && selected_->name == *name) {
    close_selected();
    if (rev2_ || qresync_) untagged("OK [CLOSED] The selected mailbox is being deleted");
  }
  auto st = user_->remove(*name);
  if (!st) {
    no_from(cmd.tag, st.error(), "Cannot delete " + *name);
    return;
  }
  ok(cmd.tag, "Delete completed");
}

void ImapSession::cmd_rename(const Command& cmd) {
  if (cmd.args.size() != 2) {
    bad(cmd.tag, "RENAME needs the old and the new mailbox name");
    return;
  }
  auto from = mailbox_arg(cmd.args[0]);
  auto to = from ? mailbox_arg(cmd.args[1]) : from;
  if (!from || !to) {
    reject_mailbox_arg(cmd.tag, (!from ? from : to).error());
    return;
  }
  if (*to == "INBOX") {
    no(cmd.tag, "A mailbox cannot be renamed to INBOX", "ALREADYEXISTS");
    return;
  }
  if (auto v = store::validate_mailbox_name(*to); !v) {
    no(cmd.tag, "Invalid mailbox name: " + v.error().message, "CANNOT");
    return;
  }
  if (selected_ && selected_->name == *from) {
    close_selected();
    if (rev2_ || qresync_) untagged("OK [CLOSED] The selected mailbox is being renamed");
  }
  if (*from == "INBOX") {
    // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new mailbox and leaves INBOX empty.
    if (auto st = user_->create(*to); !st) {
      no_from(cmd.tag, st.error(), "Cannot rename INBOX");
      return;
    }
    auto msgs = user_->messages("INBOX");
    if (!msgs) {
      no_from(cmd.tag, msgs.error(), "Cannot rename INBOX");
      return;
    }
    std::vector<std::uint32_t> uids;
    for (const auto& m : *msgs) uids.push_back(m.uid);
    if (!uids.empty()) {
      // RFC 8474 §5.1: the messages keep their EMAILIDs in the new mailbox (as with MOVE).
      std::vector<std::string> ids;
      if (auto inbox = user_->status("INBOX")) ids = email_ids("INBOX", mailbox_id_of("INBOX", *inbox), uids);
      auto moved = user_->move("INBOX", uids, *to);
      if (!moved) {
        no_from(cmd.tag, moved.error(), "Cannot rename INBOX");
        return;
      }
      if (!ids.empty()) carry_email_ids(*to, moved->uids, ids, uids);
    }
    ok(cmd.tag, "Rename completed");
    return;
  }
  auto st = user_->rename(*from, *to);
  if (!st) {
    no_from(cmd.tag, st.error(), "Cannot rename " + *from);
    return;
  }
  ok(cmd.tag, "Rename completed");
}

void ImapSession::cmd_subscribe(const Command& cmd, bool subscribe) {
  if (cmd.args.size() != 1) {
    bad(cmd.tag, cmd.name + " needs a mailbox name");
    return;
  }
  auto name = mailbox_arg(cmd.args[0]);
  if (!name) {
    reject_mailbox_arg(cmd.tag, name.error());
    return;
  }
  auto st = user_->subscribe(*name, subscribe);
  if (!st) {
    no_from(cmd.tag, st.error(), cmd.name + " " + *name);
    return;
  }
  ok(cmd.tag, cmd.name + " completed");
}

void ImapSession::cmd_list(const Command& cmd, bool lsub) {
  const std::string& tag = cmd.tag;
  const auto& a = cmd.args;
  std::size_t i = 0;
  // RFC 5258 selection options.
  bool sel_subscribed = false, sel_special = false, recursive = false;
  if (!lsub && i < a.size() && a[i].is_list()) {
    for (const auto& o : a[i].list) {
      if (o.is_keyword("SUBSCRIBED")) sel_subscribed = true;
      else if (o.is_keyword("SPECIAL-USE")) sel_special = true;
      else if (o.is_keyword("RECURSIVEMATCH")) recursive = true;
      else if (o.is_keyword("REMOTE")) continue;
      else {
        bad(tag, "Unknown LIST selection option " + o.value.substr(0, 40));
        return;
      }
    }
    if (recursive && !sel_subscribed) {
      bad(tag, "RECURSIVEMATCH needs another selection option (RFC 5258 section 3)");
      return;
    }
    ++i;
  }
  if (i + 2 > a.size() || !(a[i].is_astring() || a[i].is_nil())) {
    bad(tag, cmd.name + " needs a reference and a mailbox pattern");
    return;
  }
  auto text = [](const Arg& x) { return x.is_nil() ? std::string("NIL") : x.value; };
  std::string reference = text(a[i]);
  std::vector<std::string> patterns;
  if (a[i + 1].is_list() && !lsub) {
    for (const auto& p : a[i + 1].list) patterns.push_back(text(p));
  } else if (a[i + 1].is_astring() || a[i + 1].is_nil()) {
    patterns.push_back(text(a[i + 1]));
  } else {
    bad(tag, cmd.name + " needs a mailbox pattern");
    return;
  }
  i += 2;
  bool ret_subscribed = false, ret_children = false, ret_special = true;
  std::vector<std::string> wanted_status;
  bool ret_status = false;
  if (i < a.size()) {
    if (lsub || !a[i].is_keyword("RETURN") || i + 1 >= a.size() || !a[i + 1].is_list()) {
      bad(tag, "Unexpected argument after the LIST pattern");
      return;
    }
    const auto& r = a[i + 1].list;
    for (std::size_t k = 0; k < r.size(); ++k) {
      if (r[k].is_keyword("SUBSCRIBED")) ret_subscribed = true;
      else if (r[k].is_keyword("CHILDREN")) ret_children = true;
      else if (r[k].is_keyword("SPECIAL-USE")) ret_special = true;
      else if (r[k].is_keyword("STATUS") && k + 1 < r.size() && r[k + 1].is_list()) {
        auto items = parse_status_items(r[++k]);
        if (!items) {
          bad(tag, items.error().message);
          return;
        }
        wanted_status = *items;
        ret_status = true;
      } else {
        bad(tag, "Unknown LIST return option " + r[k].value.substr(0, 40));
        return;
      }
    }
    i += 2;
  }
  (void)ret_children;  // \HasChildren / \HasNoChildren are always sent, as Dovecot does
  if (i != a.size()) {
    bad(tag, "Too many arguments to " + cmd.name);
    return;
  }
  // Empty pattern: the hierarchy delimiter and root (RFC 9051 §6.3.9).
  if (patterns.size() == 1 && patterns[0].empty()) {
    untagged(fmt::format("{} (\\Noselect) \"{}\" \"\"", lsub ? "LSUB" : "LIST", kSep));
    ok(tag, cmd.name + " completed");
    return;
  }
  auto boxes = user_->list();
  if (!boxes) {
    no_from(tag, boxes.error(), cmd.name);
    return;
  }
  std::map<std::string, const store::MailboxInfo*> by_name;
  for (const auto& b : *boxes) by_name[b.name] = &b;
  if (by_name.find("INBOX") == by_name.end()) {
    static const store::MailboxInfo inbox{"INBOX", store::SpecialUse::none, true};
    by_name["INBOX"] = &inbox;
  }
  // Subscribed names: those of existing mailboxes, plus names whose mailbox does not exist (deleted
  // after SUBSCRIBE, or never created), which subscription listings show as \NonExistent.
  std::set<std::string> subscribed_names;
  for (const auto& [n, info] : by_name)
    if (info->subscribed || n == "INBOX") subscribed_names.insert(n);
  if (lsub || sel_subscribed) {
    auto subs = user_->subscriptions();
    if (!subs) {
      no_from(tag, subs.error(), cmd.name);
      return;
    }
    subscribed_names.insert(subs->begin(), subs->end());
  }
  auto has_children = [&](const std::string& n) {
    auto lo = by_name.lower_bound(n + kSep);
    return lo != by_name.end() && lo->first.rfind(n + kSep, 0) == 0;
  };
  // Decode patterns from the wire form.
  std::vector<std::string> decoded;
  for (const auto& p : patterns) {
    std::string full = reference + p;
    if (!utf8_) {
      // A pattern that is not valid mUTF-7 is matched as written (it names no mailbox we would list
      // under that spelling); Dovecot answers OK as well.
      if (auto d = store::mutf7_decode(full)) full = *d;
    }
    decoded.push_back(full);
  }
  auto matches_any = [&](const std::string& n) {
    return std::any_of(decoded.begin(), decoded.end(), [&](const auto& p) { return mailbox_matches(p, n); });
  };
  std::string kind = lsub ? "LSUB" : "LIST";
  auto emit = [&](const std::vector<std::string>& attrs, const std::string& n, std::string_view extended) {
    std::string joined;
    for (const auto& at : attrs) joined += (joined.empty() ? "" : " ") + at;
    untagged(fmt::format("{} ({}) \"{}\" {}{}", kind, joined, kSep, mailbox_out(n), extended));
  };
  // Candidates: every existing mailbox; for subscription listings also the subscribed names.
  std::set<std::string> names;
  for (const auto& [n, info] : by_name) names.insert(n);
  if (lsub || sel_subscribed) names.insert(subscribed_names.begin(), subscribed_names.end());
  std::set<std::string> listed;
  for (const auto& n : names) {
    auto it = by_name.find(n);
    const store::MailboxInfo* info = it == by_name.end() ? nullptr : it->second;
    bool subscribed = subscribed_names.count(n) > 0;
    if ((lsub || sel_subscribed) && !subscribed) continue;
    if (sel_special && (!info || info->special_use == store::SpecialUse::none)) continue;
    if (!matches_any(n)) continue;
    std::vector<std::string> attrs;
    if (!info) {
      if (!lsub) attrs.emplace_back("\\NonExistent");  // RFC 5258 §3: implies \Noselect
    } else if (!lsub) {
      attrs.push_back(has_children(n) ? "\\HasChildren" : "\\HasNoChildren");
      if (ret_special && info->special_use != store::SpecialUse::none)
        attrs.emplace_back(store::to_string(info->special_use));
    }
    if (!lsub && (ret_subscribed || sel_subscribed) && subscribed) attrs.emplace_back("\\Subscribed");
    emit(attrs, n, "");
    listed.insert(n);
    if (ret_status && info) {
      Status err;
      std::string s = status_items(n, wanted_status, &err);
      if (err) untagged("STATUS " + mailbox_out(n) + " (" + s + ")");
    }
  }
  if (sel_subscribed && recursive) {
    // RFC 5258 §3.5 RECURSIVEMATCH: a name that matches the pattern but is not subscribed itself, with a
    // subscribed descendant that the pattern does not match (so the client would not see it), is listed
    // with CHILDINFO ("SUBSCRIBED"). Dovecot draws the line the same way.
    std::map<std::string, bool> parents;  // parent → exists
    for (const auto& sname : subscribed_names) {
      if (matches_any(sname)) continue;
      for (std::size_t p = sname.find(kSep); p != std::string::npos; p = sname.find(kSep, p + 1)) {
        std::string parent = sname.substr(0, p);
        if (listed.count(parent) || !matches_any(parent)) continue;
        parents[parent] = by_name.count(parent) > 0;
      }
    }
    for (const auto& [parent, exists] : parents) {
      std::vector<std::string> attrs;
      if (!exists) attrs.emplace_back("\\NonExistent");
      else attrs.push_back(has_children(parent) ? "\\HasChildren" : "\\HasNoChildren");
      emit(attrs, parent, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
      listed.insert(parent);
    }
  }
  // '%' stops at a level: parents of deeper matches that do not exist are listed as \NonExistent
  // (RFC 5258 §3) with \HasChildren; for LSUB, a parent of a subscribed name the pattern does not match
  // as \Noselect (RFC 3501 §6.3.9). LIST (SUBSCRIBED) shows such parents only with RECURSIVEMATCH (above).
  if (!sel_subscribed) {
    for (const auto& n : names) {
      if (lsub && (!subscribed_names.count(n) || matches_any(n))) continue;
      for (std::size_t p = n.find(kSep); p != std::string::npos; p = n.find(kSep, p + 1)) {
        std::string parent = n.substr(0, p);
        if (listed.count(parent) || !matches_any(parent)) continue;
        if (!lsub && by_name.count(parent)) continue;  // listed above in its own right
        listed.insert(parent);
        if (lsub) emit({"\\Noselect"}, parent, "");
        else emit({"\\NonExistent", "\\HasChildren"}, parent, "");
      }
    }
  }
  ok(tag, cmd.name + " completed");
}

std::string ImapSession::status_items(const std::string& mailbox, const std::vector<std::string>& items, Status* error) {
  auto st = user_->status(mailbox);
  if (!st) {
    *error = fail(st.error());
    return {};
  }
  std::optional<std::uint32_t> deleted;
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ' ';
    if (item == "MESSAGES") out += fmt::format("MESSAGES {}", st->messages);
    else if (item == "UIDNEXT") out += fmt::format("UIDNEXT {}", st->uid_next);
    else if (item == "UIDVALIDITY") out += fmt::format("UIDVALIDITY {}", st->uid_validity);
    else if (item == "UNSEEN") out += fmt::format("UNSEEN {}", st->unseen);
    else if (item == "RECENT") {
      // Recent = not yet seen by any read-write session (the same claims SELECT makes).
      std::size_t recent = 0;
      if (selected_ && selected_->name == mailbox) recent = selected_->recent.size();
      else if (auto msgs = user_->messages(mailbox)) recent = claim_recent(mailbox, st->uid_validity, *msgs, false).size();
      out += fmt::format("RECENT {}", recent);
    }
    else if (item == "SIZE") out += fmt::format("SIZE {}", st->size);
    else if (item == "HIGHESTMODSEQ") out += fmt::format("HIGHESTMODSEQ {}", st->highest_modseq);
    else if (item == "APPENDLIMIT") out += fmt::format("APPENDLIMIT {}", d_.settings.append_limit);
    else if (item == "MAILBOXID") out += "MAILBOXID (" + mailbox_id_of(mailbox, *st) + ")";  // RFC 8474 §4.3
    else if (item == "DELETED") {
      if (!deleted) {
        deleted = 0;
        if (auto msgs = user_->messages(mailbox))
          for (const auto& m : *msgs)
            if (m.flags.system & store::flag_deleted) ++*deleted;
      }
      out += fmt::format("DELETED {}", *deleted);
    }
  }
  if (!condstore_) {
    // RFC 7162 §3.1: asking for HIGHESTMODSEQ enables CONDSTORE.
    if (std::find(items.begin(), items.end(), "HIGHESTMODSEQ") != items.end()) enable_condstore();
  }
  *error = Status{};
  return out;
}

void ImapSession::cmd_status(const Command& cmd) {
  if (cmd.args.size() != 2 || !cmd.args[1].is_list()) {
    bad(cmd.tag, "STATUS needs a mailbox name and a list of items");
    return;
  }
  auto name = mailbox_arg(cmd.args[0]);
  if (!name) {
    reject_mailbox_arg(cmd.tag, name.error());
    return;
  }
  auto items = parse_status_items(cmd.args[1]);
  if (!items) {
    bad(cmd.tag, items.error().message);
    return;
  }
  Status err;
  std::string s = status_items(*name, *items, &err);
  if (!err) {
    no_from(cmd.tag, err.error(), "STATUS " + *name);
    return;
  }
  untagged("STATUS " + mailbox_out(*name) + " (" + s + ")");
  ok(cmd.tag, "Status completed");
}

void ImapSession::cmd_close(const Command& cmd, bool expunge) {
  if (!cmd.args.empty()) {
    bad(cmd.tag, cmd.name + " takes no arguments");
    return;
  }
  // RFC 9051 §6.4.1: CLOSE expunges silently (no EXPUNGE responses) unless the mailbox is read-only.
  if (expunge && !selected_->read_only) (void)user_->expunge(selected_->name);
  close_selected();
  ok(cmd.tag, cmd.name + " completed");
}

void ImapSession::cmd_getquota(const Command& cmd, bool root) {
  if (cmd.args.size() != 1 || !cmd.args[0].is_astring()) {
    bad(cmd.tag, cmd.name + " needs one argument");
    return;
  }
  auto usage = user_->quota();
  if (!usage) {
    no_from(cmd.tag, usage.error(), cmd.name);
    return;
  }
  bool limited = usage->limits.bytes > 0 || usage->limits.messages > 0;
  if (root) {
    auto name = mailbox_arg(cmd.args[0]);
    if (!name) {
      reject_mailbox_arg(cmd.tag, name.error());
      return;
    }
    if (auto st = user_->status(*name); !st) {
      no_from(cmd.tag, st.error(), "GETQUOTAROOT");
      return;
    }
    untagged("QUOTAROOT " + mailbox_out(*name) + (limited ? " \"\"" : ""));
  } else if (!cmd.args[0].value.empty()) {
    no(cmd.tag, "No such quota root: " + cmd.args[0].value.substr(0, 80), "NONEXISTENT");
    return;
  }
  if (limited) {
    // RFC 9208 §5: STORAGE in units of 1024 octets.
    std::string res;
    if (usage->limits.bytes > 0)
      res += fmt::format("STORAGE {} {}", (usage->bytes + 1023) / 1024, usage->limits.bytes / 1024);
    if (usage->limits.messages > 0)
      res += fmt::format("{}MESSAGE {} {}", res.empty() ? "" : " ", usage->messages, usage->limits.messages);
    untagged("QUOTA \"\" (" + res + ")");
  } else if (!root) {
    no(cmd.tag, "This account has no quota", "NONEXISTENT");
    return;
  }
  ok(cmd.tag, cmd.name + " completed");
}

void ImapSession::cmd_setquota(const Command& cmd) {
  no(cmd.tag, "Quotas are set by the administrator (ternctl user quota)", "NOPERM");
}

}  // namespace tern::imap
