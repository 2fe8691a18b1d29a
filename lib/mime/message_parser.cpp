// The MIME tree parser (RFC 5322 §2-3, RFC 2045, RFC 2046 §5), fed line by line from chunks of any size.
// parse() is this parser fed the whole buffer once. Every decision is taken per line from the line's
// first `cap` bytes, so the result never depends on where chunks end.
#include "tern/mime/message_parser.hpp"

#include "comment.hpp"

#include <algorithm>
#include <cstring>

namespace tern::mime {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

// RFC 2045 §5.1 token after optional CFWS (for Content-Transfer-Encoding).
std::string first_token(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n') { ++i; continue; }
    if (s[i] == '(') { detail::skip_comment(s, i); continue; }
    break;
  }
  std::size_t start = i;
  while (i < s.size()) {
    unsigned char u = static_cast<unsigned char>(s[i]);
    bool tok = u >= 128 || (u > 32 && u < 127 && std::string_view("()<>@,;:\\\"/[]?=").find(s[i]) == std::string_view::npos);
    if (!tok) break;
    ++i;
  }
  return lower(s.substr(start, i - start));
}

// A position in the message with the number of LFs before it; `partial` when it is inside a line
// (the byte before it is not LF), which counts as one more line for a range ending there.
struct Pos {
  std::uint64_t off = 0;
  std::uint64_t nl = 0;
  bool partial = false;
};

// Lines in [a, b) where a is a line start: LF count plus a final unterminated line (RFC 9051 §7.5.2).
std::size_t count_lines(const Pos& a, const Pos& b) {
  if (b.off <= a.off) return 0;
  return static_cast<std::size_t>(b.nl - a.nl) + (b.partial ? 1 : 0);
}

}  // namespace

struct MessageParser::Impl {
  enum class State : std::uint8_t { headers, body, preamble, children, epilogue };

  struct Frame {
    int part = 0;
    State state = State::headers;
    std::string boundary;          // set while the multipart looks for delimiters
    std::uint64_t seg_start = 0;   // start of the preamble or of the current child
    Pos hs, bs;                    // header start, body start
    bool first = true;             // no header line seen yet
    bool limit_hit = false;        // header_count_limit reported for this part
    std::size_t kept = 0;          // header fields kept
    int children = 0;
    bool children_stopped = false;  // the part limit was hit
  };

  // A header field; bytes are stored in `store` (streamed) or read from the source (parse()).
  struct Field {
    std::uint64_t offset = 0;
    std::uint64_t len = 0;       // full field length so far
    std::size_t store_off = 0;
    std::size_t stored = 0;      // bytes kept: at most `limit`
    std::size_t limit = 0;       // name, colon, max_header_line bytes of value, line break
    std::size_t colon = 0;
    std::size_t name_len = 0;
    int part = 0;
    bool nul = false, high = false, dropped = false;
  };

  struct Line {
    const char* data;        // the first `visible` bytes
    std::size_t visible;
    std::uint64_t start, len;
    bool has_nl, cr;         // ends with LF; CR before the LF (or a final CR)
    const char* full;        // all len bytes, or nullptr when only `visible` were kept
    bool carried_tail_ok;    // for a carried line: bytes after `visible` are all WSP/CR/LF
    std::size_t content_len() const { return static_cast<std::size_t>(len - (has_nl ? 1 : 0) - (cr ? 1 : 0)); }
    bool tail_ok() const {
      if (visible >= len) return true;
      if (!full) return carried_tail_ok;
      for (std::uint64_t k = visible; k < len; ++k)
        if (!is_wsp(full[k]) && full[k] != '\r' && full[k] != '\n') return false;
      return true;
    }
  };

  ParseLimits limits;
  std::size_t cap;
  Message msg;
  bool stable = false;  // parse(): the one chunk is the whole message and outlives the Message
  std::string_view stable_src;
  std::string store;
  std::size_t header_bytes = 0;  // header bytes kept (both modes)
  std::vector<Field> fields;     // kept fields in order
  Field open{};
  bool have_open = false;
  std::vector<Frame> stack;
  std::size_t active = 0;  // frames looking for delimiters
  bool part_limit_reported = false;
  bool finished = false;

  std::uint64_t offset = 0;  // bytes fed
  std::uint64_t nl = 0;      // LFs before the current line
  struct Prev {
    bool exists = false;
    std::uint64_t start = 0, nl = 0;
    std::size_t content_len = 0;
  } prev;

  // A header line that is no field ("quite Delivered-To: x", a line without colon). RFC 5322 has no such
  // line; the next line decides: more header (a field, a folded line or the empty line) makes it a broken
  // field that is skipped (broken_header_line, as Dovecot and Thunderbird read on to the empty line);
  // anything else (text, a delimiter, the end) makes the body start with it (missing_header_body_separator,
  // as Python's email does). It is kept (its first `cap` bytes) to be looked at again as a body line.
  struct Pending {
    bool exists = false;
    std::string data;
    std::uint64_t start = 0, len = 0;
    bool has_nl = false, cr = false, tail_ok = true;
    Prev prev_before;
    std::uint64_t nl_before = 0;
  } pending;

  std::string carry;  // the current partial line (first `cap` bytes)
  bool carrying = false;
  std::uint64_t carry_start = 0, carry_len = 0;
  char carry_last = 0;
  bool carry_tail_ok = true;

  bool bare_cr_found = false, pending_cr = false;
  std::uint64_t bare_cr_off = 0;
  std::size_t peak = 0;
  char last_byte = '\n';

  explicit Impl(const ParseLimits& l) : limits(l), cap(std::max<std::size_t>(l.max_header_line, 512) + 1024) {
    msg.parts.reserve(16);
    msg.parts.emplace_back();
    msg.parts[0].is_message = true;
    Frame f;
    stack.push_back(f);
  }

  std::size_t buffered() const { return carry.size() + store.size() + pending.data.size(); }

  void defect(DefectKind k, std::uint64_t off) {
    if (msg.defects.size() < 10000) msg.defects.push_back({k, static_cast<std::size_t>(off)});
  }

  Header make_header(const Field& f) const {
    const char* base = stable ? stable_src.data() + f.offset : store.data() + f.store_off;
    std::string_view raw(base, f.stored);
    Header h;
    h.raw = raw;
    h.name = raw.substr(0, std::min(f.name_len, raw.size()));
    std::string_view value = raw.substr(std::min(f.colon + 1, raw.size()));
    if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
    if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    if (value.size() > limits.max_header_line) value = value.substr(0, limits.max_header_line);
    h.value = value;
    h.offset = static_cast<std::size_t>(f.offset);
    return h;
  }

  // ---- bytes to lines ----

  void scan_bare_cr(std::string_view chunk) {
    if (bare_cr_found || chunk.empty()) return;
    if (pending_cr) {
      pending_cr = false;
      if (chunk[0] != '\n') { bare_cr_found = true; bare_cr_off = offset - 1; return; }
    }
    std::size_t i = 0;
    while (i < chunk.size()) {
      const void* p = std::memchr(chunk.data() + i, '\r', chunk.size() - i);
      if (!p) return;
      std::size_t k = static_cast<std::size_t>(static_cast<const char*>(p) - chunk.data());
      if (k + 1 == chunk.size()) { pending_cr = true; return; }
      if (chunk[k + 1] != '\n') { bare_cr_found = true; bare_cr_off = offset + k; return; }
      i = k + 2;
    }
  }

  void append_carry(const char* p, std::size_t n) {
    if (n == 0) return;
    std::size_t take = carry.size() < cap ? std::min(n, cap - carry.size()) : 0;
    carry.append(p, take);
    if (take < n && carry.size() >= 2 && carry[0] == '-' && carry[1] == '-' && carry_tail_ok) {
      for (std::size_t k = take; k < n; ++k)
        if (!is_wsp(p[k]) && p[k] != '\r' && p[k] != '\n') { carry_tail_ok = false; break; }
    }
    carry_len += n;
    carry_last = p[n - 1];
    peak = std::max(peak, buffered());
  }

  void feed(std::string_view chunk) {
    if (finished) return;
    scan_bare_cr(chunk);
    const char* d = chunk.data();
    const std::size_t n = chunk.size();
    std::size_t i = 0;
    if (carrying && n > 0) {
      const void* p = std::memchr(d, '\n', n);
      std::size_t end = p ? static_cast<std::size_t>(static_cast<const char*>(p) - d) + 1 : n;
      char before_nl = end >= 2 ? d[end - 2] : carry_last;
      append_carry(d, end);
      if (p) {
        Line l{carry.data(), carry.size(), carry_start, carry_len, true, before_nl == '\r', nullptr, carry_tail_ok};
        line(l);
        carrying = false;
        carry.clear();
      }
      i = end;
    }
    while (i < n) {
      const void* p = std::memchr(d + i, '\n', n - i);
      if (!p) {
        carrying = true;
        carry.clear();
        carry_start = offset + i;
        carry_len = 0;
        carry_tail_ok = true;
        append_carry(d + i, n - i);
        break;
      }
      std::size_t end = static_cast<std::size_t>(static_cast<const char*>(p) - d) + 1;
      std::size_t len = end - i;
      Line l{d + i, std::min(len, cap), offset + i, len, true, len >= 2 && d[end - 2] == '\r', d + i, true};
      line(l);
      i = end;
    }
    offset += n;
    if (n > 0) last_byte = d[n - 1];
    peak = std::max(peak, buffered());
  }

  // ---- lines ----

  bool is_delimiter(const Line& l, std::string_view boundary, bool& close) const {
    // RFC 2046 §5.1.1: "--" boundary, optional "--", then transport padding.
    std::string_view v(l.data, l.visible);
    if (v.size() < boundary.size() + 2 || v[0] != '-' || v[1] != '-') return false;
    if (v.substr(2, boundary.size()) != boundary) return false;
    std::string_view rest = v.substr(2 + boundary.size());
    close = rest.substr(0, 2) == "--";
    if (close) rest.remove_prefix(2);
    for (char c : rest)
      if (!is_wsp(c) && c != '\r' && c != '\n') return false;
    return l.tail_ok();
  }

  // RFC 5322 §2.2 / §3.6.8: "name:" with a name of printable ASCII but ':' (white space before the colon is
  // obs-optional, RFC 5322 §4.5). `colon` and `name` describe it when true.
  static bool field_start(std::string_view content, std::size_t& colon, std::string_view& name) {
    colon = content.find(':');
    name = colon == std::string_view::npos ? std::string_view{} : content.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return false;
    for (char c : name)
      if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) return false;
    return true;
  }

  bool any_delimiter(const Line& l) const {
    if (active == 0 || l.visible < 2 || l.data[0] != '-' || l.data[1] != '-') return false;
    for (const Frame& f : stack) {
      bool close = false;
      if ((f.state == State::preamble || f.state == State::children) && is_delimiter(l, f.boundary, close)) return true;
    }
    return false;
  }

  // Decides the pending line by the line after it (`next`, nullptr at the end of the message).
  void resolve_pending(const Line* next) {
    bool header_goes_on = false;
    if (next && !any_delimiter(*next)) {
      const std::size_t content_len = next->content_len();
      if (content_len == 0 || is_wsp(next->data[0])) {
        header_goes_on = true;
      } else {
        std::size_t colon = 0;
        std::string_view name;
        header_goes_on = field_start(std::string_view(next->data, std::min(content_len, next->visible)), colon, name);
      }
    }
    Pending p = std::move(pending);
    pending = Pending{};
    if (header_goes_on) {
      defect(DefectKind::broken_header_line, p.start);
      return;
    }
    // The body starts with the pending line: end the header block before it and look at it again.
    Frame& f = stack.back();
    defect(DefectKind::missing_header_body_separator, p.start);
    msg.parts[static_cast<std::size_t>(f.part)].header_end = static_cast<std::size_t>(p.start);
    prev = p.prev_before;
    nl = p.nl_before;
    end_headers(Pos{p.start, nl, false});
    Line again{p.data.data(), p.data.size(), p.start, p.len, p.has_nl, p.cr, nullptr, p.tail_ok};
    line(again);
  }

  void line(const Line& l) {
    // (Replaying a pending line may leave the embedded message it starts with a pending line of its own.)
    while (pending.exists) resolve_pending(&l);
    for (;;) {
      if (active > 0 && l.visible >= 2 && l.data[0] == '-' && l.data[1] == '-' && delimiter(l)) break;
      Frame& top = stack.back();
      if (top.state != State::headers) break;
      if (header_line(l)) break;
      // The line was not a header field: the body starts with it; look at it again.
    }
    prev.exists = true;
    prev.start = l.start;
    prev.nl = nl;
    prev.content_len = l.content_len();
    if (l.has_nl) ++nl;
  }

  // A delimiter of an open multipart (the outermost match wins, as the outer body is split first).
  bool delimiter(const Line& l) {
    for (std::size_t k = 0; k < stack.size(); ++k) {
      Frame& f = stack[k];
      if (f.state != State::preamble && f.state != State::children) continue;
      bool close = false;
      if (!is_delimiter(l, f.boundary, close)) continue;
      // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
      Pos cut{l.start, nl, false};
      if (prev.exists && prev.start >= f.seg_start) cut = Pos{prev.start + prev.content_len, prev.nl, prev.content_len > 0};
      while (stack.size() > k + 1) close_top(cut);
      on_delimiter(k, l, close, cut);
      return true;
    }
    return false;
  }

  void on_delimiter(std::size_t k, const Line& l, bool close, const Pos& cut) {
    const std::uint64_t dend = l.start + l.len;
    {
      Frame& f = stack[k];
      Part& p = msg.parts[static_cast<std::size_t>(f.part)];
      if (f.state == State::preamble) {
        if (close) {  // only a close delimiter: no body parts (treated as a leaf)
          defect(DefectKind::start_boundary_not_found, p.body_start);
          f.state = State::epilogue;
          --active;
          return;
        }
        p.preamble_end = static_cast<std::size_t>(cut.off);
        f.state = State::children;
      } else if (close) {
        p.epilogue_start = static_cast<std::size_t>(dend);
        f.state = State::epilogue;
        --active;
        return;
      }
      f.seg_start = dend;
      if (f.children_stopped) return;
    }
    const int parent = stack[k].part;
    const int child = new_part(parent, dend);
    if (child < 0) { stack[k].children_stopped = true; return; }
    Part& c = msg.parts[static_cast<std::size_t>(child)];
    const Part& p = msg.parts[static_cast<std::size_t>(parent)];
    c.number = (p.number.empty() ? "" : p.number + ".") + std::to_string(++stack[k].children);
    c.depth = p.depth + 1;
    c.header_start = static_cast<std::size_t>(dend);
    if (p.content_type.subtype == "digest") {  // RFC 2046 §5.1.5
      c.content_type.type = "message";
      c.content_type.subtype = "rfc822";
    }
    Frame f;
    f.part = child;
    f.hs = Pos{dend, nl + (l.has_nl ? 1 : 0), !l.has_nl && l.len > 0};
    stack.push_back(std::move(f));
  }

  int new_part(int parent, std::uint64_t off) {
    if (msg.parts.size() >= limits.max_parts) {
      if (!part_limit_reported) defect(DefectKind::part_count_limit, off);
      part_limit_reported = true;
      return -1;
    }
    msg.parts.emplace_back();
    int idx = static_cast<int>(msg.parts.size() - 1);
    msg.parts[static_cast<std::size_t>(idx)].parent = parent;
    msg.parts[static_cast<std::size_t>(parent)].children.push_back(idx);
    return idx;
  }

  void extend_open(const Line& l) {
    open.len += l.len;
    if (!open.dropped) {
      std::size_t room = open.limit - open.stored;
      std::size_t take = std::min(room, l.visible);
      if (!stable) store.append(l.data, take);
      open.stored += take;
    }
    // NUL and 8-bit bytes, eight bytes at a time.
    constexpr std::uint64_t kLow = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    std::uint64_t any = 0, zero = 0;
    std::size_t k = 0;
    for (; k + 8 <= l.visible; k += 8) {
      std::uint64_t w;
      std::memcpy(&w, l.data + k, 8);
      any |= w;
      zero |= (w - kLow) & ~w & kHigh;
    }
    for (; k < l.visible; ++k) {
      const unsigned char c = static_cast<unsigned char>(l.data[k]);
      any |= c;
      zero |= c == 0 ? kHigh : 0;
    }
    open.nul = open.nul || zero != 0;
    open.high = open.high || (any & kHigh) != 0;
  }

  // Ends the open field; `end` cuts it when its part ends before its final line break.
  void finalize_open(std::uint64_t end) {
    if (!have_open) return;
    have_open = false;
    Frame& f = stack.back();
    Field fl = open;
    if (end < fl.offset + fl.len) fl.len = end - fl.offset;
    if (fl.stored > fl.len) {
      if (!stable) store.resize(fl.store_off + static_cast<std::size_t>(fl.len));
      fl.stored = static_cast<std::size_t>(fl.len);
    }
    if (fl.len > limits.max_header_line) defect(DefectKind::header_line_too_long, fl.offset);
    if (fl.nul) defect(DefectKind::nul_in_header, fl.offset);
    if (fl.dropped) {
      if (!f.limit_hit) defect(DefectKind::header_count_limit, fl.offset);
      f.limit_hit = true;
      if (!stable) store.resize(fl.store_off);
      return;
    }
    ++f.kept;
    header_bytes += fl.stored;
    fields.push_back(fl);
  }

  // One line of a header block; false if it is not a header and starts the body instead.
  bool header_line(const Line& l) {
    Frame& f = stack.back();
    const std::size_t content_len = l.content_len();
    if (content_len == 0) {  // the empty line separating header and body
      finalize_open(UINT64_MAX);
      msg.parts[static_cast<std::size_t>(f.part)].header_end = static_cast<std::size_t>(l.start);
      end_headers(Pos{l.start + l.len, nl + (l.has_nl ? 1 : 0), !l.has_nl});
      return true;
    }
    if (is_wsp(l.data[0])) {
      if (have_open) extend_open(l);
      else if (f.first) defect(DefectKind::first_line_is_continuation, l.start);
      // else: continuation of a line that was no field; it belongs to nothing.
      f.first = false;
      return true;
    }
    finalize_open(UINT64_MAX);
    const bool first = f.first;
    f.first = false;
    std::string_view content(l.data, l.visible >= l.len ? content_len : l.visible);
    std::size_t colon = 0;
    std::string_view name;
    if (!field_start(content, colon, name)) {
      if (first && content.substr(0, 5) == "From ") return true;  // mbox separator line
      // Not a field: the next line decides whether it is a broken field or the start of the body.
      pending.exists = true;
      pending.data.assign(l.data, l.visible);
      pending.start = l.start;
      pending.len = l.len;
      pending.has_nl = l.has_nl;
      pending.cr = l.cr;
      pending.tail_ok = l.tail_ok();
      pending.prev_before = prev;
      pending.nl_before = nl;
      peak = std::max(peak, buffered());
      return true;
    }
    open = Field{};
    open.offset = l.start;
    open.store_off = store.size();
    open.colon = colon;
    open.limit = colon + 1 + limits.max_header_line + 2;
    open.name_len = name.size();
    open.part = f.part;
    open.dropped = f.kept >= limits.max_headers || header_bytes >= limits.max_header_bytes;
    have_open = true;
    extend_open(l);
    return true;
  }

  void interpret(Part& part) {
    bool seen_ct = false, seen_cte = false, seen_cd = false;
    const int idx = static_cast<int>(&part - msg.parts.data());
    std::size_t k = fields.size();
    while (k > 0 && fields[k - 1].part == idx) --k;
    for (; k < fields.size(); ++k) {
      Header h = make_header(fields[k]);
      if (iequals(h.name, "Content-Type")) {
        if (seen_ct) { defect(DefectKind::multiple_content_type, h.offset); continue; }
        seen_ct = true;
        ContentType ct;
        parse_content_type(h.unfolded(), ct, &msg.defects, h.offset);
        part.content_type = ct;
      } else if (iequals(h.name, "Content-Transfer-Encoding") && !seen_cte) {
        seen_cte = true;
        std::string enc = first_token(h.unfolded());
        if (enc == "7bit" || enc == "8bit" || enc == "binary" || enc == "base64" || enc == "quoted-printable") {
          part.transfer_encoding = enc;
        } else {
          defect(DefectKind::invalid_transfer_encoding, h.offset);
          if (!enc.empty()) part.transfer_encoding = enc;
        }
      } else if (iequals(h.name, "Content-Disposition") && !seen_cd) {
        seen_cd = true;
        parse_content_disposition(h.unfolded(), part.disposition, &msg.defects, h.offset);
      }
    }
  }

  // The header block of the top frame ended; its body starts at bs.
  void end_headers(const Pos& bs) {
    const std::size_t fi = stack.size() - 1;
    const int pi = stack[fi].part;
    {
      Part& p = msg.parts[static_cast<std::size_t>(pi)];
      p.body_start = static_cast<std::size_t>(bs.off);
      stack[fi].bs = bs;
      stack[fi].state = State::body;
      interpret(p);
    }
    Part& p = msg.parts[static_cast<std::size_t>(pi)];
    const ContentType& ct = p.content_type;
    const std::string& cte = p.transfer_encoding;
    if (ct.type == "multipart") {
      const std::string* b = find_parameter(ct.params, "boundary");
      if (!b || b->empty() || b->size() > 200) {
        defect(DefectKind::no_boundary_in_multipart, p.header_start);
        return;
      }
      if (p.depth + 1 > limits.max_depth) { defect(DefectKind::depth_limit, p.body_start); return; }
      stack[fi].boundary = *b;
      stack[fi].state = State::preamble;
      stack[fi].seg_start = bs.off;
      ++active;
    } else if (ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global") &&
               (cte == "7bit" || cte == "8bit" || cte == "binary")) {
      if (p.depth + 1 > limits.max_depth) { defect(DefectKind::depth_limit, p.body_start); return; }
      const int child = new_part(pi, bs.off);
      if (child < 0) return;
      Part& c = msg.parts[static_cast<std::size_t>(child)];
      const Part& parent = msg.parts[static_cast<std::size_t>(pi)];
      c.is_message = true;
      c.number = parent.number;
      c.depth = parent.depth + 1;
      c.header_start = static_cast<std::size_t>(bs.off);
      Frame f;
      f.part = child;
      f.hs = bs;
      stack.push_back(std::move(f));
    }
  }

  // The top frame's part ends at `end` (a delimiter of an outer multipart, or the end of the message).
  void close_top(const Pos& end) {
    Frame& f = stack.back();
    if (f.state == State::headers) {
      // No empty line: everything is header, the body is empty.
      finalize_open(end.off);
      msg.parts[static_cast<std::size_t>(f.part)].header_end = static_cast<std::size_t>(end.off);
      end_headers(end);
      return;  // closed on the next call (after any embedded message it opened)
    }
    Part& p = msg.parts[static_cast<std::size_t>(f.part)];
    const std::size_t e = static_cast<std::size_t>(end.off);
    Pos hs = f.hs, bs = f.bs;
    if (hs.off > end.off) hs = end;
    if (bs.off > end.off) bs = end;
    p.header_start = std::min(p.header_start, e);
    p.header_end = std::min(p.header_end, e);
    p.body_start = std::min(p.body_start, e);
    p.body_end = e;
    p.epilogue_start = std::min(p.epilogue_start, e);
    p.header_lines = count_lines(hs, bs);
    p.body_lines = count_lines(bs, end);
    if (f.state == State::preamble) {
      defect(DefectKind::start_boundary_not_found, p.body_start);
      --active;
    } else if (f.state == State::children) {
      defect(DefectKind::close_boundary_not_found, e);
      p.epilogue_start = e;
      --active;
    }
    stack.pop_back();
  }

  Message finish() {
    if (finished) return Message{};
    finished = true;
    if (carrying) {
      Line l{carry.data(), carry.size(), carry_start, carry_len, false, carry_last == '\r', nullptr, carry_tail_ok};
      line(l);
      carrying = false;
    }
    while (pending.exists) resolve_pending(nullptr);
    if (pending_cr && !bare_cr_found) { bare_cr_found = true; bare_cr_off = offset - 1; }
    const Pos end{offset, nl, last_byte != '\n'};
    while (!stack.empty()) close_top(end);
    // IMAP numbering (RFC 9051 §6.4.5): a non-multipart top level is part "1".
    if (!msg.parts[0].is_multipart()) msg.parts[0].number = "1";
    // Header views, now that the store no longer moves.
    if (!stable) msg.header_store = std::make_shared<const std::string>(std::move(store));
    for (auto& p : msg.parts) p.headers.clear();
    std::vector<int> first_high(msg.parts.size(), -1);
    for (const auto& fl : fields) {
      auto& part = msg.parts[static_cast<std::size_t>(fl.part)];
      if (fl.high && first_high[static_cast<std::size_t>(fl.part)] < 0) first_high[static_cast<std::size_t>(fl.part)] = static_cast<int>(part.headers.size());
      const char* base = stable ? stable_src.data() + fl.offset : msg.header_store->data() + fl.store_off;
      std::string_view raw(base, fl.stored);
      Header h;
      h.raw = raw;
      h.name = raw.substr(0, std::min(fl.name_len, raw.size()));
      std::string_view value = raw.substr(std::min(fl.colon + 1, raw.size()));
      if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
      if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
      if (value.size() > limits.max_header_line) value = value.substr(0, limits.max_header_line);
      h.value = value;
      h.offset = static_cast<std::size_t>(fl.offset);
      part.headers.push_back(h);
    }
    for (std::size_t k = 0; k < msg.parts.size(); ++k)
      if (first_high[k] >= 0) defect(DefectKind::non_ascii_header, msg.parts[k].headers[static_cast<std::size_t>(first_high[k])].offset);
    if (bare_cr_found) msg.defects.insert(msg.defects.begin(), Defect{DefectKind::bare_cr, static_cast<std::size_t>(bare_cr_off)});
    std::stable_sort(msg.defects.begin(), msg.defects.end(),
                     [](const Defect& a, const Defect& b) { return a.offset < b.offset; });
    msg.size = static_cast<std::size_t>(offset);
    if (stable) msg.source = stable_src;
    fields.clear();
    pending.data.clear();
    pending.data.shrink_to_fit();
    carry.clear();
    carry.shrink_to_fit();
    return std::move(msg);
  }
};

MessageParser::MessageParser(const ParseLimits& limits) : impl_(std::make_unique<Impl>(limits)) {}
MessageParser::~MessageParser() = default;
MessageParser::MessageParser(MessageParser&&) noexcept = default;
MessageParser& MessageParser::operator=(MessageParser&&) noexcept = default;

void MessageParser::feed(std::string_view chunk) { impl_->feed(chunk); }
Message MessageParser::finish() { return impl_->finish(); }
std::size_t MessageParser::bytes_fed() const { return static_cast<std::size_t>(impl_->offset); }
std::size_t MessageParser::buffered_bytes() const { return impl_->buffered(); }
std::size_t MessageParser::peak_buffered_bytes() const { return impl_->peak; }

Message parse(std::string_view message, const ParseLimits& limits) {
  MessageParser p(limits);
  p.impl_->stable = true;
  p.impl_->stable_src = message;
  p.impl_->feed(message);
  return p.impl_->finish();
}

}  // namespace tern::mime
