// RFC 5322 §3.4 address lists.
#include "tern/mime/address.hpp"

#include "tern/mime/codec.hpp"

namespace tern::mime {
namespace {

enum class Tok { word, quoted, special, literal };

struct Token {
  Tok kind;
  std::string text;  // word/quoted: content (unescaped); special: the character; literal: "[...]"
  bool space_before = false;  // white space or a comment preceded the token
  std::string comment;        // the text of the last comment that followed the token (unescaped)
};

bool is_atext(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x80) return true;  // RFC 6532 UTF-8
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

std::vector<Token> tokenize(std::string_view s, bool& clean) {
  std::vector<Token> out;
  std::size_t i = 0;
  bool space = false;
  auto push = [&](Tok kind, std::string text) {
    out.push_back({kind, std::move(text), space});
    space = false;
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { ++i; space = true; continue; }
    if (c == '(') {
      space = true;  // comment (RFC 5322 §3.2.2), nested, skipped; its text is kept on the token before it
      int depth = 0;
      std::string text;
      while (i < s.size()) {
        if (s[i] == '\\') {
          if (i + 1 < s.size()) text += s[i + 1];
          i += 2;
          continue;
        }
        if (s[i] == '(' && depth++ == 0) { ++i; continue; }
        if (s[i] == ')' && --depth == 0) { ++i; break; }
        if (s[i] != '\r' && s[i] != '\n') text += s[i];
        ++i;
      }
      if (depth > 0) clean = false;
      std::size_t a = text.find_first_not_of(" \t"), b = text.find_last_not_of(" \t");
      if (!out.empty() && a != std::string::npos) out.back().comment = text.substr(a, b - a + 1);
      continue;
    }
    if (c == '"') {
      std::string q;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) { q += s[i + 1]; i += 2; continue; }
        if (s[i] == '\r' || s[i] == '\n') { ++i; continue; }
        q += s[i++];
      }
      if (i < s.size()) ++i; else clean = false;
      push(Tok::quoted, q);
      continue;
    }
    if (c == '[') {
      std::size_t e = s.find(']', i);
      if (e == std::string_view::npos) { clean = false; e = s.size() - 1; }
      push(Tok::literal, std::string(s.substr(i, e - i + 1)));
      i = e + 1;
      continue;
    }
    if (std::string_view("<>@,:;").find(c) != std::string_view::npos) {
      push(Tok::special, std::string(1, c));
      ++i;
      continue;
    }
    if (is_atext(c)) {
      std::size_t st = i;
      while (i < s.size() && is_atext(s[i])) ++i;
      push(Tok::word, std::string(s.substr(st, i - st)));
      continue;
    }
    clean = false;  // stray character such as ']' or '\\'
    ++i;
  }
  return out;
}

struct ListParser {
  std::vector<Token> t;
  std::size_t i = 0;
  bool clean = true;

  bool at_special(char c) const { return i < t.size() && t[i].kind == Tok::special && t[i].text[0] == c; }

  // A phrase: words and quoted strings up to a special.
  std::vector<Token> phrase() {
    std::vector<Token> words;
    while (i < t.size() && t[i].kind != Tok::special) words.push_back(t[i++]);
    return words;
  }

  static std::string join_raw(const std::vector<Token>& words) {
    std::string r;
    for (const auto& w : words) {
      if (!r.empty()) r += ' ';
      r += w.text;
    }
    return r;
  }

  // obs-local-part (RFC 5322 §4.4): words around '.' join without the white space; words separated
  // only by white space ("Big Bug bb@x") keep one space, which address() then quotes.
  static bool dot_joined(const std::string& prev, const Token& cur) {
    return !cur.space_before || (!prev.empty() && prev.back() == '.') || (!cur.text.empty() && cur.text[0] == '.');
  }

  static std::string join_local(const std::vector<Token>& words) {
    std::string r;
    for (const auto& w : words) {
      if (!r.empty() && !dot_joined(r, w)) r += ' ';
      r += w.text;
    }
    return r;
  }

  // A dot-atom, domain literal or obs-domain ("a . b"); stops at the first word not joined by '.'.
  std::string domain() {
    std::string d;
    while (i < t.size() && t[i].kind != Tok::special) {
      if (!d.empty() && !dot_joined(d, t[i])) break;
      d += t[i++].text;
    }
    return d;
  }

  // addr-spec after an optional obsolete route, inside <...>.
  void angle_addr(Mailbox& m) {
    ++i;  // '<'
    // obs-route: "@a,@b:" (RFC 5322 §4.4)
    if (at_special('@')) {
      std::size_t save = i;
      std::string route;
      while (i < t.size() && !at_special(':') && !at_special('>')) route += t[i++].text;
      if (at_special(':')) { m.route = route; ++i; }
      else i = save;
    }
    std::vector<Token> local;
    while (i < t.size() && t[i].kind != Tok::special) local.push_back(t[i++]);
    m.local_part = join_local(local);
    if (at_special('@')) {
      ++i;
      m.domain = domain();
    }
    while (i < t.size() && !at_special('>')) { clean = false; ++i; }
    if (at_special('>')) ++i; else clean = false;
  }

  // A mailbox whose leading phrase has been read; stops before ',' ';' or the end.
  Mailbox mailbox(std::vector<Token> words) {
    Mailbox m;
    const std::size_t start = i - words.size();  // phrase() read the words just before i
    if (at_special('<')) {
      m.display_name_raw = join_raw(words);
      m.display_name = decode_encoded_words(m.display_name_raw);
      angle_addr(m);
    } else if (at_special('@')) {
      ++i;
      m.local_part = join_local(words);
      m.domain = domain();
      // "a@b <c@d>" style junk: treat a following angle address as the real one.
      if (at_special('<')) {
        clean = false;
        m.display_name_raw = m.display_name = m.local_part + "@" + m.domain;
        m.domain.clear();
        angle_addr(m);
      } else {
        // A bare addr-spec has no phrase: the comment after it, "user@domain (Real Name)", is the display
        // name (RFC 5322 §3.4 obsolete usage; Dovecot and most clients show it so).
        for (std::size_t k = start; k < i; ++k)
          if (!t[k].comment.empty()) m.display_name_raw = t[k].comment;
        m.display_name = decode_encoded_words(m.display_name_raw);
      }
    } else {
      clean = false;  // a bare word without '@' (RFC 5322 requires a domain)
      m.local_part = join_local(words);
    }
    return m;
  }

  void skip_to_separator() {
    while (i < t.size() && !at_special(',') && !at_special(';')) { clean = false; ++i; }
  }

  AddressList run(const AddressLimits& limits) {
    AddressList list;
    std::size_t guard = 0;
    while (i < t.size() && ++guard <= t.size() + 1) {
      if (at_special(',')) { ++i; continue; }
      if (list.entries.size() >= limits.max_entries) { clean = false; break; }
      std::size_t before = i;
      std::vector<Token> words = phrase();
      if (at_special(':')) {
        ++i;
        AddressEntry g;
        g.is_group = true;
        g.group_name_raw = join_raw(words);
        g.group_name = decode_encoded_words(g.group_name_raw);
        while (i < t.size() && !at_special(';')) {
          if (at_special(',')) { ++i; continue; }
          std::size_t b2 = i;
          auto w = phrase();
          if (at_special(':')) { clean = false; ++i; continue; }  // nested group: not allowed
          Mailbox m = mailbox(std::move(w));
          if (!m.local_part.empty() || !m.domain.empty()) {
            if (g.mailboxes.size() < limits.max_entries) g.mailboxes.push_back(std::move(m));
          }
          skip_to_separator();
          if (i == b2) ++i;
        }
        if (at_special(';')) ++i; else clean = false;
        list.entries.push_back(std::move(g));
        continue;
      }
      if (at_special(';')) { clean = false; ++i; continue; }
      Mailbox m = mailbox(std::move(words));
      if (!m.local_part.empty() || !m.domain.empty()) {
        AddressEntry e;
        e.mailboxes.push_back(std::move(m));
        list.entries.push_back(std::move(e));
      }
      skip_to_separator();
      if (i == before) ++i;  // always make progress
    }
    list.clean = clean;
    return list;
  }
};

}  // namespace

std::string Mailbox::address() const {
  bool needs_quote = local_part.empty();
  for (std::size_t k = 0; k < local_part.size(); ++k) {
    char c = local_part[k];
    if (!is_atext(c) || (c == '.' && (k == 0 || k + 1 == local_part.size() || local_part[k + 1] == '.')))
      needs_quote = true;
  }
  std::string lp;
  if (needs_quote) {
    lp = "\"";
    for (char c : local_part) {
      if (c == '"' || c == '\\') lp += '\\';
      lp += c;
    }
    lp += "\"";
  } else {
    lp = local_part;
  }
  if (domain.empty()) return lp;
  return lp + "@" + domain;
}

std::vector<Mailbox> AddressList::all_mailboxes() const {
  std::vector<Mailbox> out;
  for (const auto& e : entries)
    for (const auto& m : e.mailboxes) out.push_back(m);
  return out;
}

AddressList parse_address_list(std::string_view value, const AddressLimits& limits) {
  ListParser p;
  if (value.size() > limits.max_length) {
    value = value.substr(0, limits.max_length);
    p.clean = false;
  }
  p.t = tokenize(value, p.clean);
  return p.run(limits);
}

}  // namespace tern::mime
