// IMAP argument converters (command_args.hpp): sequence sets, FETCH items and modifiers, SEARCH
// programs, SORT/THREAD, flags, dates, STATUS items and the response-side strings, with the examples
// of RFC 9051 §6.4.4/§6.4.5, RFC 4731, RFC 5182, RFC 5256 and RFC 7162.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "tern/imap/command_args.hpp"
#include "tern/imap/command_parser.hpp"

using namespace tern::imap;
using tern::ErrorCategory;

namespace {

// Arg trees are built here by a small test-only tokenizer that mirrors the framing parser's shapes
// (command.hpp): atoms (a '[' keeps spaces and parentheses up to the matching ']'), quoted strings
// with escapes removed, {n}\r\n literals, NIL, and lists. The real parser is tested on its own.
Arg atom(std::string v) {
  Arg a;
  a.type = Arg::Type::atom;
  a.value = std::move(v);
  return a;
}
Arg quoted(std::string v) {
  Arg a;
  a.type = Arg::Type::quoted;
  a.value = std::move(v);
  return a;
}
Arg literal(std::string v) {
  Arg a;
  a.type = Arg::Type::literal;
  a.value = std::move(v);
  return a;
}
Arg list(std::vector<Arg> items) {
  Arg a;
  a.type = Arg::Type::list;
  a.list = std::move(items);
  return a;
}

std::vector<Arg> tokens(std::string_view s, std::size_t& i, bool in_list) {
  std::vector<Arg> out;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ') {
      ++i;
    } else if (c == '(') {
      ++i;
      out.push_back(list(tokens(s, i, true)));
    } else if (c == ')') {
      BOOST_REQUIRE(in_list);
      ++i;
      return out;
    } else if (c == '"') {
      std::string v;
      for (++i; s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
        v += s[i];
      }
      ++i;
      out.push_back(quoted(v));
    } else if (c == '{') {
      std::size_t close = s.find('}', i);
      std::size_t n = std::stoul(std::string(s.substr(i + 1, close - i - 1)));
      i = close + 3;  // "}\r\n"
      out.push_back(literal(std::string(s.substr(i, n))));
      i += n;
    } else {
      std::string v;
      int depth = 0;
      while (i < s.size() && (depth > 0 || (s[i] != ' ' && s[i] != '(' && s[i] != ')'))) {
        if (s[i] == '[') ++depth;
        if (s[i] == ']' && depth > 0) --depth;
        v += s[i++];
      }
      Arg a = atom(v);
      if (v == "NIL" || v == "nil") a.type = Arg::Type::nil;
      out.push_back(a);
    }
  }
  BOOST_REQUIRE(!in_list);
  return out;
}

std::vector<Arg> args(std::string_view s) {
  std::size_t i = 0;
  return tokens(s, i, false);
}
Arg arg(std::string_view s) {
  auto v = args(s);
  BOOST_REQUIRE_EQUAL(v.size(), 1u);
  return v[0];
}

SequenceSet seq(std::vector<SeqRange> r) { return SequenceSet{std::move(r), false}; }

// SEARCH ------------------------------------------------------------------------------------------
SearchProgram search_ok(std::string_view s, bool allow_return = true) {
  auto a = args(s);
  auto r = parse_search(a, allow_return);
  BOOST_REQUIRE_MESSAGE(r.has_value(), "parse_search(" << s << "): " << (r ? "" : r.error().message));
  BOOST_REQUIRE(r->key.kind == SearchKeyKind::and_);
  return *r;
}
std::string search_err(std::string_view s, bool allow_return = true) {
  auto a = args(s);
  auto r = parse_search(a, allow_return);
  BOOST_REQUIRE_MESSAGE(!r.has_value(), "parse_search(" << s << ") should fail");
  BOOST_CHECK(r.error().category == ErrorCategory::invalid_argument);
  BOOST_CHECK(!r.error().message.empty());
  return r.error().message;
}

// A compact rendering of a key tree, for comparing whole programs.
std::string show(const SearchKey& k) {
  auto date = [](const SearchDate& d) {
    return std::to_string(d.year) + "-" + std::to_string(d.month) + "-" + std::to_string(d.day);
  };
  auto set = [](const SequenceSet& s) {
    if (s.saved) return std::string("$");
    std::string o;
    for (const auto& r : s.ranges) {
      if (!o.empty()) o += ',';
      o += r.first == SeqRange::kStar ? "*" : std::to_string(r.first);
      if (r.last != r.first) o += ":" + (r.last == SeqRange::kStar ? std::string("*") : std::to_string(r.last));
    }
    return o;
  };
  auto kids = [&](std::string name) {
    std::string o = name + "(";
    for (std::size_t i = 0; i < k.children.size(); ++i) o += (i ? " " : "") + show(k.children[i]);
    return o + ")";
  };
  switch (k.kind) {
    case SearchKeyKind::all: return "all";
    case SearchKeyKind::and_: return kids("and");
    case SearchKeyKind::or_: return kids("or");
    case SearchKeyKind::not_: return kids("not");
    case SearchKeyKind::sequence_set: return "seq " + set(k.set);
    case SearchKeyKind::uid: return "uid " + set(k.set);
    case SearchKeyKind::answered: return "answered";
    case SearchKeyKind::deleted: return "deleted";
    case SearchKeyKind::draft: return "draft";
    case SearchKeyKind::flagged: return "flagged";
    case SearchKeyKind::seen: return "seen";
    case SearchKeyKind::recent: return "recent";
    case SearchKeyKind::new_: return "new";
    case SearchKeyKind::old: return "old";
    case SearchKeyKind::unanswered: return "unanswered";
    case SearchKeyKind::undeleted: return "undeleted";
    case SearchKeyKind::undraft: return "undraft";
    case SearchKeyKind::unflagged: return "unflagged";
    case SearchKeyKind::unseen: return "unseen";
    case SearchKeyKind::keyword: return "keyword " + k.text;
    case SearchKeyKind::unkeyword: return "unkeyword " + k.text;
    case SearchKeyKind::bcc: return "bcc " + k.text;
    case SearchKeyKind::cc: return "cc " + k.text;
    case SearchKeyKind::from: return "from " + k.text;
    case SearchKeyKind::subject: return "subject " + k.text;
    case SearchKeyKind::to: return "to " + k.text;
    case SearchKeyKind::header: return "header " + k.field + ":" + k.text;
    case SearchKeyKind::body: return "body " + k.text;
    case SearchKeyKind::text: return "text " + k.text;
    case SearchKeyKind::before: return "before " + date(k.date);
    case SearchKeyKind::on: return "on " + date(k.date);
    case SearchKeyKind::since: return "since " + date(k.date);
    case SearchKeyKind::sentbefore: return "sentbefore " + date(k.date);
    case SearchKeyKind::senton: return "senton " + date(k.date);
    case SearchKeyKind::sentsince: return "sentsince " + date(k.date);
    case SearchKeyKind::savedbefore: return "savedbefore " + date(k.date);
    case SearchKeyKind::savedon: return "savedon " + date(k.date);
    case SearchKeyKind::savedsince: return "savedsince " + date(k.date);
    case SearchKeyKind::savedatesupported: return "savedatesupported";
    case SearchKeyKind::older: return "older " + std::to_string(k.number);
    case SearchKeyKind::younger: return "younger " + std::to_string(k.number);
    case SearchKeyKind::larger: return "larger " + std::to_string(k.number);
    case SearchKeyKind::smaller: return "smaller " + std::to_string(k.number);
    case SearchKeyKind::modseq: return "modseq " + k.field + "|" + k.text + "|" + std::to_string(k.number);
    case SearchKeyKind::emailid: return "emailid " + k.text;
    case SearchKeyKind::threadid: return "threadid " + k.text;
  }
  return "?";
}

std::string search_show(std::string_view s) { return show(search_ok(s).key); }

}  // namespace

// ================================================================================================
BOOST_AUTO_TEST_SUITE(imap_command_args)

BOOST_AUTO_TEST_CASE(sequence_sets) {
  using R = SeqRange;
  const auto star = R::kStar;
  BOOST_CHECK(*parse_sequence_set("1:4,7,9:*") == seq({{1, 4}, {7, 7}, {9, star}}));
  BOOST_CHECK(*parse_sequence_set("*") == seq({{star, star}}));
  BOOST_CHECK(*parse_sequence_set("*:3") == seq({{star, 3}}));
  BOOST_CHECK(*parse_sequence_set("4:2") == seq({{4, 2}}));
  BOOST_CHECK(*parse_sequence_set("4294967295") == seq({{4294967295u, 4294967295u}}));
  auto saved = parse_sequence_set("$");
  BOOST_REQUIRE(saved);
  BOOST_CHECK(saved->saved);
  BOOST_CHECK(saved->ranges.empty());
  // RFC 9051 §9 example "2,4:7,9,12:*" for a 15-message mailbox
  auto s = parse_sequence_set("2,4:7,9,12:*");
  BOOST_REQUIRE(s);
  std::vector<std::uint32_t> in;
  for (std::uint32_t n = 1; n <= 15; ++n)
    if (s->contains(n, 15)) in.push_back(n);
  BOOST_CHECK((in == std::vector<std::uint32_t>{2, 4, 5, 6, 7, 9, 12, 13, 14, 15}));

  for (const char* bad : {"", "0", "1:0", "01", "1:", ":1", ",1", "1,", "1,,2", "1:2:3", "4294967296", "a",
                          "1 2", "$1", "$,1", "**", "-1", "1:*x", "99999999999999999999999"}) {
    auto r = parse_sequence_set(bad);
    BOOST_CHECK_MESSAGE(!r, "should reject \"" << bad << "\"");
    if (!r) BOOST_CHECK(r.error().category == ErrorCategory::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(flags) {
  // RFC 9051 §6.4.6: A003 STORE 2:4 +FLAGS (\Deleted)
  auto f = parse_flags(arg("(\\Deleted)"));
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->system, tern::store::flag_deleted);
  BOOST_CHECK(f->keywords.empty());

  f = parse_flags(arg("(\\Seen \\answered \\FLAGGED \\Draft \\Deleted $Forwarded Junk $Forwarded $Atype)"));
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->system, tern::store::flag_seen | tern::store::flag_answered | tern::store::flag_flagged |
                                   tern::store::flag_draft | tern::store::flag_deleted);
  BOOST_CHECK((f->keywords == std::vector<std::string>{"$Atype", "$Forwarded", "Junk"}));

  f = parse_flags(arg("\\Seen"));  // a single flag atom (STORE)
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->system, tern::store::flag_seen);
  f = parse_flags(arg("()"));  // STORE FLAGS () clears
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->system, 0u);
  BOOST_CHECK(f->keywords.empty());

  // \Recent: refused, unless allowed (and then ignored)
  auto r = parse_flags(arg("(\\Seen \\Recent)"));
  BOOST_REQUIRE(!r);
  BOOST_CHECK(r.error().category == ErrorCategory::invalid_argument);
  f = parse_flags(arg("(\\Seen \\Recent)"), true);
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->system, tern::store::flag_seen);

  // NIL is a valid flag-keyword atom: Dovecot stores "STORE 1 +FLAGS NIL" as the keyword NIL (imaptest nil)
  f = parse_flags(arg("NIL"));
  BOOST_REQUIRE(f);
  BOOST_CHECK(f->keywords == std::vector<std::string>{"NIL"});
  for (const char* bad : {"(\\Unknown)", "(\\*)", "(\"Seen\")", "((\\Seen))", "\"x\"", "(a*b)", "(a%)"})
    BOOST_CHECK_MESSAGE(!parse_flags(arg(bad)), "should reject " << bad);
  BOOST_CHECK(!parse_flags(literal("$Junk")));
}

BOOST_AUTO_TEST_CASE(format_flags_order) {
  tern::store::MessageFlags f;
  BOOST_CHECK_EQUAL(format_flags(f), "()");
  BOOST_CHECK_EQUAL(format_flags(f, true), "(\\Recent)");
  f.system = tern::store::flag_seen | tern::store::flag_draft | tern::store::flag_answered |
             tern::store::flag_deleted | tern::store::flag_flagged;
  f.keywords = {"$Forwarded", "Junk"};
  BOOST_CHECK_EQUAL(format_flags(f), "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Junk)");
  // round trip through the parser
  auto back = parse_flags(arg(format_flags(f)));
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == f);
}

BOOST_AUTO_TEST_CASE(fetch_macros_and_simple_items) {
  using K = FetchItem::Kind;
  auto kinds = [](const std::vector<FetchItem>& v) {
    std::vector<K> k;
    for (const auto& i : v) k.push_back(i.kind);
    return k;
  };
  auto all = parse_fetch_items(arg("ALL"));
  BOOST_REQUIRE(all);
  BOOST_CHECK((kinds(*all) == std::vector<K>{K::flags, K::internaldate, K::rfc822_size, K::envelope}));
  auto fast = parse_fetch_items(arg("fast"));
  BOOST_REQUIRE(fast);
  BOOST_CHECK((kinds(*fast) == std::vector<K>{K::flags, K::internaldate, K::rfc822_size}));
  auto full = parse_fetch_items(arg("Full"));
  BOOST_REQUIRE(full);
  BOOST_CHECK((kinds(*full) == std::vector<K>{K::flags, K::internaldate, K::rfc822_size, K::envelope, K::body}));

  auto l = parse_fetch_items(arg("(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE MODSEQ EMAILID "
                                 "THREADID SAVEDATE RFC822 RFC822.HEADER RFC822.TEXT)"));
  BOOST_REQUIRE(l);
  BOOST_CHECK((kinds(*l) == std::vector<K>{K::uid, K::flags, K::internaldate, K::rfc822_size, K::envelope, K::body,
                                           K::bodystructure, K::modseq, K::emailid, K::threadid, K::savedate,
                                           K::rfc822, K::rfc822_header, K::rfc822_text}));
  auto one = parse_fetch_items(arg("uid"));
  BOOST_REQUIRE(one);
  BOOST_CHECK((kinds(*one) == std::vector<K>{K::uid}));

  // IMAP4rev2 has no RFC822* items
  BOOST_CHECK(!parse_fetch_items(arg("RFC822"), false));
  BOOST_CHECK(!parse_fetch_items(arg("(FLAGS RFC822.HEADER)"), false));
  BOOST_CHECK(parse_fetch_items(arg("(FLAGS BODY.PEEK[HEADER])"), false));

  for (const char* bad : {"()", "(FLAGS ALL)", "(FAST)", "FOO", "(UID FOO)", "BODY.PEEK", "BINARY", "NIL", "\"UID\"",
                          "((UID))", "RFC822.SIZE.X", "BODYX[]"})
    BOOST_CHECK_MESSAGE(!parse_fetch_items(arg(bad)), "should reject " << bad);
}

BOOST_AUTO_TEST_CASE(fetch_sections) {
  using K = FetchItem::Kind;
  using T = Section::Text;
  auto item = [](std::string_view s) {
    auto r = parse_fetch_items(arg(s));
    BOOST_REQUIRE_MESSAGE(r, s << ": " << (r ? "" : r.error().message));
    BOOST_REQUIRE_EQUAL(r->size(), 1u);
    return (*r)[0];
  };
  // RFC 9051 §6.4.5: A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
  auto r = parse_fetch_items(arg("(FLAGS BODY[HEADER.FIELDS (DATE FROM)])"));
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r->size(), 2u);
  BOOST_CHECK((*r)[0].kind == K::flags);
  BOOST_CHECK((*r)[1].kind == K::body_section);
  BOOST_CHECK(!(*r)[1].peek);
  BOOST_CHECK((*r)[1].section.text == T::header_fields);
  BOOST_CHECK(((*r)[1].section.fields == std::vector<std::string>{"DATE", "FROM"}));
  BOOST_CHECK((*r)[1].section.part.empty());

  // the part specifiers of the RFC 9051 §6.4.5 example message
  struct Case {
    const char* spec;
    std::vector<std::uint32_t> part;
    T text;
  };
  const Case cases[] = {
      {"HEADER", {}, T::header},        {"TEXT", {}, T::text},         {"1", {1}, T::full},
      {"2", {2}, T::full},              {"3", {3}, T::full},           {"3.HEADER", {3}, T::header},
      {"3.TEXT", {3}, T::text},         {"3.1", {3, 1}, T::full},      {"3.2", {3, 2}, T::full},
      {"4", {4}, T::full},              {"4.1", {4, 1}, T::full},      {"4.1.MIME", {4, 1}, T::mime},
      {"4.2", {4, 2}, T::full},         {"4.2.HEADER", {4, 2}, T::header}, {"4.2.TEXT", {4, 2}, T::text},
      {"4.2.1", {4, 2, 1}, T::full},    {"4.2.2", {4, 2, 2}, T::full}, {"4.2.2.1", {4, 2, 2, 1}, T::full},
      {"4.2.2.2", {4, 2, 2, 2}, T::full}, {"", {}, T::full},           {"header", {}, T::header},
      {"1.mime", {1}, T::mime},
  };
  for (const auto& c : cases) {
    FetchItem it = item(std::string("BODY[") + c.spec + "]");
    BOOST_CHECK(it.kind == K::body_section);
    BOOST_CHECK_MESSAGE(it.section.part == c.part, c.spec);
    BOOST_CHECK_MESSAGE(it.section.text == c.text, c.spec);
    BOOST_CHECK(!it.partial);
  }

  // the brief's example: a peek with a nested part, field list and partial in ONE atom
  FetchItem it = item("BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>");
  BOOST_CHECK(it.kind == K::body_section);
  BOOST_CHECK(it.peek);
  BOOST_CHECK((it.section.part == std::vector<std::uint32_t>{1, 2}));
  BOOST_CHECK(it.section.text == T::header_fields);
  BOOST_CHECK((it.section.fields == std::vector<std::string>{"From", "To"}));
  BOOST_REQUIRE(it.partial);
  BOOST_CHECK_EQUAL(it.partial->offset, 0u);
  BOOST_CHECK_EQUAL(it.partial->length, 100u);

  it = item("body.peek[header.fields.not (\"X-Spam\" Received \"List-Id\")]");
  BOOST_CHECK(it.section.text == T::header_fields_not);
  BOOST_CHECK((it.section.fields == std::vector<std::string>{"X-Spam", "Received", "List-Id"}));
  BOOST_CHECK(it.peek);

  it = item("BODY[]<1024.4294967295>");
  BOOST_REQUIRE(it.partial);
  BOOST_CHECK_EQUAL(it.partial->offset, 1024u);
  BOOST_CHECK_EQUAL(it.partial->length, 4294967295u);

  // RFC 3516 BINARY
  it = item("BINARY[1.2]");
  BOOST_CHECK(it.kind == K::binary);
  BOOST_CHECK(!it.peek);
  BOOST_CHECK((it.section.part == std::vector<std::uint32_t>{1, 2}));
  it = item("BINARY.PEEK[1]<0.1024>");
  BOOST_CHECK(it.kind == K::binary);
  BOOST_CHECK(it.peek);
  BOOST_REQUIRE(it.partial);
  BOOST_CHECK_EQUAL(it.partial->length, 1024u);
  it = item("BINARY.SIZE[2]");
  BOOST_CHECK(it.kind == K::binary_size);
  BOOST_CHECK((it.section.part == std::vector<std::uint32_t>{2}));
  it = item("BINARY[]");
  BOOST_CHECK(it.kind == K::binary);
  BOOST_CHECK(it.section.part.empty());

  for (const char* bad : {"BODY[MIME]",  // MIME needs a part
                          "BODY[0]", "BODY[01]", "BODY[1.]", "BODY[.1]", "BODY[1..2]", "BODY[1.FOO]", "BODY[HEADERS]",
                          "BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (A B]",
                          "BODY[HEADER.FIELDS(A)]", "BODY[HEADER.FIELDS (\"A)]", "BODY[HEADER.FIELDS (\"\")]",
                          "BODY[HEADER.FIELDS (\"A:B\")]", "BODY[TEXT ]", "BODY[1", "BODY[]<0>", "BODY[]<0.0>",
                          "BODY[]<.5>", "BODY[]<1.2", "BODY[]x", "BODY[]<a.b>", "BODY[]<4294967296.1>",
                          "BINARY[HEADER]", "BINARY[1.TEXT]", "BINARY[1.MIME]", "BINARY.SIZE[1]<0.10>",
                          "BINARY.PEEK.SIZE[1]", "BODYSTRUCTURE[1]", "UID[1]"})
    BOOST_CHECK_MESSAGE(!parse_fetch_items(arg(bad)), "should reject " << bad);
  // errors are sentences for "tag BAD ..."
  auto e = parse_fetch_items(arg("BODY[MIME]"));
  BOOST_REQUIRE(!e);
  BOOST_CHECK(e.error().category == ErrorCategory::invalid_argument);
  BOOST_CHECK(!e.error().message.empty());
}

BOOST_AUTO_TEST_CASE(fetch_modifiers) {
  // RFC 7162 §3.1.4.1: a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)
  auto m = parse_fetch_modifiers(arg("(CHANGEDSINCE 12345)"));
  BOOST_REQUIRE(m);
  BOOST_REQUIRE(m->changedsince);
  BOOST_CHECK_EQUAL(*m->changedsince, 12345u);
  BOOST_CHECK(!m->vanished);
  // RFC 7162 §3.2.6: s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)
  m = parse_fetch_modifiers(arg("(CHANGEDSINCE 12345 VANISHED)"));
  BOOST_REQUIRE(m);
  BOOST_CHECK(m->vanished);
  BOOST_CHECK_EQUAL(*m->changedsince, 12345u);
  m = parse_fetch_modifiers(arg("(vanished changedsince 9223372036854775807)"));
  BOOST_REQUIRE(m);
  BOOST_CHECK_EQUAL(*m->changedsince, 9223372036854775807ull);
  for (const char* bad : {"()", "(CHANGEDSINCE)", "(CHANGEDSINCE x)", "(CHANGEDSINCE 9223372036854775808)",
                          "(CHANGEDSINCE 1 CHANGEDSINCE 2)", "(VANISHED VANISHED)", "(FOO)", "CHANGEDSINCE",
                          "(CHANGEDSINCE -1)", "(CHANGEDSINCE (1))"})
    BOOST_CHECK_MESSAGE(!parse_fetch_modifiers(arg(bad)), "should reject " << bad);
}

BOOST_AUTO_TEST_CASE(date_time) {
  // RFC 9051 §9 example INTERNALDATE "17-Jul-1996 02:44:25 -0700" = 1996-07-17T09:44:25Z
  BOOST_CHECK_EQUAL(*parse_date_time("17-Jul-1996 02:44:25 -0700"), 837596665);
  BOOST_CHECK_EQUAL(*parse_date_time(" 7-Jul-1996 02:44:25 -0700"), 836732665);
  BOOST_CHECK_EQUAL(*parse_date_time("7-Jul-1996 02:44:25 -0700"), 836732665);
  BOOST_CHECK_EQUAL(*parse_date_time("07-JUL-1996 09:44:25 +0000"), 836732665);
  BOOST_CHECK_EQUAL(*parse_date_time("08-jul-1996 01:14:25 +1530"), 836732665);
  BOOST_CHECK_EQUAL(*parse_date_time("29-Feb-2000 23:59:59 +0000"), 951868799);
  BOOST_CHECK_EQUAL(*parse_date_time("01-Jan-1970 00:00:00 +0100"), -3600);
  for (const char* bad : {"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 0700",
                          "17-Jul-1996 02:44:25 -07", "17-Jux-1996 02:44:25 -0700", "32-Jul-1996 02:44:25 -0700",
                          "29-Feb-1999 02:44:25 -0700", "00-Jul-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700",
                          "17-Jul-1996 24:00:00 -0700", "17-Jul-1996 02:60:25 -0700", "17-Jul-1996 2:44:25 -0700",
                          "17-Jul-1996 02:44:25 -0760", "17-Jul-1996  02:44:25 -0700", "117-Jul-1996 02:44:25 -0700",
                          "  7-Jul-1996 02:44:25 -0700", " 17-Jul-1996 02:44:25 -0700",
                          "17-Jul-1996 02:44:25 -0700 ", "17-Jul-19960 02:44:25 -0700"}) {
    auto r = parse_date_time(bad);
    BOOST_CHECK_MESSAGE(!r, "should reject \"" << bad << "\"");
    if (!r) BOOST_CHECK(r.error().category == ErrorCategory::invalid_argument);
  }

  BOOST_CHECK_EQUAL(format_date_time(0), "01-Jan-1970 00:00:00 +0000");
  BOOST_CHECK_EQUAL(format_date_time(837596665, -420), "17-Jul-1996 02:44:25 -0700");
  BOOST_CHECK_EQUAL(format_date_time(836732665), "07-Jul-1996 09:44:25 +0000");
  BOOST_CHECK_EQUAL(format_date_time(836732665, 930), "08-Jul-1996 01:14:25 +1530");
  BOOST_CHECK_EQUAL(format_date_time(951868799), "29-Feb-2000 23:59:59 +0000");
  BOOST_CHECK_EQUAL(format_date_time(-1), "31-Dec-1969 23:59:59 +0000");
  BOOST_CHECK_EQUAL(format_date_time(0, -60), "31-Dec-1969 23:00:00 -0100");
  // round trips across zones
  for (std::int64_t t : {0LL, 837596665LL, 1700000000LL, 4102444800LL})
    for (int z : {0, -420, 60, 330, -720, 840})
      BOOST_CHECK_EQUAL(*parse_date_time(format_date_time(t, z)), t);
}

BOOST_AUTO_TEST_CASE(strings) {
  BOOST_CHECK_EQUAL(imap_string("abc"), "\"abc\"");
  BOOST_CHECK_EQUAL(imap_string(""), "\"\"");
  BOOST_CHECK_EQUAL(imap_string("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
  BOOST_CHECK_EQUAL(imap_string("NIL"), "\"NIL\"");
  BOOST_CHECK_EQUAL(imap_string("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");  // 8-bit: literal (IMAP4rev1 clients)
  BOOST_CHECK_EQUAL(imap_string("a\r\nb"), "{4}\r\na\r\nb");
  BOOST_CHECK_EQUAL(imap_string("a\nb"), "{3}\r\na\nb");
  BOOST_CHECK_EQUAL(imap_string(std::string("a\0b", 3)), std::string("{3}\r\na\0b", 8));
  BOOST_CHECK_EQUAL(imap_string("tab\there"), "\"tab\there\"");
  std::string k1024(1024, 'x'), k1025(1025, 'x');
  BOOST_CHECK_EQUAL(imap_string(k1024), "\"" + k1024 + "\"");
  BOOST_CHECK_EQUAL(imap_string(k1025), "{1025}\r\n" + k1025);

  BOOST_CHECK_EQUAL(imap_nstring(std::nullopt), "NIL");
  BOOST_CHECK_EQUAL(imap_nstring(std::string_view("")), "\"\"");
  BOOST_CHECK_EQUAL(imap_nstring(std::string_view("x")), "\"x\"");

  BOOST_CHECK_EQUAL(imap_astring("INBOX"), "INBOX");
  BOOST_CHECK_EQUAL(imap_astring("Lists/tern.dev"), "Lists/tern.dev");
  BOOST_CHECK_EQUAL(imap_astring("NIL"), "\"NIL\"");
  BOOST_CHECK_EQUAL(imap_astring("nil"), "\"nil\"");
  BOOST_CHECK_EQUAL(imap_astring(""), "\"\"");
  BOOST_CHECK_EQUAL(imap_astring("Sent Items"), "\"Sent Items\"");
  for (const char* s : {"a(b", "a)b", "a{b", "a%", "a*", "a\"b", "a\\b", "a]b"})
    BOOST_CHECK_EQUAL(imap_astring(s).front(), '"');
  BOOST_CHECK_EQUAL(imap_astring("\xc3\xa9"), "{2}\r\n\xc3\xa9");
  BOOST_CHECK_EQUAL(imap_astring("[Gmail]/Sent"), "\"[Gmail]/Sent\"");
}

BOOST_AUTO_TEST_CASE(status_items) {
  // RFC 9051 §6.3.11: A042 STATUS blurdybloop (UIDNEXT MESSAGES)
  auto s = parse_status_items(arg("(UIDNEXT MESSAGES)"));
  BOOST_REQUIRE(s);
  BOOST_CHECK((*s == std::vector<std::string>{"UIDNEXT", "MESSAGES"}));
  s = parse_status_items(arg("(messages uidnext uidvalidity unseen deleted size recent highestmodseq appendlimit "
                             "mailboxid MESSAGES)"));
  BOOST_REQUIRE(s);
  BOOST_CHECK((*s == std::vector<std::string>{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE",
                                              "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID"}));
  for (const char* bad : {"()", "MESSAGES", "(FOO)", "(MESSAGES \"UIDNEXT\")", "((MESSAGES))", "NIL"})
    BOOST_CHECK_MESSAGE(!parse_status_items(arg(bad)), "should reject " << bad);
}

BOOST_AUTO_TEST_CASE(sort_and_thread) {
  // RFC 5256 §4: A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
  auto c = parse_sort_criteria(arg("(SUBJECT REVERSE DATE)"));
  BOOST_REQUIRE(c);
  BOOST_CHECK((*c == std::vector<SortCriterion>{{SortKey::subject, false}, {SortKey::date, true}}));
  c = parse_sort_criteria(arg("(arrival cc Date from SIZE subject to DISPLAYFROM reverse displayto)"));
  BOOST_REQUIRE(c);
  BOOST_CHECK((*c == std::vector<SortCriterion>{{SortKey::arrival, false},
                                                {SortKey::cc, false},
                                                {SortKey::date, false},
                                                {SortKey::from, false},
                                                {SortKey::size, false},
                                                {SortKey::subject, false},
                                                {SortKey::to, false},
                                                {SortKey::displayfrom, false},
                                                {SortKey::displayto, true}}));
  for (const char* bad : {"()", "SUBJECT", "(REVERSE)", "(DATE REVERSE)", "(REVERSE REVERSE DATE)", "(FOO)",
                          "(\"DATE\")", "((DATE))"})
    BOOST_CHECK_MESSAGE(!parse_sort_criteria(arg(bad)), "should reject " << bad);

  // RFC 5256 §4: THREAD ORDEREDSUBJECT / REFERENCES
  BOOST_CHECK(*parse_thread_algorithm(arg("ORDEREDSUBJECT")) == ThreadAlgorithm::orderedsubject);
  BOOST_CHECK(*parse_thread_algorithm(arg("references")) == ThreadAlgorithm::references);
  BOOST_CHECK(!parse_thread_algorithm(arg("REFS")));
  BOOST_CHECK(!parse_thread_algorithm(arg("\"REFERENCES\"")));
  BOOST_CHECK(!parse_thread_algorithm(arg("(REFERENCES)")));
}

// --- SEARCH ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(search_rfc9051_examples) {
  // RFC 9051 §6.4.4 / RFC 4731 §3.1
  auto p = search_ok("RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
  BOOST_CHECK(p.esearch);
  BOOST_CHECK(p.ret.min && p.ret.count && !p.ret.max && !p.ret.all && !p.ret.save);
  BOOST_CHECK(p.charset.empty());
  BOOST_CHECK_EQUAL(show(p.key), "and(flagged since 1994-2-1 not(from Smith))");

  // an empty RETURN () means ALL: esearch with no option set (format_esearch_response prints ALL)
  p = search_ok("RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
  BOOST_CHECK(p.esearch);
  BOOST_CHECK(!p.ret.any());
  BOOST_CHECK_EQUAL(show(p.key), "and(flagged since 1994-2-1 not(from Smith))");

  p = search_ok("TEXT \"string not in mailbox\"");
  BOOST_CHECK(!p.esearch);
  BOOST_CHECK_EQUAL(show(p.key), "and(text string not in mailbox)");

  // CHARSET UTF-8 with a literal
  p = search_ok("CHARSET UTF-8 TEXT {12}\r\n\xe5\xb8\xb8\xe7\x94\xa8\xe6\xbc\xa2\xe5\xad\x97");
  BOOST_CHECK_EQUAL(p.charset, "UTF-8");
  BOOST_REQUIRE_EQUAL(p.key.children.size(), 1u);
  BOOST_CHECK(p.key.children[0].kind == SearchKeyKind::text);
  BOOST_CHECK_EQUAL(p.key.children[0].text, "\xe5\xb8\xb8\xe7\x94\xa8\xe6\xbc\xa2\xe5\xad\x97");
  p = search_ok("charset us-ascii ALL");
  BOOST_CHECK_EQUAL(p.charset, "us-ascii");

  // unknown charset: NO [BADCHARSET]
  auto a = args("CHARSET WINDOWS-1252 SUBJECT \"x\"");
  auto r = parse_search(a);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(r.error().category == ErrorCategory::unsupported);
  BOOST_CHECK_EQUAL(r.error().message, "BADCHARSET");
  a = args("CHARSET \"ISO-8859-1\" ALL");
  r = parse_search(a);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().message, "BADCHARSET");

  // RFC 4731 §3.1 / RFC 5182 examples
  p = search_ok("RETURN (MIN) UNSEEN");
  BOOST_CHECK(p.ret.min && !p.ret.count);
  p = search_ok("RETURN (MIN MAX) 1:5000");
  BOOST_CHECK(p.ret.min && p.ret.max);
  BOOST_CHECK_EQUAL(show(p.key), "and(seq 1:5000)");
  p = search_ok("RETURN (ALL) 4:18,21,28");
  BOOST_CHECK(p.ret.all);
  BOOST_CHECK_EQUAL(show(p.key), "and(seq 4:18,21,28)");
  p = search_ok("RETURN (COUNT) DELETED");
  BOOST_CHECK(p.ret.count);
  p = search_ok("RETURN (SAVE) SINCE 28-Oct-2006 NOT FROM \"eric\"");
  BOOST_CHECK(p.ret.save && !p.ret.min);
  BOOST_CHECK_EQUAL(show(p.key), "and(since 2006-10-28 not(from eric))");
  p = search_ok("RETURN (SAVE MIN) UNSEEN");
  BOOST_CHECK(p.ret.save && p.ret.min);
  p = search_ok("$ SMALLER 4096");
  BOOST_CHECK_EQUAL(show(p.key), "and(seq $ smaller 4096)");
  p = search_ok("UID $ UNDELETED");
  BOOST_CHECK_EQUAL(show(p.key), "and(uid $ undeleted)");
  p = search_ok("OR $ 1:10 SENTBEFORE 1-Jan-2009");
  BOOST_CHECK_EQUAL(show(p.key), "and(or(seq $ seq 1:10) sentbefore 2009-1-1)");
  p = search_ok("return (count min) charset utf-8 all");
  BOOST_CHECK(p.esearch && p.ret.count && p.ret.min);
  BOOST_CHECK_EQUAL(p.charset, "utf-8");

  // RETURN where ESEARCH is not available; RETURN options that do not exist
  search_err("RETURN (COUNT) ALL", false);
  search_err("RETURN (PARTIAL 1:10) ALL");
  search_err("RETURN (FOO) ALL");
  search_err("RETURN ALL");
  search_err("RETURN");
  search_err("RETURN (COUNT)");
  search_err("CHARSET UTF-8");
  search_err("CHARSET");
  search_err("ALL CHARSET UTF-8");
  search_err("ALL RETURN (MIN)");
  search_err("CHARSET UTF-8 RETURN (MIN) ALL");
  p = search_ok("ALL", false);
  BOOST_CHECK(!p.esearch);
}

BOOST_AUTO_TEST_CASE(search_all_keys) {
  BOOST_CHECK_EQUAL(search_show("ALL ANSWERED DELETED DRAFT FLAGGED SEEN RECENT NEW OLD"),
                    "and(all answered deleted draft flagged seen recent new old)");
  BOOST_CHECK_EQUAL(search_show("unanswered Undeleted UNDRAFT unflagged UNSEEN savedatesupported"),
                    "and(unanswered undeleted undraft unflagged unseen savedatesupported)");
  BOOST_CHECK_EQUAL(search_show("KEYWORD $Forwarded UNKEYWORD Junk"), "and(keyword $Forwarded unkeyword Junk)");
  BOOST_CHECK_EQUAL(search_show("BCC a CC \"b c\" FROM {3}\r\nx y SUBJECT hello TO d BODY e TEXT f"),
                    "and(bcc a cc b c from x y subject hello to d body e text f)");
  BOOST_CHECK_EQUAL(search_show("SUBJECT NIL"), "and(subject NIL)");  // the atom NIL as a search string
  BOOST_CHECK_EQUAL(search_show("HEADER Message-ID \"<x@y>\" HEADER \"X-Spam\" \"\""),
                    "and(header Message-ID:<x@y> header X-Spam:)");
  BOOST_CHECK_EQUAL(search_show("BEFORE 1-Feb-1994 ON \"01-feb-1994\" SINCE 29-Feb-2000"),
                    "and(before 1994-2-1 on 1994-2-1 since 2000-2-29)");
  BOOST_CHECK_EQUAL(search_show("SENTBEFORE 31-Dec-1999 SENTON 1-Jan-2000 SENTSINCE 2-JAN-2000"),
                    "and(sentbefore 1999-12-31 senton 2000-1-1 sentsince 2000-1-2)");
  // RFC 8514
  BOOST_CHECK_EQUAL(search_show("SAVEDBEFORE 1-Mar-2020 SAVEDON 2-Mar-2020 SAVEDSINCE 3-Mar-2020"),
                    "and(savedbefore 2020-3-1 savedon 2020-3-2 savedsince 2020-3-3)");
  // RFC 8474 §6: objectids are 1*255 of ALPHA / DIGIT / "_" / "-"
  BOOST_CHECK_EQUAL(search_show("EMAILID E0af-12_x THREADID \"T64b478a75b7ea9\""),
                    "and(emailid E0af-12_x threadid T64b478a75b7ea9)");
  search_err("EMAILID");
  search_err("EMAILID a.b");
  search_err("THREADID \"\"");
  search_err("EMAILID " + std::string(256, 'a'));
  BOOST_CHECK_EQUAL(search_show("EMAILID " + std::string(255, 'a')), "and(emailid " + std::string(255, 'a') + ")");
  // RFC 5032
  BOOST_CHECK_EQUAL(search_show("OLDER 3600 YOUNGER 86400"), "and(older 3600 younger 86400)");
  BOOST_CHECK_EQUAL(search_show("LARGER 0 SMALLER 10000000000"), "and(larger 0 smaller 10000000000)");
  BOOST_CHECK_EQUAL(search_show("1:4,7 UID 9:* * UID $"), "and(seq 1:4,7 uid 9:* seq * uid $)");
  BOOST_CHECK_EQUAL(search_show("(FROM a TO b) (SEEN)"), "and(and(from a to b) and(seen))");
  BOOST_CHECK_EQUAL(search_show("OR (FROM a TO b) NOT OR SEEN DRAFT"),
                    "and(or(and(from a to b) not(or(seen draft))))");
  BOOST_CHECK_EQUAL(search_show("NOT NOT 5"), "and(not(not(seq 5)))");
}

BOOST_AUTO_TEST_CASE(search_modseq_rfc7162) {
  // RFC 7162 §3.1.5: a SEARCH MODSEQ "/flags/\\draft" all 620162338
  auto p = search_ok("MODSEQ \"/flags/\\\\draft\" all 620162338");
  BOOST_REQUIRE_EQUAL(p.key.children.size(), 1u);
  const SearchKey& k = p.key.children[0];
  BOOST_CHECK(k.kind == SearchKeyKind::modseq);
  BOOST_CHECK_EQUAL(k.field, "/flags/\\draft");
  BOOST_CHECK_EQUAL(k.text, "all");
  BOOST_CHECK_EQUAL(k.number, 620162338u);
  // RFC 7162 §3.1.5: t SEARCH OR NOT MODSEQ 720162338 LARGER 50000
  BOOST_CHECK_EQUAL(search_show("OR NOT MODSEQ 720162338 LARGER 50000"),
                    "and(or(not(modseq ||720162338) larger 50000))");
  BOOST_CHECK_EQUAL(search_show("MODSEQ \"/flags/$MDNSent\" PRIV 0"), "and(modseq /flags/$MDNSent|priv|0)");
  BOOST_CHECK_EQUAL(search_show("modseq \"/flags/\\\\Seen\" Shared 9223372036854775807 ALL"),
                    "and(modseq /flags/\\Seen|shared|9223372036854775807 all)");
  search_err("MODSEQ");
  search_err("MODSEQ x");
  search_err("MODSEQ 9223372036854775808");
  search_err("MODSEQ \"/flags/\\\\draft\" 5");
  search_err("MODSEQ \"/flags/\\\\draft\" mine 5");
  search_err("MODSEQ \"/flags/\\\\draft\" all");
  search_err("MODSEQ \"/vendor/x\" all 5");
  search_err("MODSEQ \"/flags/\" all 5");
}

BOOST_AUTO_TEST_CASE(search_errors) {
  for (const char* bad : {"", "FOO", "SUBJECT", "HEADER X", "HEADER", "FROM (a)", "KEYWORD", "KEYWORD \\Seen",
                          "KEYWORD (a)", "UNKEYWORD a*b", "BEFORE", "BEFORE 1994-02-01", "BEFORE 30-Feb-1994",
                          "ON 1-Feb-94", "SINCE Feb-1-1994", "SENTON \"1-Feb-1994 \"", "SAVEDON x",
                          "LARGER", "LARGER x", "LARGER -1", "SMALLER 9223372036854775808", "OLDER 0", "YOUNGER",
                          "OLDER 4294967296", "UID", "UID x", "UID 0", "UID \"1:2\"", "1:", "0", "1,,2", "$$",
                          "NOT", "OR SEEN", "OR", "()", "SEEN ()", "\"SEEN\"", "{4}\r\nSEEN", "NIL",
                          "CHARSET UTF-8 FOO", "SEEN BAR", "ALL RETURN"})
    search_err(bad);
  // the message names what was wrong
  BOOST_CHECK_NE(search_err("FLAGGED FROBNICATE").find("FROBNICATE"), std::string::npos);
  BOOST_CHECK_NE(search_err("BEFORE yesterday").find("BEFORE"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(search_nesting_is_bounded) {
  // 32 nested NOTs are fine; 33 are refused (bounded recursion)
  std::string ok, deep;
  for (int i = 0; i < 32; ++i) ok += "NOT ";
  ok += "SEEN";
  auto p = search_ok(ok);
  const SearchKey* k = &p.key.children[0];
  int depth = 0;
  while (k->kind == SearchKeyKind::not_) {
    k = &k->children[0];
    ++depth;
  }
  BOOST_CHECK_EQUAL(depth, 32);
  BOOST_CHECK(k->kind == SearchKeyKind::seen);
  deep = "NOT " + ok;
  search_err(deep);

  // the same through parenthesised groups and OR chains
  std::string groups = std::string(32, '(') + "SEEN" + std::string(32, ')');
  search_ok(groups);
  search_err("(" + groups + ")");
  std::string ors;
  for (int i = 0; i < 40; ++i) ors += "OR SEEN ";
  ors += "DRAFT";
  search_err(ors);
  // a very long flat conjunction is not nesting
  std::string flat;
  for (int i = 0; i < 1000; ++i) flat += "SEEN ";
  BOOST_CHECK_EQUAL(search_ok(flat).key.children.size(), 1000u);
}

// The converters on the trees the real framing parser builds (command_parser.hpp), so the shapes
// assumed above (bracket sections in one atom, NIL, quoted escapes, literals) hold end to end.
BOOST_AUTO_TEST_CASE(through_the_command_parser) {
  auto command = [](std::string_view wire) {
    CommandParser parser;
    parser.feed(wire);
    std::optional<CommandParser::Event> ev;
    while ((ev = parser.next()) && ev->kind == CommandParser::Event::Kind::continuation) {
    }
    BOOST_REQUIRE(ev);
    BOOST_REQUIRE_MESSAGE(ev->kind == CommandParser::Event::Kind::command, wire << ": " << ev->message);
    return ev->command;
  };

  Command c = command("a1 UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From \"To\")]<0.100> BINARY.SIZE[3]) "
                      "(CHANGEDSINCE 12345 VANISHED)\r\n");
  BOOST_REQUIRE_EQUAL(c.args.size(), 4u);
  BOOST_CHECK(*parse_sequence_set(c.args[1].value) == seq({{1, SeqRange::kStar}}));
  auto items = parse_fetch_items(c.args[2]);
  BOOST_REQUIRE_MESSAGE(items.has_value(), (items ? "" : items.error().message));
  BOOST_REQUIRE_EQUAL(items->size(), 3u);
  BOOST_CHECK((*items)[1].peek);
  BOOST_CHECK(((*items)[1].section.fields == std::vector<std::string>{"From", "To"}));
  BOOST_CHECK(((*items)[1].section.part == std::vector<std::uint32_t>{1, 2}));
  BOOST_REQUIRE((*items)[1].partial);
  BOOST_CHECK_EQUAL((*items)[1].partial->length, 100u);
  BOOST_CHECK((*items)[2].kind == FetchItem::Kind::binary_size);
  auto mods = parse_fetch_modifiers(c.args[3]);
  BOOST_REQUIRE(mods);
  BOOST_CHECK(mods->vanished);
  BOOST_CHECK_EQUAL(*mods->changedsince, 12345u);

  c = command("a2 SEARCH RETURN () CHARSET UTF-8 OR (FROM \"Smith\" SUBJECT {5}\r\nhello) NOT "
              "MODSEQ \"/flags/\\\\draft\" all 620162338 SUBJECT NIL SINCE \"1-Feb-1994\"\r\n");
  auto p = parse_search(c.args);
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error().message));
  BOOST_CHECK(p->esearch && !p->ret.any());
  BOOST_CHECK_EQUAL(show(p->key),
                    "and(or(and(from Smith subject hello) not(modseq /flags/\\draft|all|620162338)) subject NIL "
                    "since 1994-2-1)");

  c = command("a3 APPEND INBOX (\\Seen \\Recent $Forwarded) \" 7-Jul-1996 02:44:25 -0700\" {3+}\r\nabc\r\n");
  BOOST_REQUIRE_EQUAL(c.args.size(), 4u);
  auto flags = parse_flags(c.args[1], true);
  BOOST_REQUIRE(flags);
  BOOST_CHECK_EQUAL(flags->system, tern::store::flag_seen);
  BOOST_CHECK((flags->keywords == std::vector<std::string>{"$Forwarded"}));
  BOOST_CHECK_EQUAL(*parse_date_time(c.args[2].value), 836732665);

  c = command("a4 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n");
  BOOST_CHECK((*parse_status_items(c.args[1]) == std::vector<std::string>{"UIDNEXT", "MESSAGES"}));
  c = command("a5 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n");
  BOOST_CHECK((*parse_sort_criteria(c.args[0]) ==
               std::vector<SortCriterion>{{SortKey::subject, false}, {SortKey::date, true}}));
  c = command("a6 THREAD REFERENCES US-ASCII TEXT \"gewp\"\r\n");
  BOOST_CHECK(*parse_thread_algorithm(c.args[0]) == ThreadAlgorithm::references);
}

BOOST_AUTO_TEST_SUITE_END()
