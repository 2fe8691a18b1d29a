// tern::imap::Command — one client command as the framing parser (command_parser.hpp) hands it to the
// session: the tag, the command name and its arguments as a generic tree (RFC 9051 §9 grammar is
// interpreted later, per command, by the argument converters in command_args.hpp). Pure data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imap {

// One argument. IMAP's lexical forms (RFC 9051 §4):
// - atom: any run of ATOM-CHARs plus the resp-specials ']' — and, like Dovecot, a '[' opens a bracket
//   section in which spaces and parentheses belong to the atom until the matching ']' (so
//   `BODY.PEEK[HEADER.FIELDS (From To)]<0.100>` is ONE atom). Also "\Seen", "\*", "$", "1:*", "UID".
//   The NIL atom is reported as type nil (case-insensitive).
// - quoted: "..." with \" and \\ escapes removed. Quoted strings never contain CR/LF/NUL.
// - literal: {n}CRLF<n bytes>, {n+} (LITERAL+, RFC 7888), ~{n} literal8 (RFC 3516; `literal8` set).
// - list: "(" args ")" (nesting bounded by the parser).
struct Arg {
  enum class Type { atom, quoted, literal, nil, list };
  Type type = Type::atom;
  std::string value;      // atom text as written (case preserved), or the string's bytes
  std::vector<Arg> list;  // children of a list
  bool literal8 = false;  // written as ~{n}

  bool is_atom() const { return type == Type::atom; }
  bool is_list() const { return type == Type::list; }
  bool is_nil() const { return type == Type::nil; }
  // RFC 9051 "string": quoted or literal.
  bool is_string() const { return type == Type::quoted || type == Type::literal; }
  // RFC 9051 "astring": atom (incl. ']' chars) or string.
  bool is_astring() const { return type == Type::atom || is_string(); }
  // Case-insensitive comparison of an atom with an upper-case ASCII keyword.
  bool is_keyword(std::string_view upper) const;
};

struct Command {
  std::string tag;         // as written
  std::string name;        // upper-cased ASCII: "LOGIN", "UID", "FETCH", ...
  std::vector<Arg> args;   // everything after the name; for "UID FETCH ..." args[0] is the atom FETCH
  std::size_t size = 0;    // bytes the command took on the wire (line(s) and literals)
};

}  // namespace tern::imap
