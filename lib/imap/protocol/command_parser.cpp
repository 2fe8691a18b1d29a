// tern::imap::CommandParser — IMAP command framing and tokenizing (RFC 9051 §2.2.1, §4, §9; RFC 3501;
// RFC 7888 LITERAL+; RFC 3516 literal8).
//
// State machine (mode_):
// - line: searching the buffered bytes for the LF that ends the current line (a cursor, scan_, remembers
//   how far a partial line was already searched). A complete line is tokenized at once, continuing the
//   argument tree of the command under construction. A line ending in a literal announcement switches to
//   `literal` (after a continuation event for "{n}"); any other line end completes the command.
// - literal: literal bytes are appended to their argument as they arrive, never scanned.
// - discard_line / skip_literal: after a non-fatal error, the rest of the command is dropped: its lines,
//   and the non-synchronising literals they announce. A line ending in "{n}" (or nothing) ends it.
// - skip_long: a line longer than max_line (bytes before its LF, CR included) is reported at once as a
//   non-fatal error and then dropped up to its LF without being buffered; only its last bytes are kept to
//   see whether it announced a literal. Choosing non-fatal keeps a connection usable after a client sends
//   one absurd line, at the cost of discarding unbuffered bytes (O(1) memory).
// - dead: after a fatal error (a non-synchronising literal over the limit cannot be skipped safely: the
//   stream can no longer be framed, RFC 7888 §4) nothing more is framed.
// Every byte is searched for LF once, tokenized once and (literals) copied once: O(total size).
#include "tern/imap/command_parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace tern::imap {

namespace {

constexpr std::size_t kTailKeep = 32;  // enough for "~{" 20 digits "+}" CR

char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// RFC 9051 §9: ATOM-CHAR = <any CHAR except atom-specials>;
// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials.
bool is_atom_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

// tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR = ATOM-CHAR / resp-specials.
bool is_tag_char(unsigned char c) { return (is_atom_char(c) || c == ']') && c != '+'; }

// Characters of an atom argument as this parser reads it: ATOM-CHAR plus resp-specials (astring), the
// list-wildcards (list-mailbox, sequence sets "1:*") and "\" (flags "\Seen", "\*").
bool is_arg_atom_char(unsigned char c) {
  return is_atom_char(c) || c == ']' || c == '%' || c == '*' || c == '\\';
}

// One UTF-8 sequence (RFC 3629 §4) starting at s[i] (a byte >= 0x80); advances i past it.
bool take_utf8(std::string_view s, std::size_t& i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return false;
  }
  if (s.size() - i < len) return false;
  if (b(i + 1) < lo || b(i + 1) > hi) return false;
  for (std::size_t k = 2; k < len; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return false;
  i += len;
  return true;
}

struct LiteralSpec {
  std::size_t size = 0;
  bool sync = true;
};

// "{digits}" / "{digits+}" at s[i] == '{'; on success i is past the '}'. Sizes that overflow become
// SIZE_MAX (always over any limit).
bool parse_literal_spec(std::string_view s, std::size_t& i, LiteralSpec& out) {
  std::size_t k = i + 1;
  std::size_t size = 0, digits = 0;
  bool overflow = false;
  while (k < s.size() && s[k] >= '0' && s[k] <= '9') {
    std::size_t d = static_cast<std::size_t>(s[k] - '0');
    if (size > (std::numeric_limits<std::size_t>::max() - d) / 10) overflow = true;
    else size = size * 10 + d;
    ++k;
    ++digits;
  }
  if (digits == 0) return false;
  bool sync = true;
  if (k < s.size() && s[k] == '+') {
    sync = false;
    ++k;
  }
  if (k >= s.size() || s[k] != '}') return false;
  out.size = overflow ? std::numeric_limits<std::size_t>::max() : size;
  out.sync = sync;
  i = k + 1;
  return true;
}

// Whether a (CR-stripped) line ends with a literal announcement "{n}", "{n+}", "~{n}", "~{n+}".
std::optional<LiteralSpec> literal_suffix(std::string_view s) {
  if (s.empty() || s.back() != '}') return std::nullopt;
  std::size_t open = s.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::size_t i = open;
  LiteralSpec spec;
  if (!parse_literal_spec(s, i, spec) || i != s.size()) return std::nullopt;
  return spec;
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

void keep_tail(std::string& tail, std::string_view more) {
  if (more.size() >= kTailKeep) {
    tail.assign(more.substr(more.size() - kTailKeep));
    return;
  }
  tail.append(more);
  if (tail.size() > kTailKeep) tail.erase(0, tail.size() - kTailKeep);
}

}  // namespace

bool Arg::is_keyword(std::string_view upper) const {
  if (type != Type::atom && type != Type::nil) return false;
  if (value.size() != upper.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i)
    if (to_upper(value[i]) != upper[i]) return false;
  return true;
}

CommandParser::CommandParser(CommandParserLimits limits) : limits_(limits) {}

void CommandParser::feed(std::string_view bytes) {
  // Drop the consumed prefix when it is at least half the buffer (amortised O(1) per byte).
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  } else if (pos_ >= 64 * 1024 && pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

std::size_t CommandParser::buffered() const { return buffer_.size() - pos_; }

std::string CommandParser::take_buffered() {
  std::string rest = buffer_.substr(pos_);
  discard_buffered();
  return rest;
}

void CommandParser::discard_buffered() {
  buffer_.clear();
  pos_ = 0;
  scan_ = 0;
  skip_raw_line_ = false;
  pending_.reset();
  tail_.clear();
  if (mode_ != Mode::dead) {
    reset_command();
    mode_ = Mode::line;
  }
}

bool CommandParser::mid_command() const {
  if (mode_ == Mode::dead) return false;
  return started_ || mode_ != Mode::line || pos_ < buffer_.size();
}

void CommandParser::reset_command() {
  started_ = false;
  need_sep_ = false;
  command_ = Command{};
  stack_.clear();
  arg_count_ = 0;
  literal_left_ = 0;
}

std::size_t CommandParser::literal_limit_for_command() const {
  return command_.name == "APPEND" ? limits_.max_literal : limits_.max_other_literal;
}

std::vector<Arg>& CommandParser::container() { return stack_.empty() ? command_.args : stack_.back().list; }

CommandParser::Event CommandParser::make_error(std::string code, std::string message, bool fatal) const {
  Event ev;
  ev.kind = Event::Kind::error;
  ev.tag = started_ ? command_.tag : std::string();
  ev.code = std::move(code);
  ev.message = std::move(message);
  ev.fatal = fatal;
  return ev;
}

std::optional<CommandParser::Event> CommandParser::next() {
  if (pending_) {
    auto ev = std::move(pending_);
    pending_.reset();
    return ev;
  }
  for (;;) {
    const std::size_t avail = buffer_.size() - pos_;
    switch (mode_) {
      case Mode::dead:
        return std::nullopt;

      case Mode::literal:
      case Mode::skip_literal: {
        std::size_t n = std::min(avail, literal_left_);
        if (mode_ == Mode::literal) container().back().value.append(buffer_, pos_, n);
        pos_ += n;
        literal_left_ -= n;
        if (literal_left_ > 0) return std::nullopt;
        // After the literal: the rest of the command's line (SP more arguments, or the end).
        mode_ = mode_ == Mode::literal ? Mode::line : Mode::discard_line;
        need_sep_ = true;
        scan_ = 0;
        continue;
      }

      case Mode::skip_long: {
        const char* base = buffer_.data() + pos_;
        const void* lf = avail ? std::memchr(base, '\n', avail) : nullptr;
        if (!lf) {
          keep_tail(tail_, std::string_view(base, avail));
          pos_ += avail;
          return std::nullopt;
        }
        std::size_t len = static_cast<std::size_t>(static_cast<const char*>(lf) - base);
        keep_tail(tail_, std::string_view(base, len));
        pos_ += len + 1;
        scan_ = 0;
        std::string tail = std::move(tail_);
        tail_.clear();
        if (auto ev = end_discarded_line(strip_cr(tail))) return ev;
        continue;
      }

      case Mode::line:
      case Mode::discard_line: {
        const char* base = buffer_.data() + pos_;
        const void* lf = avail > scan_ ? std::memchr(base + scan_, '\n', avail - scan_) : nullptr;
        if (!lf) {
          scan_ = avail;
          if (avail <= limits_.max_line) return std::nullopt;
          // Over-long line without its LF yet: report now, drop it up to the LF.
          std::string_view seen(base, avail);
          keep_tail(tail_, seen);
          pos_ += avail;
          scan_ = 0;
          bool report = mode_ == Mode::line;
          auto ev = line_too_long(seen);
          mode_ = Mode::skip_long;
          if (report) return ev;
          continue;
        }
        std::size_t len = static_cast<std::size_t>(static_cast<const char*>(lf) - base);
        std::string_view raw(base, len);
        scan_ = 0;
        if (len > limits_.max_line) {
          // Same events as when the line arrives piecewise: the error, then the end of a dropped line.
          keep_tail(tail_, raw);
          pos_ += len;  // leave the LF for skip_long
          bool report = mode_ == Mode::line;
          auto ev = line_too_long(raw);
          mode_ = Mode::skip_long;
          if (report) return ev;
          continue;
        }
        pos_ += len + 1;
        std::string_view line = strip_cr(raw);
        if (mode_ == Mode::discard_line) {
          if (auto ev = end_discarded_line(line)) return ev;
          continue;
        }
        command_.size += len + 1;
        if (auto ev = tokenize(line)) return ev;
        continue;
      }
    }
  }
}

// A line over max_line: a non-fatal error (the command's tag when it can be seen), the command is dropped.
std::optional<CommandParser::Event> CommandParser::line_too_long(std::string_view line_start) {
  Event ev = make_error("TOOBIG", "Command line too long.");
  if (!started_) {
    std::size_t n = 0;
    while (n < line_start.size() && n <= limits_.max_tag && is_tag_char(static_cast<unsigned char>(line_start[n])))
      ++n;
    if (n > 0 && n <= limits_.max_tag && n < line_start.size() && line_start[n] == ' ')
      ev.tag.assign(line_start.substr(0, n));
  }
  return ev;
}

// The end of a line of a command being discarded: a non-synchronising literal it announces is skipped
// (or is fatal when over the limit: skipping that much is not worth it, RFC 7888 §4); otherwise the
// command ends here (a synchronising literal is never sent without our "+").
std::optional<CommandParser::Event> CommandParser::end_discarded_line(std::string_view line) {
  auto spec = literal_suffix(line);
  if (spec && !spec->sync) {
    if (spec->size > literal_limit_for_command()) {
      mode_ = Mode::dead;
      return make_error("TOOBIG", "Literal too big.", true);
    }
    literal_left_ = spec->size;
    mode_ = Mode::skip_literal;
    return std::nullopt;
  }
  reset_command();
  mode_ = Mode::line;
  return std::nullopt;
}

std::optional<CommandParser::Event> CommandParser::start_literal(std::size_t size, bool sync) {
  bool over = size > literal_limit_for_command() || size > limits_.max_command ||
              command_.size > limits_.max_command - size;
  if (over) {
    if (!sync) {
      // The client sends the bytes regardless: the stream cannot be framed any more (RFC 7888 §4).
      auto ev = make_error("TOOBIG", "Literal too big.", true);
      mode_ = Mode::dead;
      return ev;
    }
    // No "+": the client sees the tagged reply instead and does not send the literal (RFC 9051 §7.5).
    auto ev = make_error("TOOBIG", "Literal too big.");
    reset_command();
    mode_ = Mode::line;
    return ev;
  }
  command_.size += size;
  literal_left_ = size;
  mode_ = Mode::literal;
  container().back().value.reserve(std::min<std::size_t>(size, 1024 * 1024));
  if (!sync) return std::nullopt;
  Event ev;
  ev.kind = Event::Kind::continuation;
  ev.tag = command_.tag;
  ev.literal_size = size;
  return ev;
}

// Tokenizes one complete line (CR stripped) of the command under construction. Returns the event the
// line produces (command, continuation, error) or nullopt to go on framing (non-synchronising literal).
std::optional<CommandParser::Event> CommandParser::tokenize(std::string_view s) {
  const std::size_t n = s.size();
  std::size_t i = 0;
  // Position of the line's last ']' (a '[' opens a section only before it): one search per line keeps
  // tokenizing linear even for a line of many '[' (a per-'[' search would be quadratic).
  const std::size_t last_close = s.rfind(']');

  auto fail = [&](std::string code, std::string message) -> std::optional<Event> {
    Event ev = make_error(std::move(code), std::move(message));
    auto fatal = end_discarded_line(s);  // drops the rest of the command; may itself be fatal
    if (fatal) pending_ = std::move(fatal);
    return ev;
  };

  if (std::memchr(s.data(), '\0', n)) {
    if (!started_) {
      // Still report the tag when the line starts with one.
      std::size_t t = 0;
      while (t < n && t <= limits_.max_tag && is_tag_char(static_cast<unsigned char>(s[t]))) ++t;
      if (t > 0 && t <= limits_.max_tag && t < n && s[t] == ' ') {
        command_.tag.assign(s.substr(0, t));
        started_ = true;
      }
    }
    return fail("", "NUL byte in command.");
  }

  if (!started_) {
    // RFC 9051 §2.2.1: tag SP command-name ...
    if (n == 0) return fail("", "Empty command.");
    while (i < n && is_tag_char(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0 || (i < n && s[i] != ' ')) return fail("", "Invalid tag.");
    if (i > limits_.max_tag) return fail("LIMIT", "Tag too long.");
    command_.tag.assign(s.substr(0, i));
    started_ = true;
    while (i < n && s[i] == ' ') ++i;
    if (i == n) return fail("", "Missing command name.");
    std::size_t start = i;
    while (i < n && is_atom_char(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || (i < n && s[i] != ' ')) return fail("", "Invalid command name.");
    command_.name.reserve(i - start);
    for (std::size_t k = start; k < i; ++k) command_.name.push_back(to_upper(s[k]));
    need_sep_ = true;
  }

  auto add_arg = [&](Arg&& a) -> bool {
    if (++arg_count_ > limits_.max_args) return false;
    container().push_back(std::move(a));
    return true;
  };

  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ') {
      ++i;
      need_sep_ = false;
      continue;
    }
    if (c == ')') {
      if (stack_.empty()) return fail("", "Unexpected ')'.");
      Arg list = std::move(stack_.back());
      stack_.pop_back();
      container().push_back(std::move(list));
      ++i;
      need_sep_ = true;
      continue;
    }
    if (need_sep_) return fail("", "Missing space between arguments.");

    if (c == '(') {
      if (stack_.size() >= limits_.max_depth) return fail("LIMIT", "Lists nested too deeply.");
      if (++arg_count_ > limits_.max_args) return fail("LIMIT", "Too many arguments.");
      Arg list;
      list.type = Arg::Type::list;
      stack_.push_back(std::move(list));
      ++i;
      continue;  // no separator needed after "("
    }

    if (c == '"') {
      // RFC 9051 §9 quoted: DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = TEXT-CHAR except quoted-specials /
      // "\" quoted-specials / UTF8-2..4 (IMAP4rev2, UTF8=ACCEPT).
      Arg a;
      a.type = Arg::Type::quoted;
      ++i;
      bool closed = false;
      while (i < n) {
        unsigned char q = static_cast<unsigned char>(s[i]);
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        if (q == '\\') {
          if (i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\')) {
            a.value.push_back(s[i + 1]);
            i += 2;
            continue;
          }
          return fail("", "Invalid escape in quoted string.");
        }
        if (q == '\r') return fail("", "CR in quoted string.");
        if (q >= 0x80) {
          std::size_t start = i;
          if (!take_utf8(s, i)) return fail("", "Invalid UTF-8 in quoted string.");
          a.value.append(s.substr(start, i - start));
          continue;
        }
        a.value.push_back(static_cast<char>(q));
        ++i;
      }
      if (!closed) return fail("", "Unterminated quoted string.");
      if (!add_arg(std::move(a))) return fail("LIMIT", "Too many arguments.");
      need_sep_ = true;
      continue;
    }

    if (c == '{' || (c == '~' && i + 1 < n && s[i + 1] == '{')) {
      // literal = "{" number64 ["+"] "}" CRLF *CHAR8 (RFC 9051 §9, RFC 7888); literal8 = "~{" ...
      bool literal8 = c == '~';
      if (literal8) ++i;
      LiteralSpec spec;
      if (!parse_literal_spec(s, i, spec)) return fail("", "Invalid literal.");
      if (i != n) return fail("", "Literal announcement must end the line.");
      Arg a;
      a.type = Arg::Type::literal;
      a.literal8 = literal8;
      if (!add_arg(std::move(a))) return fail("LIMIT", "Too many arguments.");
      return start_literal(spec.size, spec.sync);
    }

    // Atom (Dovecot-style: '[' opens a section in which SP and parentheses belong to the atom).
    std::size_t start = i;
    std::size_t brackets = 0;
    bool bracketed = false;
    while (i < n) {
      unsigned char a = static_cast<unsigned char>(s[i]);
      if (brackets > 0) {
        if (a < 0x20 || a >= 0x7f) return fail("", "Invalid character in atom.");
        if (a == '[') {
          if (++brackets > limits_.max_depth) return fail("LIMIT", "Brackets nested too deeply.");
        } else if (a == ']') {
          --brackets;
        }
        ++i;
        continue;
      }
      if (a == '[') {
        // '[' is an ordinary ATOM-CHAR (RFC 9051 §9); it only opens a section when a ']' follows on the
        // line (a mailbox named "a[b" must stay one atom, as in Dovecot).
        if (last_close != std::string_view::npos && last_close > i) {
          brackets = 1;
          bracketed = true;
        }
        ++i;
        continue;
      }
      if (!is_arg_atom_char(a)) break;
      ++i;
    }
    if (brackets > 0) return fail("", "Missing ']'.");
    if (i == start) return fail("", "Invalid character in command.");
    if (i < n && s[i] != ' ' && s[i] != ')') return fail("", "Invalid character in atom.");
    Arg a;
    a.value.assign(s.substr(start, i - start));
    if (!bracketed && a.is_keyword("NIL")) a.type = Arg::Type::nil;
    if (!add_arg(std::move(a))) return fail("LIMIT", "Too many arguments.");
    need_sep_ = true;
  }

  // End of line without a literal announcement: the end of the command.
  if (!stack_.empty()) return fail("", "Missing ')'.");
  if (command_.size > limits_.max_command) return fail("TOOBIG", "Command too long.");
  Event ev;
  ev.kind = Event::Kind::command;
  ev.command = std::move(command_);
  reset_command();
  mode_ = Mode::line;
  return ev;
}

std::optional<CommandParser::Line> CommandParser::take_line() {
  if (skip_raw_line_) {
    const std::size_t avail = buffer_.size() - pos_;
    const void* lf = avail ? std::memchr(buffer_.data() + pos_, '\n', avail) : nullptr;
    if (!lf) {
      pos_ = buffer_.size();
      return std::nullopt;
    }
    pos_ = static_cast<std::size_t>(static_cast<const char*>(lf) - buffer_.data()) + 1;
    scan_ = 0;
    skip_raw_line_ = false;
  }
  const std::size_t avail = buffer_.size() - pos_;
  const char* base = buffer_.data() + pos_;
  const void* lf = avail > scan_ ? std::memchr(base + scan_, '\n', avail - scan_) : nullptr;
  if (!lf) {
    scan_ = avail;
    if (avail <= limits_.max_line) return std::nullopt;
    pos_ = buffer_.size();
    scan_ = 0;
    skip_raw_line_ = true;
    return Line{std::string(), true};
  }
  std::size_t len = static_cast<std::size_t>(static_cast<const char*>(lf) - base);
  std::string_view raw(base, len);
  pos_ += len + 1;
  scan_ = 0;
  if (len > limits_.max_line) return Line{std::string(), true};
  return Line{std::string(strip_cr(raw)), false};
}

}  // namespace tern::imap
