// SORT (RFC 5256 §3, RFC 5957) and base subject extraction (RFC 5256 §2.1).
#include "tern/imap/sort.hpp"

#include <algorithm>
#include <numeric>

#include "tern/imap/collation.hpp"
#include "tern/mime/address.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/date.hpp"

namespace tern::imap {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

bool istarts(std::string_view s, std::size_t i, std::string_view prefix) {
  if (s.size() - i < prefix.size()) return false;
  return mime::iequals(s.substr(i, prefix.size()), prefix);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP (RFC 5256 §5); returns the end or npos.
std::size_t match_blob(std::string_view s, std::size_t i) {
  if (i >= s.size() || s[i] != '[') return std::string_view::npos;
  std::size_t j = i + 1;
  while (j < s.size() && s[j] != '[' && s[j] != ']') ++j;
  if (j >= s.size() || s[j] != ']') return std::string_view::npos;
  ++j;
  while (j < s.size() && is_wsp(s[j])) ++j;
  return j;
}

// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
std::size_t match_refwd(std::string_view s, std::size_t i) {
  std::size_t j;
  if (istarts(s, i, "re")) j = i + 2;
  else if (istarts(s, i, "fwd")) j = i + 3;
  else if (istarts(s, i, "fw")) j = i + 2;
  else return std::string_view::npos;
  while (j < s.size() && is_wsp(s[j])) ++j;
  if (std::size_t b = match_blob(s, j); b != std::string_view::npos) j = b;
  if (j < s.size() && s[j] == ':') return j + 1;
  return std::string_view::npos;
}

// subj-leader = (*subj-blob subj-refwd) / WSP
std::size_t match_leader(std::string_view s, std::size_t i) {
  if (i < s.size() && is_wsp(s[i])) return i + 1;
  std::size_t j = i;
  for (;;) {
    if (std::size_t r = match_refwd(s, j); r != std::string_view::npos) return r;
    std::size_t b = match_blob(s, j);
    if (b == std::string_view::npos) return std::string_view::npos;
    j = b;
  }
}

std::string base_subject_impl(std::string_view raw, bool& reply) {
  reply = false;
  // (1) decode, tabs/line breaks to spaces, collapse runs of spaces
  std::string decoded = mime::decode_encoded_words(raw);
  std::string s;
  s.reserve(decoded.size());
  for (char c : decoded) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s.push_back(c);
  }
  std::size_t start = 0;
  std::size_t end = s.size();
  for (;;) {
    // (2) trailing subj-trailer "(fwd)" and white space
    for (;;) {
      if (end > start && is_wsp(s[end - 1])) { --end; continue; }
      if (end - start >= 5 && mime::iequals(std::string_view(s).substr(end - 5, 5), "(fwd)")) {
        end -= 5;
        reply = true;
        continue;
      }
      break;
    }
    // (3)-(5) leaders and blobs, until nothing changes
    for (bool changed = true; changed;) {
      changed = false;
      std::string_view cur(s.data(), end);
      if (std::size_t l = match_leader(cur, start); l != std::string_view::npos) {
        if (!is_wsp(cur[start])) reply = true;
        start = l;
        changed = true;
      }
      if (std::size_t b = match_blob(cur, start); b != std::string_view::npos && b < end) {
        start = b;  // (4) only when something remains
        changed = true;
      }
    }
    // (6) "[fwd:" ... "]"
    if (end - start >= 6 && istarts(std::string_view(s.data(), end), start, "[fwd:") && s[end - 1] == ']') {
      start += 5;
      end -= 1;
      reply = true;
      continue;
    }
    break;
  }
  // Leading white space left after unwrapping
  while (start < end && is_wsp(s[start])) ++start;
  return s.substr(start, end - start);
}

const mime::Part* root(MessageView& v) {
  const mime::Message* m = v.parsed_header();
  return m && !m->parts.empty() ? &m->root() : nullptr;
}

std::string header_value(MessageView& v, std::string_view name) {
  const mime::Part* p = root(v);
  if (!p) return {};
  const mime::Header* h = p->header(name);
  return h ? h->unfolded() : std::string();
}

// The first address as IMAP's ENVELOPE lists it (RFC 9051 §7.5.2): for a group, the group start
// marker, whose mailbox is the group name (so "To: Team: a@x;" sorts as "Team", as in Dovecot).
std::optional<mime::Mailbox> first_mailbox(MessageView& v, std::string_view name) {
  std::string value = header_value(v, name);
  if (value.empty()) return std::nullopt;
  auto list = mime::parse_address_list(value);
  for (const auto& e : list.entries) {
    if (e.is_group) {
      mime::Mailbox marker;  // display name: the decoded group name; no address
      marker.local_part = e.group_name_raw;
      marker.display_name = e.group_name.empty() ? e.group_name_raw : e.group_name;
      return marker;
    }
    for (const auto& mb : e.mailboxes) return mb;
  }
  return std::nullopt;
}

struct SortKeys {
  std::uint32_t seq = 0;
  std::uint32_t number = 0;
  std::int64_t arrival = 0, date = 0;
  std::uint64_t size = 0;
  std::string subject, from, to, cc, displayfrom, displayto;  // folded
};

}  // namespace

std::string base_subject(std::string_view raw_subject) {
  bool reply;
  return base_subject_impl(raw_subject, reply);
}

bool subject_is_reply_or_forward(std::string_view raw_subject) {
  bool reply;
  base_subject_impl(raw_subject, reply);
  return reply;
}

std::int64_t sent_date(MessageView& v) {
  std::string value = header_value(v, "Date");
  if (!value.empty())
    if (auto dt = mime::parse_date_time(value)) return dt->unix_time();
  return v.info->internal_date;
}

std::vector<std::uint32_t> sort_messages(std::span<MessageView* const> messages,
                                         const std::vector<SortCriterion>& criteria, bool uid) {
  std::vector<SortKeys> keys(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    MessageView& v = *messages[i];
    SortKeys& k = keys[i];
    k.seq = v.seq;
    k.number = uid ? v.info->uid : v.seq;
    k.arrival = v.info->internal_date;
    k.size = v.info->size;
    for (const auto& c : criteria) {
      switch (c.key) {
        case SortKey::date: k.date = sent_date(v); break;
        case SortKey::subject: k.subject = casemap_fold(base_subject(header_value(v, "Subject"))); break;
        case SortKey::from: case SortKey::to: case SortKey::cc: {
          const char* name = c.key == SortKey::from ? "From" : c.key == SortKey::to ? "To" : "Cc";
          auto mb = first_mailbox(v, name);
          std::string& dst = c.key == SortKey::from ? k.from : c.key == SortKey::to ? k.to : k.cc;
          dst = mb ? casemap_fold(mb->local_part) : std::string();
          break;
        }
        case SortKey::displayfrom: case SortKey::displayto: {
          // RFC 5957 §3: the display name, or the addr-spec when there is none.
          auto mb = first_mailbox(v, c.key == SortKey::displayfrom ? "From" : "To");
          std::string& dst = c.key == SortKey::displayfrom ? k.displayfrom : k.displayto;
          dst = !mb ? std::string() : casemap_fold(mb->display_name.empty() ? mb->address() : mb->display_name);
          break;
        }
        default: break;
      }
    }
  }
  auto cmp3 = [](const auto& a, const auto& b) { return a < b ? -1 : (b < a ? 1 : 0); };
  std::vector<std::size_t> order(messages.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    const SortKeys& a = keys[x];
    const SortKeys& b = keys[y];
    for (const auto& c : criteria) {
      int r = 0;
      switch (c.key) {
        case SortKey::arrival: r = cmp3(a.arrival, b.arrival); break;
        case SortKey::date: r = cmp3(a.date, b.date); break;
        case SortKey::size: r = cmp3(a.size, b.size); break;
        case SortKey::subject: r = a.subject.compare(b.subject); break;
        case SortKey::from: r = a.from.compare(b.from); break;
        case SortKey::to: r = a.to.compare(b.to); break;
        case SortKey::cc: r = a.cc.compare(b.cc); break;
        case SortKey::displayfrom: r = a.displayfrom.compare(b.displayfrom); break;
        case SortKey::displayto: r = a.displayto.compare(b.displayto); break;
      }
      if (r != 0) return c.reverse ? r > 0 : r < 0;
    }
    return a.seq < b.seq;  // RFC 5256 §3: ties by sequence number
  });
  std::vector<std::uint32_t> out;
  out.reserve(order.size());
  for (std::size_t i : order) out.push_back(keys[i].number);
  return out;
}

}  // namespace tern::imap
