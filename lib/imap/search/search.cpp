// SEARCH evaluation (RFC 9051 §6.4.4) and SEARCH/ESEARCH responses.
#include "tern/imap/search.hpp"

#include <algorithm>

#include "tern/core/text.hpp"
#include "tern/imap/collation.hpp"
#include "tern/imap/section.hpp"
#include "tern/mime/address.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/date.hpp"

namespace tern::imap {

// ---------------------------------------------------------------------------------------------
// MessageView

struct MessageView::State {
  Loader load_message, load_header;
  std::string message_bytes, header_bytes;
  std::string_view message_view, header_view;
  int message_state = 0, header_state = 0;  // 0 not tried, 1 loaded, -1 failed
  std::optional<mime::Message> parsed, parsed_header;
  // Caches for text searches: folded decoded header fields (name lower case) and body text.
  struct Field {
    const mime::Header* header = nullptr;
    std::string folded;  // decoded and case-folded value, filled on first use
    bool ready = false;
  };
  bool fields_ready = false;
  std::vector<Field> fields;
  bool body_ready = false, text_ready = false;
  std::string body_folded, text_folded;
};

MessageView::MessageView(std::uint32_t s, const store::MessageInfo& i, Loader load_message, Loader load_header)
    : seq(s), info(&i), save_date(i.save_date ? std::optional<std::int64_t>(i.save_date) : std::nullopt), state_(new State) {
  state_->load_message = std::move(load_message);
  state_->load_header = std::move(load_header);
}

MessageView::MessageView(std::uint32_t s, const store::MessageInfo& i, std::string_view raw)
    : seq(s), info(&i), save_date(i.save_date ? std::optional<std::int64_t>(i.save_date) : std::nullopt), state_(new State) {
  state_->message_view = raw;
  state_->message_state = 1;
}

MessageView::MessageView(MessageView&& o) noexcept
    : seq(o.seq), info(o.info), recent(o.recent), save_date(o.save_date), state_(o.state_) {
  o.state_ = nullptr;
}

MessageView& MessageView::operator=(MessageView&& o) noexcept {
  if (this != &o) {
    delete state_;
    seq = o.seq;
    info = o.info;
    recent = o.recent;
    save_date = o.save_date;
    state_ = o.state_;
    o.state_ = nullptr;
  }
  return *this;
}

MessageView::~MessageView() { delete state_; }

namespace {
// The header block including the empty line that ends it (or everything if there is none).
std::string_view cut_header(std::string_view m) {
  std::size_t i = 0;
  while (i < m.size()) {
    std::size_t nl = m.find('\n', i);
    if (nl == std::string_view::npos) return m;
    std::size_t line_len = nl - i;
    if (line_len == 0 || (line_len == 1 && m[i] == '\r')) return m.substr(0, nl + 1);
    i = nl + 1;
  }
  return m;
}
}  // namespace

const std::string_view* MessageView::message() {
  State& s = *state_;
  if (s.message_state == 0) {
    s.message_state = -1;
    if (s.load_message) {
      if (auto r = s.load_message()) {
        s.message_bytes = std::move(*r);
        s.message_view = s.message_bytes;
        s.message_state = 1;
      }
    }
  }
  return s.message_state == 1 ? &s.message_view : nullptr;
}

const std::string_view* MessageView::header() {
  State& s = *state_;
  if (s.header_state == 0) {
    s.header_state = -1;
    if (s.message_state == 1 || !s.load_header) {
      if (const auto* m = message()) {
        s.header_view = cut_header(*m);
        s.header_state = 1;
      }
    } else if (auto r = s.load_header()) {
      s.header_bytes = std::move(*r);
      s.header_view = s.header_bytes;
      s.header_state = 1;
    }
  }
  return s.header_state == 1 ? &s.header_view : nullptr;
}

const mime::Message* MessageView::parsed_header() {
  State& s = *state_;
  if (s.parsed) return &*s.parsed;
  if (!s.parsed_header) {
    const auto* h = header();
    if (!h) return nullptr;
    s.parsed_header = mime::parse(*h);
  }
  return &*s.parsed_header;
}

const mime::Message* MessageView::parsed() {
  State& s = *state_;
  if (!s.parsed) {
    const auto* m = message();
    if (!m) return nullptr;
    s.parsed = mime::parse(*m);
  }
  return &*s.parsed;
}

bool MessageView::header_loaded() const { return state_->header_state == 1 || state_->message_state == 1; }
bool MessageView::message_loaded() const { return state_->message_state == 1; }

// ---------------------------------------------------------------------------------------------
// Evaluation

namespace {

bool is_address_header(std::string_view lname) {
  static constexpr std::string_view kNames[] = {"from",        "to",        "cc",        "bcc",
                                                "sender",      "reply-to",  "resent-from", "resent-to",
                                                "resent-cc",   "resent-bcc", "resent-sender"};
  return std::find(std::begin(kNames), std::end(kNames), lname) != std::end(kNames);
}

// Address headers as searched (like Dovecot): decoded display names and addresses,
// "Name <local@domain>, other@domain, Group: a@b;".
std::string address_text(std::string_view value) {
  mime::AddressList list = mime::parse_address_list(value);
  std::string out;
  auto put_mailbox = [&](const mime::Mailbox& mb) {
    if (!mb.display_name.empty()) out += mb.display_name + " <" + mb.address() + ">";
    else out += mb.address();
  };
  for (const auto& e : list.entries) {
    if (!out.empty()) out += ", ";
    if (e.is_group) {
      out += e.group_name + ": ";
      for (std::size_t i = 0; i < e.mailboxes.size(); ++i) {
        if (i) out += ", ";
        put_mailbox(e.mailboxes[i]);
      }
      out += ";";
    } else if (!e.mailboxes.empty()) {
      put_mailbox(e.mailboxes[0]);
    }
  }
  if (out.empty()) out = mime::decode_encoded_words(value);  // unparsable: search the text as written
  return out;
}

void prepare_fields(MessageView& v, std::vector<MessageView::State::Field>& fields) {
  const mime::Message* m = v.parsed_header();
  if (!m || m->parts.empty()) return;
  fields.reserve(m->root().headers.size());
  for (const auto& h : m->root().headers) fields.push_back({&h, {}, false});
}

const std::string& field_text(MessageView::State::Field& f) {
  if (!f.ready) {
    f.ready = true;
    std::string value = f.header->unfolded();
    std::string name = ascii_lower(f.header->name);
    f.folded = casemap_fold(is_address_header(name) ? address_text(value) : mime::decode_encoded_words(value));
  }
  return f.folded;
}

bool is_searchable_text_part(const mime::Part& p) {
  if (p.is_multipart()) return false;
  if (p.is_message) return p.children.empty();  // a non-multipart message: its body is the leaf
  if (!p.children.empty()) return false;         // message/rfc822 holder: the embedded message is searched
  return p.content_type.type == "text" || p.content_type.type == "message";
}

// Decoded, UTF-8 converted, folded text of every text part (Dovecot searches text/* and message/*).
void prepare_body(MessageView& v, std::string& out, bool with_headers) {
  const mime::Message* m = v.parsed();
  if (!m) return;
  for (const auto& p : m->parts) {
    if (with_headers) {
      for (const auto& h : p.headers) {
        casemap_fold_append(h.name, out);
        out += ": ";
        casemap_fold_append(mime::decode_encoded_words(h.unfolded()), out);
        out += '\n';
      }
    }
    if (!is_searchable_text_part(p) || !transfer_encoding_known(p)) continue;  // Dovecot skips unknown CTEs
    std::string_view body = m->body(p);
    mime::DecodeResult d = mime::decode_transfer_encoding(body, p.transfer_encoding);
    const std::string* cs = mime::find_parameter(p.content_type.params, "charset");
    std::string text;
    if (!cs || cs->empty() || mime::iequals(*cs, "us-ascii") || mime::iequals(*cs, "utf-8")) {
      text = mime::valid_utf8(d.data) ? std::move(d.data) : mime::to_utf8("utf-8", d.data).data;
    } else {
      text = mime::to_utf8(*cs, d.data).data;
    }
    casemap_fold_append(text, out);
    out += '\n';
  }
}

struct Evaluator {
  MessageView& v;
  const SearchEnv& env;
  MessageView::State& st;

  std::vector<MessageView::State::Field>& fields() {
    if (!st.fields_ready) {
      st.fields_ready = true;
      prepare_fields(v, st.fields);
    }
    return st.fields;
  }

  bool header_contains(std::string_view name, std::string_view text) {
    std::string needle;
    for (auto& f : fields()) {
      if (!mime::iequals(f.header->name, name)) continue;
      if (text.empty()) return true;  // HEADER name "": the field exists
      if (needle.empty()) needle = casemap_fold(text);
      if (field_text(f).find(needle) != std::string::npos) return true;
    }
    return false;
  }

  bool body_contains(std::string_view text, bool with_headers) {
    std::string needle = casemap_fold(text);
    if (with_headers) {  // TEXT: the header fields of every part and the body text
      if (!st.text_ready) {
        st.text_ready = true;
        prepare_body(v, st.text_folded, true);
      }
      if (!v.parsed()) return false;
      return st.text_folded.find(needle) != std::string::npos;
    }
    if (!st.body_ready) {
      st.body_ready = true;
      prepare_body(v, st.body_folded, false);
    }
    if (!v.parsed()) return false;
    return st.body_folded.find(needle) != std::string::npos;
  }

  static bool in_saved(const SearchEnv& env, std::uint32_t uid) {
    return env.saved_uids && std::binary_search(env.saved_uids->begin(), env.saved_uids->end(), uid);
  }

  static SearchDate day_of(std::int64_t t, int zone) {
    mime::DateTime d = mime::date_time_from_unix(t, zone);
    return {d.year, d.month, d.day};
  }

  static bool compare_day(SearchKeyKind k, SearchDate day, SearchDate key) {
    switch (k) {
      case SearchKeyKind::before: case SearchKeyKind::sentbefore: case SearchKeyKind::savedbefore:
        return day < key;
      case SearchKeyKind::on: case SearchKeyKind::senton: case SearchKeyKind::savedon:
        return day == key;
      default:
        return day >= key;  // since
    }
  }

  SearchDate sent_day() {
    if (const mime::Message* m = v.parsed_header(); m && !m->parts.empty()) {
      if (const mime::Header* h = m->root().header("Date")) {
        if (auto dt = mime::parse_date_time(h->unfolded())) return {dt->year, dt->month, dt->day};
      }
    }
    // No usable Date: the epoch, 1-Jan-1970 (as Dovecot, which matches such messages with SENTBEFORE).
    return {1970, 1, 1};
  }

  bool eval(const SearchKey& k) {
    const auto sys = v.info->flags.system;
    using K = SearchKeyKind;
    switch (k.kind) {
      case K::all: return true;
      case K::and_:
        for (const auto& c : k.children)
          if (!eval(c)) return false;
        return true;
      case K::or_:
        if (k.children.size() < 2) return !k.children.empty() && eval(k.children[0]);
        return eval(k.children[0]) || eval(k.children[1]);
      case K::not_: return !k.children.empty() && !eval(k.children[0]);
      case K::sequence_set:
        return k.set.saved ? in_saved(env, v.info->uid) : k.set.contains(v.seq, env.message_count);
      case K::uid:
        return k.set.saved ? in_saved(env, v.info->uid) : k.set.contains(v.info->uid, env.largest_uid);
      case K::answered: return sys & store::flag_answered;
      case K::deleted: return sys & store::flag_deleted;
      case K::draft: return sys & store::flag_draft;
      case K::flagged: return sys & store::flag_flagged;
      case K::seen: return sys & store::flag_seen;
      case K::recent: return v.recent;
      case K::new_: return v.recent && !(sys & store::flag_seen);
      case K::old: return !v.recent;
      case K::unanswered: return !(sys & store::flag_answered);
      case K::undeleted: return !(sys & store::flag_deleted);
      case K::undraft: return !(sys & store::flag_draft);
      case K::unflagged: return !(sys & store::flag_flagged);
      case K::unseen: return !(sys & store::flag_seen);
      case K::keyword:
      case K::unkeyword: {
        bool has = false;
        for (const auto& kw : v.info->flags.keywords) has = has || mime::iequals(kw, k.text);
        return k.kind == K::keyword ? has : !has;
      }
      case K::bcc: return header_contains("bcc", k.text);
      case K::cc: return header_contains("cc", k.text);
      case K::from: return header_contains("from", k.text);
      case K::subject: return header_contains("subject", k.text);
      case K::to: return header_contains("to", k.text);
      case K::header: return header_contains(k.field, k.text);
      case K::body: return body_contains(k.text, false);
      case K::text: return body_contains(k.text, true);
      case K::before: case K::on: case K::since:
        return compare_day(k.kind, day_of(v.info->internal_date, env.zone_minutes), k.date);
      case K::sentbefore: case K::senton: case K::sentsince:
        return compare_day(k.kind, sent_day(), k.date);
      case K::savedbefore: case K::savedon: case K::savedsince:
        // RFC 8514 §4.3: where the save date is not available (SAVEDATE NIL, or a mailbox without save
        // dates) the internal date is used instead.
        return compare_day(k.kind, day_of(env.savedate_supported && v.save_date ? *v.save_date : v.info->internal_date,
                                          env.zone_minutes), k.date);
      case K::savedatesupported: return env.savedate_supported;
      case K::older: return v.info->internal_date <= env.now - static_cast<std::int64_t>(k.number);
      case K::younger: return v.info->internal_date >= env.now - static_cast<std::int64_t>(k.number);
      case K::larger: return v.info->size > k.number;
      case K::smaller: return v.info->size < k.number;
      case K::modseq: return v.info->modseq >= k.number;
      case K::emailid: return env.email_id && env.email_id(v.info->uid) == k.text;
      case K::threadid: return false;
    }
    return false;
  }
};

}  // namespace

bool matches(const SearchKey& key, MessageView& message, const SearchEnv& env) {
  Evaluator e{message, env, *message.state_};
  return e.eval(key);
}

SearchNeeds search_needs(const SearchKey& k) {
  using K = SearchKeyKind;
  switch (k.kind) {
    case K::body: case K::text: return SearchNeeds::message;
    case K::bcc: case K::cc: case K::from: case K::subject: case K::to: case K::header:
    case K::sentbefore: case K::senton: case K::sentsince:
      return SearchNeeds::header;
    default: break;
  }
  SearchNeeds n = SearchNeeds::metadata;
  for (const auto& c : k.children) n = std::max(n, search_needs(c));
  return n;
}

namespace {
bool collect_header_fields(const SearchKey& k, std::vector<std::string>& out) {
  using K = SearchKeyKind;
  switch (k.kind) {
    case K::body: case K::text: return false;
    case K::bcc: out.emplace_back("Bcc"); break;
    case K::cc: out.emplace_back("Cc"); break;
    case K::from: out.emplace_back("From"); break;
    case K::subject: out.emplace_back("Subject"); break;
    case K::to: out.emplace_back("To"); break;
    case K::header: out.push_back(k.field); break;
    case K::sentbefore: case K::senton: case K::sentsince: out.emplace_back("Date"); break;
    default: break;
  }
  for (const auto& c : k.children)
    if (!collect_header_fields(c, out)) return false;
  return true;
}
}  // namespace

std::optional<std::vector<std::string>> header_fields_read(const SearchKey& k) {
  std::vector<std::string> out;
  if (!collect_header_fields(k, out)) return std::nullopt;
  return out;
}

bool uses_modseq(const SearchKey& k) {
  if (k.kind == SearchKeyKind::modseq) return true;
  for (const auto& c : k.children)
    if (uses_modseq(c)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Responses

std::string format_sequence_set(std::vector<std::uint32_t> n) {
  std::sort(n.begin(), n.end());
  n.erase(std::unique(n.begin(), n.end()), n.end());
  std::string out;
  for (std::size_t i = 0; i < n.size();) {
    std::size_t j = i;
    while (j + 1 < n.size() && n[j + 1] == n[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(n[i]);
    if (j > i) out += ':' + std::to_string(n[j]);
    i = j + 1;
  }
  return out;
}

std::string format_search_response(const std::vector<std::uint32_t>& numbers, std::optional<std::uint64_t> modseq) {
  std::string out = "* SEARCH";
  for (auto n : numbers) out += ' ' + std::to_string(n);
  if (modseq && !numbers.empty()) out += " (MODSEQ " + std::to_string(*modseq) + ")";
  return out;
}

std::string format_esearch_response(std::string_view tag, bool uid, const SearchReturn& r,
                                    const std::vector<std::uint32_t>& numbers, std::optional<std::uint64_t> modseq) {
  std::string out = "* ESEARCH";
  if (!tag.empty()) {
    out += " (TAG \"";
    for (char c : tag) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\")";
  }
  if (uid) out += " UID";
  bool all = r.all || !(r.min || r.max || r.count || r.save);
  if (!numbers.empty()) {
    auto [lo, hi] = std::minmax_element(numbers.begin(), numbers.end());
    if (r.min) out += " MIN " + std::to_string(*lo);
    if (r.max) out += " MAX " + std::to_string(*hi);
  }
  if (r.count) out += " COUNT " + std::to_string(numbers.size());
  if (all && !numbers.empty()) out += " ALL " + format_sequence_set(numbers);
  if (modseq && !numbers.empty()) out += " MODSEQ " + std::to_string(*modseq);
  return out;
}

bool esearch_response_wanted(const SearchReturn& r) { return !(r.save && !r.min && !r.max && !r.count && !r.all); }

std::vector<std::uint32_t> saved_result(const SearchReturn& r, std::vector<std::uint32_t> uids) {
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  // RFC 5182 §2.1: SAVE with MIN and/or MAX (and no ALL/COUNT) saves only those.
  if (uids.empty() || !(r.min || r.max) || r.all || r.count) return uids;
  std::vector<std::uint32_t> out;
  if (r.min) out.push_back(uids.front());
  if (r.max && (!r.min || uids.back() != uids.front())) out.push_back(uids.back());
  return out;
}

}  // namespace tern::imap
