// HeaderFieldCache (see header_field_cache.hpp).
#include "header_field_cache.hpp"

#include <algorithm>
#include <array>

#include "tern/mime/message.hpp"

namespace tern::imap {

namespace {

// ENVELOPE (RFC 9051 §7.5.2: Date Subject From Sender Reply-To To Cc Bcc In-Reply-To Message-ID),
// SORT/THREAD (RFC 5256: also References), and what mail clients fetch with HEADER.FIELDS when they
// list a mailbox.
constexpr std::array<std::string_view, 18> kNames = {
    "date",      "subject",  "from",       "sender",     "reply-to",  "to",
    "cc",        "bcc",      "in-reply-to", "message-id", "references", "content-type",
    "priority",  "x-priority", "importance", "newsgroups", "list-post", "disposition-notification-to"};

bool cached_name(std::string_view name) {
  return std::any_of(kNames.begin(), kNames.end(), [&](std::string_view n) { return mime::iequals(n, name); });
}

// Defects after which the parser's fields and the raw lines could disagree: such headers are not cut.
bool field_syntax_defect(mime::DefectKind k) {
  using D = mime::DefectKind;
  switch (k) {
    case D::header_count_limit: case D::header_line_too_long: case D::first_line_is_continuation:
    case D::missing_header_body_separator: case D::broken_header_line: case D::invalid_header_name:
    case D::nul_in_header: case D::bare_cr:
      return true;
    default: return false;
  }
}

constexpr std::size_t kBatch = 256;  // entries per store transaction

}  // namespace

bool HeaderFieldCache::covers(const std::vector<std::string>& names) {
  return std::all_of(names.begin(), names.end(), [](const std::string& n) { return cached_name(n); });
}

std::string HeaderFieldCache::extract(std::string_view header_block) {
  mime::Message m = mime::parse(header_block);
  if (m.parts.empty()) return {};
  for (const auto& d : m.defects)
    if (field_syntax_defect(d.kind)) return {};
  std::string out;
  for (const auto& h : m.root().headers) {
    if (!cached_name(h.name)) continue;
    out.append(h.raw);
    if (out.empty() || out.back() != '\n') out += "\r\n";
  }
  out += "\r\n";
  return out;
}

MessageView::Loader HeaderFieldCache::loader(std::uint32_t uid) {
  return [this, uid] { return load(uid); };
}

std::optional<std::string> FieldCache::take(std::uint32_t uid) {
  auto in_window = [&]() -> std::optional<std::string>* {
    // Usually the UID after the one asked last.
    std::size_t i = hint_ < window_uids_.size() && window_uids_[hint_] == uid
                        ? hint_
                        : static_cast<std::size_t>(std::find(window_uids_.begin(), window_uids_.end(), uid) - window_uids_.begin());
    if (i == window_uids_.size()) return nullptr;
    hint_ = i + 1;
    return &window_[i];
  };
  auto take_out = [](std::optional<std::string>* v) {
    std::optional<std::string> out = std::move(*v);
    v->reset();  // taken: asked again, the value counts as not cached
    return out;
  };
  if (auto* v = in_window()) return take_out(v);
  // Read ahead from this UID's place in the command's order (usually the next one).
  auto pos = std::find(order_.begin() + static_cast<std::ptrdiff_t>(std::min(next_, order_.size())), order_.end(), uid);
  if (pos == order_.end()) pos = std::find(order_.begin(), order_.end(), uid);
  if (pos == order_.end()) return user_.cached(mailbox_, uid, field_);
  auto end = order_.end() - pos > static_cast<std::ptrdiff_t>(kBatch) ? pos + static_cast<std::ptrdiff_t>(kBatch) : order_.end();
  window_uids_.assign(pos, end);
  hint_ = 0;
  next_ = static_cast<std::size_t>(end - order_.begin());
  window_ = user_.cached(mailbox_, window_uids_, field_);
  if (auto* v = in_window()) return take_out(v);
  return std::nullopt;
}

void FieldCache::put(std::uint32_t uid, std::string value) {
  fresh_.push_back({uid, std::move(value)});
  if (fresh_.size() >= kBatch) flush();
}

void FieldCache::flush() {
  if (fresh_.empty()) return;
  user_.cache(mailbox_, field_, fresh_);
  fresh_.clear();
}

Result<std::string> HeaderFieldCache::load(std::uint32_t uid) {
  if (auto c = values_.take(uid)) {
    if (!c->empty()) return std::move(*c);
    return user_.fetch_header(mailbox_, uid);  // marked: read whole
  }
  auto h = user_.fetch_header(mailbox_, uid);
  if (!h) return h;
  std::string cut = extract(*h);
  values_.put(uid, cut);
  if (cut.empty()) return h;
  return cut;
}

}  // namespace tern::imap
