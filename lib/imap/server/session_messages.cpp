// Synchronous command bodies on the messages of the selected mailbox: FETCH, STORE, SEARCH, SORT,
// THREAD, COPY/MOVE, EXPUNGE and their UID forms (RFC 9051 §6.4, RFC 4315, RFC 6851, RFC 7162,
// RFC 5256, RFC 4731/5182, RFC 3516). They run on a worker thread (see imap_session.hpp).
#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <ctime>

#include <fmt/format.h>

#include "header_field_cache.hpp"
#include "imap_session.hpp"
#include "tern/imap/command_args.hpp"
#include "tern/imap/search.hpp"
#include "tern/imap/section.hpp"
#include "tern/imap/sort.hpp"
#include "tern/imap/thread.hpp"
#include "tern/mime/imap_view.hpp"

namespace tern::imap {
namespace {

// What FETCH computes from a message's bytes and keeps in the store's per-message cache, as formatted
// for the response (the text after "ENVELOPE " / "BODYSTRUCTURE " / "BODY "): a warm FETCH neither opens
// the message nor parses it again (Dovecot's dovecot.index.cache keeps the same). The text depends only on
// the message's bytes and on the formatting code: bump the version when mime::to_imap's output changes.
constexpr std::string_view kEnvelopeField = "imap.envelope.v1";
// "<length of the BODYSTRUCTURE text> <BODYSTRUCTURE text><BODY text>": both come from one parse.
constexpr std::string_view kStructureField = "imap.bodystructure.v1";

std::string encode_structure(const std::string& bodystructure, const std::string& body) {
  return std::to_string(bodystructure.size()) + ' ' + bodystructure + body;
}
std::optional<std::pair<std::string, std::string>> decode_structure(const std::string& v) {
  auto sp = v.find(' ');
  if (sp == std::string::npos || sp == 0 || sp > 9) return std::nullopt;
  std::size_t n = 0;
  for (std::size_t i = 0; i < sp; ++i) {
    if (v[i] < '0' || v[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(v[i] - '0');
  }
  if (n == 0 || n > v.size() - sp - 1 || v.size() - sp - 1 - n == 0) return std::nullopt;  // a damaged value
  return std::make_pair(v.substr(sp + 1, n), v.substr(sp + 1 + n));
}

// Can every item be answered from the message's metadata, its cached header fields (HeaderFieldCache)
// and its cached ENVELOPE/BODY/BODYSTRUCTURE texts? Then FETCH reads headers through the header field
// cache (when an ENVELOPE or HEADER.FIELDS needs them) and opens no message file when all is cached.
bool answered_by_cached_fields(const std::vector<FetchItem>& items) {
  bool header = false;
  for (const auto& it : items) {
    switch (it.kind) {
      case FetchItem::Kind::uid: case FetchItem::Kind::flags: case FetchItem::Kind::internaldate:
      case FetchItem::Kind::rfc822_size: case FetchItem::Kind::modseq:
      case FetchItem::Kind::body: case FetchItem::Kind::bodystructure:
        break;
      case FetchItem::Kind::envelope: header = true; break;
      case FetchItem::Kind::body_section:
        if (!it.section.part.empty() || it.section.text != Section::Text::header_fields ||
            !HeaderFieldCache::covers(it.section.fields))
          return false;
        header = true;
        break;
      default: return false;
    }
  }
  return header;
}

// The header loader: the cached fields when they are all `fields` need, else the header block.
MessageView::Loader header_loader(store::UserMailbox* user, const std::string& mbox, std::uint32_t u,
                                  HeaderFieldCache* cache) {
  if (cache) return cache->loader(u);
  return [user, &mbox, u] { return user->fetch_header(mbox, u); };
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string literal(std::string_view data, bool literal8 = false) {
  return fmt::format("{}{{{}}}\r\n", literal8 ? "~" : "", data.size()) + std::string(data);
}

// The section as echoed in the response: "1.2.HEADER.FIELDS (From To)".
std::string section_spec(const Section& s) {
  std::string out;
  for (std::size_t i = 0; i < s.part.size(); ++i) out += (i ? "." : "") + std::to_string(s.part[i]);
  auto add = [&](std::string_view what) {
    if (!out.empty()) out += '.';
    out += what;
  };
  switch (s.text) {
    case Section::Text::full: break;
    case Section::Text::header: add("HEADER"); break;
    case Section::Text::text: add("TEXT"); break;
    case Section::Text::mime: add("MIME"); break;
    case Section::Text::header_fields:
    case Section::Text::header_fields_not: {
      add(s.text == Section::Text::header_fields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (");
      for (std::size_t i = 0; i < s.fields.size(); ++i) out += (i ? " " : "") + upper(s.fields[i]);
      out += ')';
      break;
    }
  }
  return out;
}

// RFC 9051 §6.4.5: BODY[...]<origin> echoes only the origin of a partial.
std::string partial_spec(const std::optional<Partial>& p) {
  return p ? fmt::format("<{}>", p->offset) : std::string();
}

}  // namespace

Result<std::vector<std::size_t>> ImapSession::resolve(const Arg& arg, bool uid) {
  if (!arg.is_atom()) return fail(ErrorCategory::invalid_argument, "Expected a sequence set");
  auto set = parse_sequence_set(arg.value);
  if (!set) return fail(set.error());
  const auto& msgs = selected_->messages();
  std::vector<std::size_t> out;
  if (set->saved) {  // RFC 5182: "$" is the saved UIDs (an absent result matches nothing)
    for (auto u : selected_->saved_search)
      if (auto s = selected_->seq_of(u)) out.push_back(s - 1);
    return out;
  }
  if (uid) {
    std::uint32_t largest = selected_->largest_uid();
    for (const auto& r : set->ranges) {
      std::uint32_t a = r.first == SeqRange::kStar ? largest : r.first;
      std::uint32_t b = r.last == SeqRange::kStar ? largest : r.last;
      if (a > b) std::swap(a, b);
      // RFC 9051 §6.4.8: "n:*" includes the last message even when n is larger than its UID.
      if (r.first == SeqRange::kStar || r.last == SeqRange::kStar) {
        if (largest == 0) continue;
      }
      auto lo = std::lower_bound(msgs.begin(), msgs.end(), a, [](const auto& m, std::uint32_t v) { return m.uid < v; });
      for (auto it = lo; it != msgs.end() && it->uid <= b; ++it) out.push_back(static_cast<std::size_t>(it - msgs.begin()));
      if ((r.first == SeqRange::kStar || r.last == SeqRange::kStar) && !msgs.empty() && a > largest)
        out.push_back(msgs.size() - 1);
    }
  } else {
    auto count = static_cast<std::uint32_t>(msgs.size());
    for (const auto& r : set->ranges) {
      std::uint32_t a = r.first == SeqRange::kStar ? count : r.first;
      std::uint32_t b = r.last == SeqRange::kStar ? count : r.last;
      if (a > b) std::swap(a, b);
      if (a == 0 || b > count)  // RFC 9051 §6.4.5: a message number beyond the mailbox is an error
        return fail(ErrorCategory::invalid_argument, "Invalid message sequence number (the mailbox has " +
                                                         std::to_string(count) + " messages)");
      for (std::uint32_t n = a; n <= b; ++n) out.push_back(n - 1);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- FETCH ---------------------------------------------------------------------------------------

void ImapSession::cmd_fetch(const Command& cmd, bool uid, std::size_t first) {
  const std::string& tag = cmd.tag;
  const auto& a = cmd.args;
  if (a.size() < first + 2 || a.size() > first + 3) {
    bad(tag, "FETCH needs a sequence set and data items");
    return;
  }
  auto indexes = resolve(a[first], uid);
  if (!indexes) {
    bad(tag, indexes.error().message);
    return;
  }
  auto items = parse_fetch_items(a[first + 1], !rev2_);
  if (!items) {
    bad(tag, items.error().message);
    return;
  }
  FetchModifiers mods;
  if (a.size() == first + 3) {
    auto m = parse_fetch_modifiers(a[first + 2]);
    if (!m) {
      bad(tag, m.error().message);
      return;
    }
    mods = *m;
    if (mods.vanished && (!uid || !qresync_)) {
      bad(tag, "VANISHED needs UID FETCH and QRESYNC enabled");
      return;
    }
    if (mods.vanished && !mods.changedsince) {
      bad(tag, "VANISHED needs CHANGEDSINCE");
      return;
    }
    if (mods.changedsince) enable_condstore();  // RFC 7162 §3.1: CHANGEDSINCE enables CONDSTORE
  }
  // RFC 7162 §3.2.4: with QRESYNC every FETCH response carries the UID.
  bool want_uid = uid || qresync_;
  bool want_modseq = mods.changedsince.has_value();
  bool sets_seen = false;
  for (const auto& it : *items) {
    if (it.kind == FetchItem::Kind::modseq) {
      want_modseq = true;
      enable_condstore();
    }
    if (!it.peek && (it.kind == FetchItem::Kind::body_section || it.kind == FetchItem::Kind::binary ||
                     it.kind == FetchItem::Kind::rfc822 || it.kind == FetchItem::Kind::rfc822_text))
      sets_seen = true;
  }
  auto& sel = *selected_;
  if (mods.vanished) {
    // RFC 7162 §3.2.6: UIDs of the set that are gone (those the client asked about, below UIDNEXT).
    auto set = parse_sequence_set(a[first].value);
    std::vector<std::uint32_t> gone;
    std::uint32_t upto = sel.uid_next - 1;
    std::size_t k = 0;
    for (std::uint32_t u = 1; set && !set->saved && u <= upto && gone.size() < 1000000; ++u) {
      while (k < sel.messages().size() && sel.messages()[k].uid < u) ++k;
      if ((k >= sel.messages().size() || sel.messages()[k].uid != u) && set->contains(u, upto)) gone.push_back(u);
    }
    if (!gone.empty()) untagged("VANISHED (EARLIER) " + format_sequence_set(gone));
  }
  const std::string& mbox = sel.name;
  auto* user = user_.get();
  std::vector<std::uint32_t> order;  // the UIDs in the order they are read
  order.reserve(indexes->size());
  for (auto idx : *indexes) order.push_back(sel.messages()[idx].uid);
  auto wants = [&](FetchItem::Kind k) {
    return std::any_of(items->begin(), items->end(), [k](const FetchItem& it) { return it.kind == k; });
  };
  std::optional<FieldCache> envelopes, structures;
  if (wants(FetchItem::Kind::envelope)) envelopes.emplace(*user, mbox, kEnvelopeField, order);
  if (wants(FetchItem::Kind::body) || wants(FetchItem::Kind::bodystructure)) structures.emplace(*user, mbox, kStructureField, order);
  std::optional<HeaderFieldCache> field_cache;
  if (answered_by_cached_fields(*items)) field_cache.emplace(*user, mbox, order);
  // RFC 8474 EMAILIDs of every message fetched, looked up once (they may come from the store's cache).
  std::vector<std::string> emailids;
  if (std::any_of(items->begin(), items->end(), [](const FetchItem& it) { return it.kind == FetchItem::Kind::emailid; })) {
    std::vector<std::uint32_t> fetched;
    fetched.reserve(indexes->size());
    for (auto idx : *indexes) fetched.push_back(sel.messages()[idx].uid);
    emailids = email_ids(mbox, sel.mailbox_id, fetched);
  }
  std::size_t next_pos = 0;
  for (auto idx : *indexes) {
    const std::size_t pos = next_pos++;  // position in *indexes (and emailids)
    if (mods.changedsince && sel.messages()[idx].modseq <= *mods.changedsince) continue;
    std::uint32_t u = sel.messages()[idx].uid;
    // \Seen is set before the data goes out, and FLAGS is then part of the response (RFC 9051 §6.4.5).
    bool flags_changed = false;
    if (sets_seen && !sel.read_only && !(sel.messages()[idx].flags.system & store::flag_seen)) {
      store::FlagChange change;
      change.mode = store::FlagChange::Mode::add;
      change.flags.system = store::flag_seen;
      auto res = user_->change_flags(mbox, {u}, change);
      if (res && !res->changed.empty()) {
        auto& mine = sel.mutable_message(idx);
        mine.flags = res->changed.front().flags;
        mine.modseq = res->changed.front().modseq;
        flags_changed = true;
      }
    }
    // After the \Seen change: mutable_message() may have given this session its own list.
    const store::MessageInfo& info = sel.messages()[idx];
    MessageView view(
        static_cast<std::uint32_t>(idx + 1), info, [user, &mbox, u] { return user->fetch(mbox, u); },
        header_loader(user, mbox, u, field_cache ? &*field_cache : nullptr));
    std::string body;
    bool missing = false;
    std::optional<std::string> envelope_text;                            // from the cache or computed once
    std::optional<std::pair<std::string, std::string>> structure_text;  // (BODYSTRUCTURE, BODY)
    auto add = [&](std::string_view s) {
      if (!body.empty()) body += ' ';
      body += s;
    };
    if (want_uid) add(fmt::format("UID {}", u));
    // Like Dovecot, FLAGS changed by this FETCH come first, before the (possibly large) literals.
    bool flags_listed = flags_changed;
    if (flags_changed) add("FLAGS " + format_flags(info.flags, sel.recent.count(u) > 0));
    for (const auto& it : *items) {
      switch (it.kind) {
        case FetchItem::Kind::uid:
          if (!want_uid) {
            add(fmt::format("UID {}", u));
            want_uid = true;
          }
          break;
        case FetchItem::Kind::flags:
          if (!flags_listed) add("FLAGS " + format_flags(info.flags, sel.recent.count(u) > 0));
          flags_listed = true;
          break;
        case FetchItem::Kind::internaldate:
          add("INTERNALDATE \"" + format_date_time(info.internal_date) + "\"");
          break;
        case FetchItem::Kind::rfc822_size: add(fmt::format("RFC822.SIZE {}", info.size)); break;
        case FetchItem::Kind::modseq: break;  // below
        case FetchItem::Kind::envelope: {
          if (!envelope_text) envelope_text = envelopes->take(u);
          if (!envelope_text || envelope_text->empty()) {
            const auto* m = view.parsed_header();
            if (!m) {
              missing = true;
              break;
            }
            envelope_text = mime::to_imap(mime::make_envelope(*m, m->root()));
            envelopes->put(u, *envelope_text);
          }
          add("ENVELOPE " + *envelope_text);
          break;
        }
        case FetchItem::Kind::body:
        case FetchItem::Kind::bodystructure: {
          if (!structure_text)
            if (auto c = structures->take(u)) structure_text = decode_structure(*c);
          if (!structure_text) {
            const auto* m = view.parsed();
            if (!m) {
              missing = true;
              break;
            }
            auto bs = mime::make_body_structure(*m);
            structure_text.emplace(mime::to_imap(bs, true), mime::to_imap(bs, false));
            structures->put(u, encode_structure(structure_text->first, structure_text->second));
          }
          bool ext = it.kind == FetchItem::Kind::bodystructure;
          add(std::string(ext ? "BODYSTRUCTURE " : "BODY ") + (ext ? structure_text->first : structure_text->second));
          break;
        }
        case FetchItem::Kind::body_section:
        case FetchItem::Kind::rfc822:
        case FetchItem::Kind::rfc822_header:
        case FetchItem::Kind::rfc822_text: {
          Section section = it.section;
          if (it.kind == FetchItem::Kind::rfc822_header) section.text = Section::Text::header;
          if (it.kind == FetchItem::Kind::rfc822_text) section.text = Section::Text::text;
          std::string data;
          bool header_only = section.part.empty() && (section.text == Section::Text::header ||
                                                      section.text == Section::Text::header_fields ||
                                                      section.text == Section::Text::header_fields_not);
          if (section.part.empty() && section.text == Section::Text::full) {
            const auto* raw = view.message();
            if (!raw) {
              missing = true;
              break;
            }
            data = std::string(*raw);
          } else {
            const auto* m = header_only ? view.parsed_header() : view.parsed();
            if (!m) {
              missing = true;
              break;
            }
            data = fetch_section(*m, section);
          }
          auto part = apply_partial(data, it.partial);
          std::string name;
          if (it.kind == FetchItem::Kind::rfc822) name = "RFC822";
          else if (it.kind == FetchItem::Kind::rfc822_header) name = "RFC822.HEADER";
          else if (it.kind == FetchItem::Kind::rfc822_text) name = "RFC822.TEXT";
          else name = "BODY[" + section_spec(section) + "]" + partial_spec(it.partial);
          add(name + " " + literal(part));
          break;
        }
        case FetchItem::Kind::binary:
        case FetchItem::Kind::binary_size: {
          const auto* m = view.parsed();
          if (!m) {
            missing = true;
            break;
          }
          if (it.kind == FetchItem::Kind::binary_size) {
            auto n = fetch_binary_size(*m, it.section);
            if (!n) {
              no(tag, "The content transfer encoding of this part is unknown", "UNKNOWN-CTE");
              return;
            }
            add(fmt::format("BINARY.SIZE[{}] {}", section_spec(it.section), *n));
          } else {
            auto data = fetch_binary(*m, it.section);
            if (!data) {
              no(tag, "The content transfer encoding of this part is unknown", "UNKNOWN-CTE");
              return;
            }
            auto part = apply_partial(*data, it.partial);
            add("BINARY[" + section_spec(it.section) + "]" + partial_spec(it.partial) + " " +
                literal(part, needs_literal8(part)));
          }
          break;
        }
        case FetchItem::Kind::savedate:
          // RFC 8514 §4.2: NIL only where the store cannot tell.
          if (info.save_date) add("SAVEDATE \"" + format_date_time(info.save_date) + "\"");
          else add("SAVEDATE NIL");
          break;
        case FetchItem::Kind::emailid:  // RFC 8474 §5.1
          add("EMAILID (" + emailids[pos] + ")");
          break;
        case FetchItem::Kind::threadid:  // RFC 8474 §5.2: no THREADIDs are kept, so NIL
          add("THREADID NIL");
          break;
      }
    }
    if (want_modseq || (flags_changed && condstore_)) add(fmt::format("MODSEQ ({})", info.modseq));
    if (missing) continue;  // expunged by another session meanwhile: its EXPUNGE comes later
    // Written straight into the output; after the first response, room for all of them (a FETCH of 10,000
    // envelopes otherwise copied its 3 MB answer over and over while the buffer grew).
    if (pos == 0 && indexes->size() > 1) {
      std::size_t guess = (body.size() + 32) * indexes->size();
      out_.reserve(out_.size() + std::min<std::size_t>(guess + guess / 8, std::size_t{64} << 20));
    }
    out_ += "* ";
    fmt::format_to(std::back_inserter(out_), "{} FETCH (", idx + 1);
    out_ += body;
    out_ += ")\r\n";
    want_uid = uid || qresync_;
  }
  ok(tag, "Fetch completed");
}

// ---- STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3) ------------------------------------------------------

void ImapSession::cmd_store(const Command& cmd, bool uid, std::size_t first) {
  const std::string& tag = cmd.tag;
  const auto& a = cmd.args;
  std::size_t i = first;
  if (a.size() < i + 3) {
    bad(tag, "STORE needs a sequence set, an action and flags");
    return;
  }
  auto indexes = resolve(a[i++], uid);
  if (!indexes) {
    bad(tag, indexes.error().message);
    return;
  }
  store::FlagChange change;
  if (a[i].is_list()) {  // (UNCHANGEDSINCE n)
    const auto& l = a[i].list;
    if (l.size() != 2 || !l[0].is_keyword("UNCHANGEDSINCE")) {
      bad(tag, "Unknown STORE modifier");
      return;
    }
    try {
      change.unchanged_since = std::stoull(l[1].value);
    } catch (...) {
      bad(tag, "UNCHANGEDSINCE needs a number");
      return;
    }
    enable_condstore();
    ++i;
  }
  if (a.size() < i + 2 || !a[i].is_atom()) {
    bad(tag, "STORE needs an action (FLAGS, +FLAGS, -FLAGS) and flags");
    return;
  }
  std::string action = upper(a[i++].value);
  bool silent = false;
  if (action.size() > 7 && action.substr(action.size() - 7) == ".SILENT") {
    silent = true;
    action.resize(action.size() - 7);
  }
  if (action == "FLAGS") change.mode = store::FlagChange::Mode::set;
  else if (action == "+FLAGS") change.mode = store::FlagChange::Mode::add;
  else if (action == "-FLAGS") change.mode = store::FlagChange::Mode::remove;
  else {
    bad(tag, "Unknown STORE action " + action.substr(0, 40));
    return;
  }
  store::MessageFlags flags;
  if (a.size() == i + 1) {
    auto f = parse_flags(a[i], true);
    if (!f) {
      bad(tag, f.error().message);
      return;
    }
    flags = *f;
  } else {  // RFC 3501 allows the flags without parentheses: "+FLAGS \Seen \Deleted"
    Arg list;
    list.type = Arg::Type::list;
    list.list.assign(a.begin() + static_cast<std::ptrdiff_t>(i), a.end());
    auto f = parse_flags(list, true);
    if (!f) {
      bad(tag, f.error().message);
      return;
    }
    flags = *f;
  }
  change.flags = flags;
  auto& sel = *selected_;
  if (sel.read_only) {
    no(tag, "The mailbox is read-only (selected with EXAMINE)", "READ-ONLY");
    return;
  }
  std::vector<std::uint32_t> uids;
  for (auto idx : *indexes) uids.push_back(sel.messages()[idx].uid);
  if (uids.empty()) {
    ok(tag, "Store completed");
    return;
  }
  auto res = user_->change_flags(sel.name, uids, change);
  if (!res) {
    no_from(tag, res.error(), "STORE");
    return;
  }
  std::set<std::uint32_t> changed;
  for (const auto& m : res->changed) {
    if (auto s = sel.seq_of(m.uid)) {
      auto& mine = sel.mutable_message(s - 1);
      mine.flags = m.flags;
      mine.modseq = m.modseq;
      changed.insert(m.uid);
    }
    for (const auto& k : m.flags.keywords)
      if (sel.keywords.insert(k).second) {
        // A new keyword: announce it before it appears in FETCH responses.
        std::string all = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
        for (const auto& w : sel.keywords) all += " " + w;
        untagged("FLAGS (" + all + ")");
        untagged("OK [PERMANENTFLAGS (" + all + " \\*)] Flags permitted");
      }
  }
  std::set<std::uint32_t> refused(res->modified.begin(), res->modified.end());
  for (auto idx : *indexes) {
    const auto& m = sel.messages()[idx];
    if (refused.count(m.uid)) continue;
    // .SILENT: no FETCH for what this client set, but with CONDSTORE the new MODSEQ still goes out
    // (RFC 7162 §3.1.3).
    if (silent && !(condstore_ && changed.count(m.uid))) continue;
    std::string items;
    if (uid || qresync_) items += fmt::format("UID {} ", m.uid);
    if (!silent) items += "FLAGS " + format_flags(m.flags, sel.recent.count(m.uid) > 0);
    if (condstore_) items += fmt::format("{}MODSEQ ({})", silent ? "" : " ", m.modseq);
    while (!items.empty() && items.back() == ' ') items.pop_back();
    untagged(fmt::format("{} FETCH ({})", idx + 1, items));
  }
  if (!refused.empty()) {
    std::vector<std::uint32_t> numbers;
    for (auto u : refused) numbers.push_back(uid ? u : sel.seq_of(u));
    ok(tag, "Conditional store completed", "MODIFIED " + format_sequence_set(numbers));
    return;
  }
  ok(tag, "Store completed");
}

// What SEARCH, SORT and THREAD evaluate keys against in the selected mailbox.
SearchEnv ImapSession::search_env(SelectedMailbox& sel) {
  SearchEnv env;
  env.message_count = static_cast<std::uint32_t>(sel.messages().size());
  env.largest_uid = sel.largest_uid();
  env.saved_uids = sel.has_saved_search ? &sel.saved_search : nullptr;
  env.now = static_cast<std::int64_t>(std::time(nullptr));
  env.savedate_supported = true;  // RFC 8514: the store gives save dates (MessageInfo::save_date)
  // RFC 8474 SEARCH EMAILID: the ids of the whole mailbox, looked up on first use.
  std::shared_ptr<std::map<std::uint32_t, std::string>> ids_by_uid;
  env.email_id = [this, &sel, ids_by_uid](std::uint32_t u) mutable {
    if (!ids_by_uid) {
      ids_by_uid = std::make_shared<std::map<std::uint32_t, std::string>>();
      auto all = sel.uids();
      auto ids = email_ids(sel.name, sel.mailbox_id, all);
      for (std::size_t i = 0; i < all.size(); ++i) (*ids_by_uid)[all[i]] = std::move(ids[i]);
    }
    auto it = ids_by_uid->find(u);
    return it == ids_by_uid->end() ? std::string() : it->second;
  };
  return env;
}


// ---- SEARCH / SORT / THREAD ----------------------------------------------------------------------

void ImapSession::cmd_search(const Command& cmd, bool uid, std::size_t first) {
  const std::string& tag = cmd.tag;
  std::span<const Arg> args(cmd.args.data() + first, cmd.args.size() - first);
  auto program = parse_search(args, true);
  if (!program) {
    if (program.error().category == ErrorCategory::unsupported)
      no(tag, "Only US-ASCII and UTF-8 searches are supported", "BADCHARSET (US-ASCII UTF-8)");
    else bad(tag, program.error().message);
    return;
  }
  // RFC 9051 §6.4.4: an IMAP4rev2 client gets ESEARCH even without RETURN (as if RETURN (ALL)); the
  // untagged SEARCH response is IMAP4rev1 only (RFC 9051 appendix E).
  if (rev2_) program->esearch = true;
  auto& sel = *selected_;
  SearchEnv env = search_env(sel);
  const std::string& mbox = sel.name;
  auto* user = user_.get();
  std::vector<std::uint32_t> numbers, uids;
  std::uint64_t max_modseq = 0;
  // Flag, size, date and set keys never read the message: skip building loaders for them.
  bool metadata_only = search_needs(program->key) == SearchNeeds::metadata;
  std::optional<HeaderFieldCache> field_cache;
  if (auto fields = header_fields_read(program->key); !metadata_only && fields && HeaderFieldCache::covers(*fields))
    field_cache.emplace(*user, mbox, sel.uids());
  for (std::size_t i = 0; i < sel.messages().size(); ++i) {
    const auto& info = sel.messages()[i];
    std::uint32_t u = info.uid;
    auto seq = static_cast<std::uint32_t>(i + 1);
    MessageView view = metadata_only
                           ? MessageView(seq, info, std::string_view{})
                           : MessageView(
                                 seq, info, [user, &mbox, u] { return user->fetch(mbox, u); },
                                 header_loader(user, mbox, u, field_cache ? &*field_cache : nullptr));
    view.recent = sel.recent.count(u) > 0;
    if (!matches(program->key, view, env)) continue;
    numbers.push_back(uid ? u : static_cast<std::uint32_t>(i + 1));
    uids.push_back(u);
    max_modseq = std::max(max_modseq, info.modseq);
  }
  std::optional<std::uint64_t> modseq;
  if (uses_modseq(program->key)) {
    enable_condstore();
    if (!numbers.empty()) {
      modseq = max_modseq;
      // RFC 4731 §3.2 / RFC 7162 §3.1.5: with only MIN or MAX returned, the MODSEQ is that message's.
      const auto& r = program->ret;
      if (program->esearch && (r.min != r.max) && !r.all && !r.count) {
        std::uint32_t u = r.min ? uids.front() : uids.back();
        if (auto s = sel.seq_of(u)) modseq = sel.messages()[s - 1].modseq;
      }
    }
  }
  if (program->ret.save) {
    sel.saved_search = saved_result(program->ret, uids);
    sel.has_saved_search = true;
  }
  if (program->esearch) {
    if (esearch_response_wanted(program->ret))
      out_ += format_esearch_response(tag, uid, program->ret, numbers, modseq) + "\r\n";  // has its "* "
  } else {
    out_ += format_search_response(numbers, modseq) + "\r\n";
  }
  ok(tag, "Search completed");
}

bool ImapSession::matching_views(const Command& cmd, std::size_t keys_from, std::vector<MessageView>& views,
                                 std::vector<MessageView*>& hits, std::optional<HeaderFieldCache>& field_cache) {
  // RFC 5256: SORT and THREAD take a mandatory charset, then search keys: the SEARCH parser with CHARSET.
  const auto& a = cmd.args;
  std::vector<Arg> search_args;
  Arg charset_kw;
  charset_kw.value = "CHARSET";
  search_args.push_back(charset_kw);
  search_args.insert(search_args.end(), a.begin() + static_cast<std::ptrdiff_t>(keys_from), a.end());
  auto program = parse_search(search_args, false);
  if (!program) {
    if (program.error().category == ErrorCategory::unsupported)
      no(cmd.tag, "Only US-ASCII and UTF-8 are supported", "BADCHARSET (US-ASCII UTF-8)");
    else bad(cmd.tag, program.error().message);
    return false;
  }
  auto& sel = *selected_;
  SearchEnv env = search_env(sel);
  const std::string& mbox = sel.name;
  auto* user = user_.get();
  // Every SORT criterion and THREAD algorithm reads only cached fields (Date Subject From To Cc
  // Message-ID References In-Reply-To); the search keys decide.
  if (auto fields = header_fields_read(program->key); fields && HeaderFieldCache::covers(*fields))
    field_cache.emplace(*user, mbox, sel.uids());
  views.reserve(sel.messages().size());
  for (std::size_t i = 0; i < sel.messages().size(); ++i) {
    std::uint32_t u = sel.messages()[i].uid;
    views.emplace_back(
        static_cast<std::uint32_t>(i + 1), sel.messages()[i], [user, &mbox, u] { return user->fetch(mbox, u); },
        header_loader(user, mbox, u, field_cache ? &*field_cache : nullptr));
  }
  for (auto& v : views)
    if (matches(program->key, v, env)) hits.push_back(&v);
  return true;
}

void ImapSession::cmd_sort(const Command& cmd, bool uid, std::size_t first) {
  const auto& a = cmd.args;
  if (a.size() < first + 3) {
    bad(cmd.tag, "SORT needs criteria, a charset and search keys");
    return;
  }
  auto criteria = parse_sort_criteria(a[first]);
  if (!criteria) {
    bad(cmd.tag, criteria.error().message);
    return;
  }
  std::optional<HeaderFieldCache> field_cache;  // declared first: the views' loaders point to it
  std::vector<MessageView> views;
  std::vector<MessageView*> hits;
  if (!matching_views(cmd, first + 1, views, hits, field_cache)) return;
  std::string line = "SORT";
  for (auto n : sort_messages(hits, *criteria, uid)) line += " " + std::to_string(n);
  untagged(line);
  ok(cmd.tag, "Sort completed");
}

void ImapSession::cmd_thread(const Command& cmd, bool uid, std::size_t first) {
  const auto& a = cmd.args;
  if (a.size() < first + 3) {
    bad(cmd.tag, "THREAD needs an algorithm, a charset and search keys");
    return;
  }
  auto algorithm = parse_thread_algorithm(a[first]);
  if (!algorithm) {
    bad(cmd.tag, algorithm.error().message);
    return;
  }
  std::optional<HeaderFieldCache> field_cache;  // declared first: the views' loaders point to it
  std::vector<MessageView> views;
  std::vector<MessageView*> hits;
  if (!matching_views(cmd, first + 1, views, hits, field_cache)) return;
  std::string formatted = format_threads(thread_messages(hits, *algorithm, uid));
  untagged("THREAD" + std::string(formatted.empty() ? "" : " ") + formatted);
  ok(cmd.tag, "Thread completed");
}

// EXPUNGE responses (or VANISHED with QRESYNC, RFC 7162 §3.2.10) for this session's own expunge or MOVE,
// and the messages dropped from the selected list.
void ImapSession::announce_expunged(const std::set<std::uint32_t>& uids) {
  auto& sel = *selected_;
  std::vector<store::MessageInfo> kept;
  std::vector<std::uint32_t> gone;
  std::uint32_t removed = 0;
  for (std::size_t i = 0; i < sel.messages().size(); ++i) {
    const auto& m = sel.messages()[i];
    if (uids.count(m.uid)) {
      if (!qresync_) untagged(fmt::format("{} EXPUNGE", i + 1 - removed));
      ++removed;
      gone.push_back(m.uid);
      sel.recent.erase(m.uid);
    } else {
      kept.push_back(m);
    }
  }
  if (qresync_ && !gone.empty()) untagged("VANISHED " + format_sequence_set(gone));
  sel.set_messages(user_name_ + "\n" + sel.name, std::move(kept));
}

// ---- COPY / MOVE (RFC 9051 §6.4.7-8, RFC 4315 COPYUID, RFC 6851) ----------------------------------

void ImapSession::cmd_copy(const Command& cmd, bool uid, std::size_t first, bool move) {
  const std::string& tag = cmd.tag;
  const auto& a = cmd.args;
  std::string what = move ? "MOVE" : "COPY";
  if (a.size() != first + 2) {
    bad(tag, what + " needs a sequence set and a mailbox name");
    return;
  }
  auto indexes = resolve(a[first], uid);
  if (!indexes) {
    bad(tag, indexes.error().message);
    return;
  }
  auto dest = mailbox_arg(a[first + 1]);
  if (!dest) {
    reject_mailbox_arg(tag, dest.error());
    return;
  }
  auto& sel = *selected_;
  if (move && sel.read_only) {
    no(tag, "The mailbox is read-only (selected with EXAMINE)", "READ-ONLY");
    return;
  }
  if (auto st = user_->status(*dest); !st) {
    if (st.error().category == ErrorCategory::not_found) no(tag, "Mailbox does not exist: " + *dest, "TRYCREATE");
    else no_from(tag, st.error(), what);
    return;
  }
  std::vector<std::uint32_t> uids;
  for (auto idx : *indexes) uids.push_back(sel.messages()[idx].uid);
  if (uids.empty()) {
    // RFC 9051 §6.4.7: nothing matched (UID COPY of gone UIDs) is not an error.
    ok(tag, what + " completed");
    return;
  }
  // RFC 9208 §4.3: a COPY that would go over the account's quota fails with NO [OVERQUOTA] (the store
  // checks APPEND and delivery only). A MOVE stays within the account and does not grow it.
  if (!move) {
    if (auto q = user_->quota(); q && (q->limits.bytes || q->limits.messages)) {
      std::uint64_t bytes = 0;
      for (auto idx : *indexes) bytes += sel.messages()[idx].size;
      if ((q->limits.bytes && q->bytes + bytes > q->limits.bytes) ||
          (q->limits.messages && q->messages + uids.size() > q->limits.messages)) {
        no(tag, "The copy would exceed the mailbox quota", "OVERQUOTA");
        return;
      }
    }
  }
  // MOVE into the same mailbox is allowed (Dovecot): the messages get new UIDs at the end.
  bool same = move && *dest == sel.name;
  // RFC 8474 §5.1: EMAILID stays the same across COPY and MOVE; read before MOVE takes the originals away.
  auto source_ids = email_ids(sel.name, sel.mailbox_id, uids);
  auto res = move && !same ? user_->move(sel.name, uids, *dest) : user_->copy(sel.name, uids, *dest);
  if (same && res) {
    if (auto gone = user_->expunge(sel.name, uids); !gone) {
      no_from(tag, gone.error(), what);
      return;
    }
  }
  if (!res) {
    if (res.error().category == ErrorCategory::invalid_argument && move) {
      no(tag, "Cannot move messages to the mailbox they are in", "CANNOT");
      return;
    }
    no_from(tag, res.error(), what);
    return;
  }
  carry_email_ids(*dest, res->uids, source_ids, uids);
  std::vector<std::uint32_t> src, dst;
  for (const auto& [s, d] : res->uids) {
    src.push_back(s);
    dst.push_back(d);
  }
  std::string copyuid = src.empty() ? std::string()
                                    : fmt::format("COPYUID {} {} {}", res->dest_uid_validity, format_sequence_set(src),
                                                  format_sequence_set(dst));
  if (!move) {
    ok(tag, "Copy completed", copyuid);
    return;
  }
  // RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges of the moved messages.
  if (!copyuid.empty()) untagged("OK [" + copyuid + "] Moved");
  announce_expunged(std::set<std::uint32_t>(src.begin(), src.end()));
  ok(tag, "Move completed");
}

// ---- EXPUNGE / UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1) -----------------------------------------

void ImapSession::cmd_expunge(const Command& cmd, bool uid, std::size_t first) {
  const std::string& tag = cmd.tag;
  auto& sel = *selected_;
  if (sel.read_only) {
    no(tag, "The mailbox is read-only (selected with EXAMINE)", "READ-ONLY");
    return;
  }
  std::vector<std::uint32_t> targets;
  if (uid) {
    if (cmd.args.size() != first + 1) {
      bad(tag, "UID EXPUNGE needs a UID set");
      return;
    }
    auto indexes = resolve(cmd.args[first], true);
    if (!indexes) {
      bad(tag, indexes.error().message);
      return;
    }
    for (auto idx : *indexes)
      if (sel.messages()[idx].flags.system & store::flag_deleted) targets.push_back(sel.messages()[idx].uid);
    if (targets.empty()) {
      ok(tag, "Expunge completed");
      return;
    }
  } else if (!cmd.args.empty()) {
    bad(tag, "EXPUNGE takes no arguments");
    return;
  }
  auto res = user_->expunge(sel.name, targets);
  if (!res) {
    no_from(tag, res.error(), "EXPUNGE");
    return;
  }
  announce_expunged(std::set<std::uint32_t>(res->uids.begin(), res->uids.end()));
  if (res->modseq > 0) {
    sel.highest_modseq = std::max(sel.highest_modseq, res->modseq);
    if (condstore_) {
      ok(tag, "Expunge completed", fmt::format("HIGHESTMODSEQ {}", sel.highest_modseq));
      return;
    }
  }
  ok(tag, "Expunge completed");
}

}  // namespace tern::imap
