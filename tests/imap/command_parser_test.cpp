// Unit tests for tern::imap::CommandParser (RFC 9051 §2.2, §4, §9; RFC 7888; RFC 3516).
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/command_parser.hpp"

using tern::imap::Arg;
using tern::imap::Command;
using tern::imap::CommandParser;
using tern::imap::CommandParserLimits;
using Kind = CommandParser::Event::Kind;

namespace {

// An event sequence, printable in Boost.Test diagnostics.
struct V : std::vector<std::string> {
  using std::vector<std::string>::vector;
};
std::ostream& operator<<(std::ostream& os, const V& v) {
  os << "{";
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? " | " : "") << v[i];
  return os << "}";
}

std::string show_arg(const Arg& a) {
  switch (a.type) {
    case Arg::Type::atom: return a.value;
    case Arg::Type::nil: return "NIL<" + a.value + ">";
    case Arg::Type::quoted: return "\"" + a.value + "\"";
    case Arg::Type::literal:
      return std::string(a.literal8 ? "~" : "") + "{" + std::to_string(a.value.size()) + "}" + a.value;
    case Arg::Type::list: {
      std::string s = "(";
      for (std::size_t i = 0; i < a.list.size(); ++i) s += (i ? " " : "") + show_arg(a.list[i]);
      return s + ")";
    }
  }
  return "?";
}

// A canonical text for an event, so whole event sequences compare in one assertion.
std::string show(const CommandParser::Event& ev) {
  switch (ev.kind) {
    case Kind::command: {
      std::string s = "CMD " + ev.command.tag + " " + ev.command.name;
      for (const auto& a : ev.command.args) s += " " + show_arg(a);
      return s + " #" + std::to_string(ev.command.size);
    }
    case Kind::continuation: return "CONT " + std::to_string(ev.literal_size);
    case Kind::error:
      return std::string(ev.fatal ? "FATAL" : "ERR") + " [" + ev.tag + "] [" + ev.code + "] " + ev.message;
  }
  return "?";
}

V drain(CommandParser& p) {
  V out;
  while (auto ev = p.next()) out.push_back(show(*ev));
  return out;
}

// Feeds `input` in pieces of `piece` bytes (0: all at once), pulling every event after each feed.
V run(std::string_view input, std::size_t piece = 0, CommandParserLimits limits = {}) {
  CommandParser p(limits);
  V out;
  if (piece == 0) piece = input.size() ? input.size() : 1;
  for (std::size_t i = 0; i < input.size(); i += piece) {
    p.feed(input.substr(i, piece));
    for (auto& s : drain(p)) out.push_back(std::move(s));
  }
  return out;
}

Command one_command(std::string_view input) {
  CommandParser p;
  p.feed(input);
  auto ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_REQUIRE_MESSAGE(ev->kind == Kind::command, show(*ev));
  BOOST_CHECK(!p.next());
  return ev->command;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(imap_command_parser)

BOOST_AUTO_TEST_CASE(simple_command_is_tagged_named_and_tokenized) {
  Command c = one_command("a001 login fred \"pass word\"\r\n");
  BOOST_CHECK_EQUAL(c.tag, "a001");
  BOOST_CHECK_EQUAL(c.name, "LOGIN");
  BOOST_REQUIRE_EQUAL(c.args.size(), 2u);
  BOOST_CHECK(c.args[0].is_atom());
  BOOST_CHECK_EQUAL(c.args[0].value, "fred");
  BOOST_CHECK(c.args[1].type == Arg::Type::quoted);
  BOOST_CHECK_EQUAL(c.args[1].value, "pass word");
  BOOST_CHECK(c.args[1].is_string() && c.args[1].is_astring());
  BOOST_CHECK_EQUAL(c.size, std::string_view("a001 login fred \"pass word\"\r\n").size());
}

BOOST_AUTO_TEST_CASE(uid_subcommand_sequence_sets_flags_and_wildcards) {
  Command c = one_command("x.1 uid Store 1:*,5 +FLAGS.SILENT (\\Seen \\* $Junk)\r\n");
  BOOST_CHECK_EQUAL(c.name, "UID");
  BOOST_CHECK_EQUAL(show(CommandParser::Event{Kind::command, c}),
                    "CMD x.1 UID Store 1:*,5 +FLAGS.SILENT (\\Seen \\* $Junk) #52");
  BOOST_CHECK(c.args[0].is_keyword("STORE"));
  BOOST_CHECK(!c.args[0].is_keyword("STOR"));
  BOOST_CHECK(!c.args[3].is_keyword("SEEN"));
  Command l = one_command("b LIST \"\" %/*\r\n");
  BOOST_CHECK_EQUAL(l.args[1].value, "%/*");
  // Tags may hold ']' (ASTRING-CHAR) but not '+'.
  BOOST_CHECK_EQUAL(one_command("t] NOOP\r\n").tag, "t]");
  BOOST_CHECK_EQUAL(run("t+ NOOP\r\n"), (V{"ERR [] [] Invalid tag."}));
  BOOST_CHECK_EQUAL(run("* NOOP\r\n"), (V{"ERR [] [] Invalid tag."}));
}

BOOST_AUTO_TEST_CASE(bracket_section_is_one_atom) {
  Command c = one_command("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODY[1.2.MIME] FLAGS)\r\n");
  BOOST_REQUIRE_EQUAL(c.args.size(), 2u);
  BOOST_REQUIRE(c.args[1].is_list());
  BOOST_REQUIRE_EQUAL(c.args[1].list.size(), 3u);
  BOOST_CHECK_EQUAL(c.args[1].list[0].value, "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
  BOOST_CHECK_EQUAL(c.args[1].list[1].value, "BODY[1.2.MIME]");
  BOOST_CHECK_EQUAL(c.args[1].list[2].value, "FLAGS");
  // Nested brackets are counted; a ']' outside brackets is an ordinary astring char.
  Command n = one_command("a X A[B[C D]E]F G]\r\n");
  BOOST_CHECK_EQUAL(n.args[0].value, "A[B[C D]E]F");
  BOOST_CHECK_EQUAL(n.args[1].value, "G]");
  // Unbalanced brackets are an error ...
  BOOST_CHECK_EQUAL(run("a X A[B[C]\r\nb NOOP\r\n"), (V{"ERR [a] [] Missing ']'.", "CMD b NOOP #8"}));
  // ... but with no ']' on the line '[' is an ordinary ATOM-CHAR (a mailbox "a[b", imaptest's atoms test);
  // the FETCH converter then rejects the item.
  BOOST_CHECK_EQUAL(run("a FETCH 1 BODY[HEADER.FIELDS (From)\r\nb NOOP\r\n"),
                    (V{"CMD a FETCH 1 BODY[HEADER.FIELDS (From) #37", "CMD b NOOP #8"}));
  BOOST_CHECK_EQUAL(one_command("a SELECT x[}\r\n").args[0].value, "x[}");
}

BOOST_AUTO_TEST_CASE(nil_is_its_own_type) {
  Command c = one_command("a X NIL nil \"NIL\" (NIL) NILS\r\n");
  BOOST_REQUIRE_EQUAL(c.args.size(), 5u);
  BOOST_CHECK(c.args[0].is_nil());
  BOOST_CHECK(c.args[1].is_nil());
  BOOST_CHECK(!c.args[1].is_astring());
  BOOST_CHECK(c.args[2].type == Arg::Type::quoted);
  BOOST_CHECK(c.args[3].list.at(0).is_nil());
  BOOST_CHECK(c.args[4].is_atom());
}

BOOST_AUTO_TEST_CASE(quoted_strings_and_escapes) {
  Command c = one_command("a X \"a\\\"b\\\\c\" \"\" \"gr\xc3\xbc\xc3\x9f" "e (x)\"\r\n");
  BOOST_CHECK_EQUAL(c.args[0].value, "a\"b\\c");
  BOOST_CHECK_EQUAL(c.args[1].value, "");
  BOOST_CHECK(c.args[1].type == Arg::Type::quoted);
  BOOST_CHECK_EQUAL(c.args[2].value, "gr\xc3\xbc\xc3\x9f" "e (x)");
  BOOST_CHECK_EQUAL(run("a X \"a\\nb\"\r\n"), (V{"ERR [a] [] Invalid escape in quoted string."}));
  BOOST_CHECK_EQUAL(run("a X \"\xff\"\r\n"), (V{"ERR [a] [] Invalid UTF-8 in quoted string."}));
  BOOST_CHECK_EQUAL(run("a X \"\xc3\"\r\n"), (V{"ERR [a] [] Invalid UTF-8 in quoted string."}));
  BOOST_CHECK_EQUAL(run("a X \"open\r\n"), (V{"ERR [a] [] Unterminated quoted string."}));
  BOOST_CHECK_EQUAL(run("a X \"a\rb\"\r\n"), (V{"ERR [a] [] CR in quoted string."}));
  BOOST_CHECK_EQUAL(run("a X abc\"def\"\r\n"), (V{"ERR [a] [] Invalid character in atom."}));
  BOOST_CHECK_EQUAL(run("a X caf\xc3\xa9\r\n"), (V{"ERR [a] [] Invalid character in atom."}));
}

BOOST_AUTO_TEST_CASE(pipelined_commands_in_one_feed) {
  BOOST_CHECK_EQUAL(run("a NOOP\r\nb CAPABILITY\nc LOGOUT\r\n"),
                    (V{"CMD a NOOP #8", "CMD b CAPABILITY #13", "CMD c LOGOUT #10"}));
}

BOOST_AUTO_TEST_CASE(extra_spaces_are_tolerated) {
  BOOST_CHECK_EQUAL(run("a  FETCH   1  ( FLAGS  UID )  \r\n"), (V{"CMD a FETCH 1 (FLAGS UID) #32"}));
  BOOST_CHECK_EQUAL(run("a FETCH 1 (FLAGS)(UID)\r\n"), (V{"ERR [a] [] Missing space between arguments."}));
  BOOST_CHECK_EQUAL(run("a NOOP(\r\n"), (V{"ERR [a] [] Invalid command name."}));
}

BOOST_AUTO_TEST_CASE(synchronising_literal_flow) {
  CommandParser p;
  BOOST_CHECK(!p.mid_command());
  p.feed("a LOGIN {4}\r\n");
  auto ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_CHECK(ev->kind == Kind::continuation);
  BOOST_CHECK_EQUAL(ev->literal_size, 4u);
  BOOST_CHECK(!p.next());
  BOOST_CHECK(p.mid_command());
  p.feed("fr");
  BOOST_CHECK(!p.next());
  p.feed("ed {7}\r\n");
  ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_CHECK_EQUAL(show(*ev), "CONT 7");
  BOOST_CHECK(!p.next());
  p.feed("se\r\nret\r\n");
  ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_REQUIRE_EQUAL(show(*ev), "CMD a LOGIN {4}fred {7}se\r\nret #32");
  BOOST_CHECK(ev->command.args[1].type == Arg::Type::literal);
  BOOST_CHECK(ev->command.args[1].is_astring());
  BOOST_CHECK(!ev->command.args[1].literal8);
  BOOST_CHECK(!p.next());
  BOOST_CHECK(!p.mid_command());
  // A zero-length synchronising literal still needs the continuation.
  BOOST_CHECK_EQUAL(run("a LOGIN {0}\r\n {0}\r\n\r\n"), (V{"CONT 0", "CONT 0", "CMD a LOGIN {0} {0} #21"}));
}

BOOST_AUTO_TEST_CASE(literal_inside_list_and_after_literal) {
  BOOST_CHECK_EQUAL(run("a X (a {3}\r\nb c) {1}\r\nd\r\n"), (V{"CONT 3", "CONT 1", "CMD a X (a {3}b c) {1}d #25"}));
  BOOST_CHECK_EQUAL(run("a X {3}\r\nabc{1}\r\n"), (V{"CONT 3", "ERR [a] [] Missing space between arguments."}));
  BOOST_CHECK_EQUAL(run("a X {3} b\r\nc NOOP\r\n"),
                    (V{"ERR [a] [] Literal announcement must end the line.", "CMD c NOOP #8"}));
  BOOST_CHECK_EQUAL(run("a X {x}\r\n"), (V{"ERR [a] [] Invalid literal."}));
}

BOOST_AUTO_TEST_CASE(non_synchronising_literal_has_no_continuation) {
  std::string in = "a APPEND INBOX (\\Seen) {5+}\r\nhello\r\nb NOOP\r\n";
  BOOST_CHECK_EQUAL(run(in), (V{"CMD a APPEND INBOX (\\Seen) {5}hello #36", "CMD b NOOP #8"}));
  BOOST_CHECK_EQUAL(run(in, 1), run(in));
}

BOOST_AUTO_TEST_CASE(literal8) {
  std::string in("a APPEND INBOX ~{3+}\r\nx\0y UTF8 (~{2}\r\n\r\n)\r\n", 43);
  BOOST_CHECK_EQUAL(run(in), (V{std::string("CONT 2"), std::string("CMD a APPEND INBOX ~{3}x\0y UTF8 (~{2}\r\n) #43", 44)}));
  Command c = one_command(std::string("a APPEND INBOX ~{3+}\r\nx\0y\r\n", 27));
  BOOST_CHECK(c.args[1].literal8);
  BOOST_CHECK(c.args[1].type == Arg::Type::literal);
  BOOST_CHECK_EQUAL(c.args[1].value, std::string("x\0y", 3));
  // A '~' not followed by '{' is an ordinary atom char.
  BOOST_CHECK_EQUAL(one_command("a X ~abc\r\n").args[0].value, "~abc");
}

BOOST_AUTO_TEST_CASE(synchronising_literal_over_limit_is_a_tagged_non_fatal_error) {
  CommandParserLimits lim;
  lim.max_other_literal = 10;
  lim.max_literal = 100;
  BOOST_CHECK_EQUAL(run("a LOGIN {11}\r\nb NOOP\r\n", 0, lim), (V{"ERR [a] [TOOBIG] Literal too big.", "CMD b NOOP #8"}));
  BOOST_CHECK_EQUAL(run("a LOGIN {10}\r\n0123456789\r\n", 0, lim), (V{"CONT 10", "CMD a LOGIN {10}0123456789 #26"}));
  // APPEND's literals use max_literal.
  BOOST_CHECK_EQUAL(run("a APPEND INBOX {11}\r\n", 0, lim), (V{"CONT 11"}));
  BOOST_CHECK_EQUAL(run("a APPEND INBOX {101}\r\nb NOOP\r\n", 0, lim),
                    (V{"ERR [a] [TOOBIG] Literal too big.", "CMD b NOOP #8"}));
  // max_command bounds the whole command (MULTIAPPEND).
  lim.max_command = 150;
  BOOST_CHECK_EQUAL(run("a APPEND INBOX {100+}\r\n" + std::string(100, 'x') + " {40}\r\nb NOOP\r\n", 0, lim),
                    (V{"ERR [a] [TOOBIG] Literal too big.", "CMD b NOOP #8"}));
  // Sizes that do not fit in 64 bits are over any limit.
  BOOST_CHECK_EQUAL(run("a APPEND INBOX {99999999999999999999999}\r\n", 0, lim),
                    (V{"ERR [a] [TOOBIG] Literal too big."}));
}

BOOST_AUTO_TEST_CASE(non_synchronising_literal_over_limit_is_fatal) {
  CommandParserLimits lim;
  lim.max_other_literal = 10;
  CommandParser p(lim);
  p.feed("a LOGIN {11+}\r\n01234567890\r\nb NOOP\r\n");
  auto ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_CHECK_EQUAL(show(*ev), "FATAL [a] [TOOBIG] Literal too big.");
  BOOST_CHECK(!p.next());
  p.feed("c NOOP\r\n");
  BOOST_CHECK(!p.next());
  BOOST_CHECK(!p.mid_command());
}

BOOST_AUTO_TEST_CASE(rest_of_command_is_discarded_after_an_error) {
  // The erroneous line announces a non-synchronising literal: its bytes ("b NOO") are skipped, not framed.
  std::string in = "a FOO \"x\\q\" {5+}\r\nb NOO\r\nc NOOP\r\n";
  BOOST_CHECK_EQUAL(run(in), (V{"ERR [a] [] Invalid escape in quoted string.", "CMD c NOOP #8"}));
  BOOST_CHECK_EQUAL(run(in, 1), run(in));
  // ... and so on for the lines after it.
  std::string chain = "a FOO ) {3+}\r\nxyz {2+}\r\nzz\r\nc NOOP\r\n";
  BOOST_CHECK_EQUAL(run(chain), (V{"ERR [a] [] Unexpected ')'.", "CMD c NOOP #8"}));
  // A synchronising literal announcement ends the erroneous command (the client gets no "+").
  BOOST_CHECK_EQUAL(run("a FOO ) {5}\r\nb NOOP\r\n"), (V{"ERR [a] [] Unexpected ')'.", "CMD b NOOP #8"}));
  // A non-synchronising literal over the limit on the discarded line is still fatal.
  CommandParserLimits lim;
  lim.max_other_literal = 10;
  BOOST_CHECK_EQUAL(run("a FOO ) {50+}\r\n", 0, lim),
                    (V{"ERR [a] [] Unexpected ')'.", "FATAL [a] [TOOBIG] Literal too big."}));
}

BOOST_AUTO_TEST_CASE(errors_carry_the_tag) {
  BOOST_CHECK_EQUAL(run("tag1 SELECT (INBOX\r\n"), (V{"ERR [tag1] [] Missing ')'."}));
  BOOST_CHECK_EQUAL(run("tag2 SELECT INBOX)\r\n"), (V{"ERR [tag2] [] Unexpected ')'."}));
  BOOST_CHECK_EQUAL(run("tag3\r\n"), (V{"ERR [tag3] [] Missing command name."}));
  BOOST_CHECK_EQUAL(run("tag4   \r\n"), (V{"ERR [tag4] [] Missing command name."}));
  BOOST_CHECK_EQUAL(run(std::string("tag5 NO\0OP\r\n", 12)), (V{"ERR [tag5] [] NUL byte in command."}));
  BOOST_CHECK_EQUAL(run(std::string("ta\0g NOOP\r\n", 11)), (V{"ERR [] [] NUL byte in command."}));
  BOOST_CHECK_EQUAL(run("tag6 X a\x01\r\n"), (V{"ERR [tag6] [] Invalid character in atom."}));
}

BOOST_AUTO_TEST_CASE(empty_lines_and_line_ends) {
  BOOST_CHECK_EQUAL(run("\r\n\na NOOP\r\n"), (V{"ERR [] [] Empty command.", "ERR [] [] Empty command.", "CMD a NOOP #8"}));
  // Bare LF ends a line; a CR elsewhere is not a line end.
  BOOST_CHECK_EQUAL(run("a NOOP\nb NOOP\r\n"), (V{"CMD a NOOP #7", "CMD b NOOP #8"}));
  BOOST_CHECK_EQUAL(run("a NOOP\rb NOOP\r\n"), (V{"ERR [a] [] Invalid command name."}));
}

BOOST_AUTO_TEST_CASE(limits_depth_args_tag) {
  CommandParserLimits lim;
  lim.max_depth = 3;
  lim.max_args = 5;
  lim.max_tag = 4;
  BOOST_CHECK_EQUAL(run("a X (((a)))\r\n", 0, lim), (V{"CMD a X (((a))) #13"}));
  BOOST_CHECK_EQUAL(run("a X ((((a))))\r\nb NOOP\r\n", 0, lim),
                    (V{"ERR [a] [LIMIT] Lists nested too deeply.", "CMD b NOOP #8"}));
  BOOST_CHECK_EQUAL(run("a X 1 2 3 4 5\r\n", 0, lim), (V{"CMD a X 1 2 3 4 5 #15"}));
  BOOST_CHECK_EQUAL(run("a X 1 2 (3 4) 5\r\n", 0, lim), (V{"ERR [a] [LIMIT] Too many arguments."}));
  BOOST_CHECK_EQUAL(run("abcd NOOP\r\n", 0, lim), (V{"CMD abcd NOOP #11"}));
  BOOST_CHECK_EQUAL(run("abcde NOOP\r\n", 0, lim), (V{"ERR [] [LIMIT] Tag too long."}));
  BOOST_CHECK_EQUAL(run("a X A[[[[B]]]]\r\n", 0, lim), (V{"ERR [a] [LIMIT] Brackets nested too deeply."}));
}

BOOST_AUTO_TEST_CASE(over_long_line_is_reported_and_skipped) {
  CommandParserLimits lim;
  lim.max_line = 20;
  std::string in = "a LOGIN " + std::string(40, 'x') + "\r\nb NOOP\r\n";
  V expected{"ERR [a] [TOOBIG] Command line too long.", "CMD b NOOP #8"};
  BOOST_CHECK_EQUAL(run(in, 0, lim), expected);
  BOOST_CHECK_EQUAL(run(in, 1, lim), expected);
  BOOST_CHECK_EQUAL(run(in, 7, lim), expected);
  // Exactly max_line bytes before the LF (CR included) is fine.
  BOOST_CHECK_EQUAL(run("a X 012345678901234\r\n", 1, lim), (V{"CMD a X 012345678901234 #21"}));
  BOOST_CHECK_EQUAL(run("a X 0123456789012345\r\n", 1, lim), (V{"ERR [a] [TOOBIG] Command line too long."}));
  // An over-long line announcing a non-synchronising literal: the literal is skipped too.
  std::string lit = "a APPEND " + std::string(30, 'y') + " {6+}\r\nb NOOP\r\nc NOOP\r\n";
  V lit_expected{"ERR [a] [TOOBIG] Command line too long.", "CMD c NOOP #8"};
  BOOST_CHECK_EQUAL(run(lit, 0, lim), lit_expected);
  BOOST_CHECK_EQUAL(run(lit, 1, lim), lit_expected);
  // A continuation line (after a literal) that is too long: the command's tag is known.
  std::string cont = "a X {2+}\r\nab " + std::string(30, 'z') + "\r\nb NOOP\r\n";
  BOOST_CHECK_EQUAL(run(cont, 1, lim), (V{"ERR [a] [TOOBIG] Command line too long.", "CMD b NOOP #8"}));
  // Memory stays bounded while an endless line is skipped.
  CommandParser p(lim);
  p.feed("a X ");
  std::size_t errors = 0;
  for (int i = 0; i < 1000; ++i) {
    p.feed(std::string(1000, 'q'));
    while (auto ev = p.next()) errors += ev->kind == Kind::error;
    BOOST_CHECK_LE(p.buffered(), 1000u);
  }
  BOOST_CHECK_EQUAL(errors, 1u);
  BOOST_CHECK(p.mid_command());
  p.feed("\r\nb NOOP\r\n");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD b NOOP #8"}));
}

BOOST_AUTO_TEST_CASE(byte_at_a_time_equals_one_feed) {
  CommandParserLimits lim;
  lim.max_line = 60;
  lim.max_other_literal = 20;
  std::vector<std::string> inputs = {
      "a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\na2 SELECT INBOX\r\n",
      "a3 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.200>)\r\na4 LOGOUT\n",
      "a5 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" ~{10+}\r\n0123456789 {3}\r\nabc\r\n",
      "\r\nb1\r\nb2 X \"a\\nb\" {3+}\r\nNOP\r\nb3 LOGIN {30}\r\nb4 NOOP\r\n",
      "c1 SEARCH CHARSET UTF-8 SUBJECT \"gr\xc3\xbc\xc3\x9f" "e\" OR FROM a TO b " + std::string(60, 'k') +
          "\r\nc2 NOOP\r\n",
      "d1 X ((((((((((((a))))))))))))\r\nd2 X {21+}\r\n",
  };
  for (const auto& in : inputs) {
    V whole = run(in, 0, lim);
    BOOST_CHECK(!whole.empty());
    for (std::size_t piece : {1u, 2u, 3u, 5u, 13u}) BOOST_CHECK_EQUAL(run(in, piece, lim), whole);
  }
}

BOOST_AUTO_TEST_CASE(take_line_for_authenticate_and_idle) {
  CommandParserLimits lim;
  lim.max_line = 16;
  CommandParser p(lim);
  p.feed("dGVzdA==\r\nDO");
  auto l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK_EQUAL(l->text, "dGVzdA==");
  BOOST_CHECK(!l->too_long);
  BOOST_CHECK(!p.take_line());
  p.feed("NE\n*\r\n");
  l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK_EQUAL(l->text, "DONE");
  l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK_EQUAL(l->text, "*");
  BOOST_CHECK(!p.take_line());
  // Too long: reported once, then the rest of that line is dropped.
  p.feed(std::string(20, 'A'));
  l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK(l->too_long);
  p.feed(std::string(20, 'A'));
  BOOST_CHECK(!p.take_line());
  p.feed("AAA\r\nnext\r\n");
  l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK_EQUAL(l->text, "next");
  BOOST_CHECK(!l->too_long);
  // A complete line over the limit.
  p.feed(std::string(17, 'B') + "\r\nok\r\n");
  l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK(l->too_long);
  l = p.take_line();
  BOOST_REQUIRE(l);
  BOOST_CHECK_EQUAL(l->text, "ok");
  // Back to commands after IDLE.
  p.feed("DONE\r\nz NOOP\r\n");
  BOOST_CHECK_EQUAL(p.take_line()->text, "DONE");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD z NOOP #8"}));
}

BOOST_AUTO_TEST_CASE(buffered_and_discard_for_starttls) {
  CommandParser p;
  p.feed("a STARTTLS\r\nb LOGIN x y\r\nc");
  auto ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_CHECK_EQUAL(show(*ev), "CMD a STARTTLS #12");
  BOOST_CHECK_EQUAL(p.buffered(), std::string_view("b LOGIN x y\r\nc").size());
  p.discard_buffered();
  BOOST_CHECK_EQUAL(p.buffered(), 0u);
  BOOST_CHECK(!p.next());
  BOOST_CHECK(!p.mid_command());
  p.feed("d CAPABILITY\r\n");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD d CAPABILITY #14"}));
  // Discarding in the middle of a literal drops the partial command.
  p.feed("e LOGIN {10}\r\n01234");
  BOOST_CHECK_EQUAL(drain(p), (V{"CONT 10"}));
  BOOST_CHECK(p.mid_command());
  p.discard_buffered();
  BOOST_CHECK(!p.mid_command());
  p.feed("f NOOP\r\n");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD f NOOP #8"}));
}

BOOST_AUTO_TEST_CASE(mid_command_tracks_partial_commands) {
  CommandParser p;
  p.feed("a NO");
  BOOST_CHECK(!p.next());
  BOOST_CHECK(p.mid_command());
  p.feed("OP\r\n");
  BOOST_REQUIRE(p.next());
  BOOST_CHECK(!p.mid_command());
  p.feed("b APPEND X {3+}\r\nab");
  BOOST_CHECK(!p.next());
  BOOST_CHECK(p.mid_command());
  p.feed("c\r\n");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD b APPEND X {3}abc #22"}));
  BOOST_CHECK(!p.mid_command());
}

BOOST_AUTO_TEST_CASE(large_literal_in_pieces_completes) {
  const std::size_t size = 20 * 1024 * 1024;
  CommandParser p;
  p.feed("a APPEND INBOX {" + std::to_string(size) + "}\r\n");
  auto ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_CHECK(ev->kind == Kind::continuation);
  std::string piece(64 * 1024, 'm');
  std::size_t events = 0;
  for (std::size_t sent = 0; sent < size; sent += piece.size()) {
    p.feed(piece);
    while (p.next()) ++events;
  }
  BOOST_CHECK_EQUAL(events, 0u);
  p.feed(" {3}\r\n");
  BOOST_CHECK_EQUAL(drain(p), (V{"CONT 3"}));
  p.feed("abc\r\n");
  ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_REQUIRE(ev->kind == Kind::command);
  BOOST_REQUIRE_EQUAL(ev->command.args.size(), 3u);
  BOOST_CHECK_EQUAL(ev->command.args[1].value.size(), size);
  BOOST_CHECK_EQUAL(ev->command.args[2].value, "abc");
  p = CommandParser();
  p.feed("a APPEND INBOX {" + std::to_string(size) + "+}\r\n");
  for (std::size_t sent = 0; sent < size; sent += piece.size()) {
    p.feed(piece);
    BOOST_CHECK(!p.next());
  }
  p.feed("\r\n");
  ev = p.next();
  BOOST_REQUIRE(ev);
  BOOST_REQUIRE(ev->kind == Kind::command);
  BOOST_CHECK_EQUAL(ev->command.args.at(1).value.size(), size);
  BOOST_CHECK_EQUAL(ev->command.size, size + std::string_view("a APPEND INBOX {20971520+}\r\n\r\n").size());
}

BOOST_AUTO_TEST_CASE(line_of_open_brackets_is_one_atom) {
  // '[' with no ']' after it on the line is an ordinary ATOM-CHAR; a long line of them stays linear.
  std::string atom = "x" + std::string(60000, '[');
  Command c = one_command("a SELECT " + atom + "\r\n");
  BOOST_REQUIRE_EQUAL(c.args.size(), 1u);
  BOOST_CHECK_EQUAL(c.args[0].value, atom);
  // The last ']' of the line decides: "[a" before it opens a section, "[" after it does not.
  Command d = one_command("a X b[c d] e[\r\n");
  BOOST_REQUIRE_EQUAL(d.args.size(), 2u);
  BOOST_CHECK_EQUAL(d.args[0].value, "b[c d]");
  BOOST_CHECK_EQUAL(d.args[1].value, "e[");
}

BOOST_AUTO_TEST_CASE(take_buffered_hands_over_the_unconsumed_bytes) {
  CommandParser p;
  p.feed("a COMPRESS DEFLATE\r\n\x78\x9c\x01");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD a COMPRESS DEFLATE #20"}));
  BOOST_CHECK_EQUAL(p.take_buffered(), "\x78\x9c\x01");
  BOOST_CHECK_EQUAL(p.buffered(), 0u);
  p.feed("b NOOP\r\n");
  BOOST_CHECK_EQUAL(drain(p), (V{"CMD b NOOP #8"}));
}

BOOST_AUTO_TEST_SUITE_END()
