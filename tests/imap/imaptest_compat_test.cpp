// Argument conversions that Dovecot's imaptest compliance scripts exercise (nil, search-date): the
// commands go through the real CommandParser, then the converters the session uses.
#include <boost/test/unit_test.hpp>

#include <string_view>

#include "tern/imap/command_args.hpp"
#include "tern/imap/command_parser.hpp"

using namespace tern::imap;

namespace {

Command parse_one(std::string_view line) {
  CommandParser p;
  p.feed(line);
  auto ev = p.next();
  BOOST_REQUIRE(ev.has_value());
  BOOST_REQUIRE(ev->kind == CommandParser::Event::Kind::command);
  return ev->command;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(imaptest_compat)

// "store 1 +flags NIL": NIL is a valid flag-keyword atom; Dovecot stores the keyword NIL.
BOOST_AUTO_TEST_CASE(nil_is_a_keyword) {
  Command c = parse_one("a STORE 1 +FLAGS NIL\r\n");
  BOOST_REQUIRE(c.args.size() == 3u);
  BOOST_REQUIRE(c.args[2].is_nil());
  auto f = parse_flags(c.args[2]);
  BOOST_REQUIRE(f.has_value());
  BOOST_TEST(f->system == 0u);
  BOOST_REQUIRE(f->keywords.size() == 1u);
  BOOST_TEST(f->keywords[0] == "NIL");
  Command l = parse_one("a STORE 1 +FLAGS (\\Seen nil)\r\n");
  auto fl = parse_flags(l.args[2]);
  BOOST_REQUIRE(fl.has_value());
  BOOST_REQUIRE(fl->keywords.size() == 1u);
  BOOST_TEST(fl->keywords[0] == "nil");
  BOOST_TEST(!parse_flags(parse_one("a STORE 1 +FLAGS \"x\"\r\n").args[2]).has_value());
}

// RFC 9051 §9 date = date-text / DQUOTE date-text DQUOTE; month names are case-insensitive, the day has
// one or two digits, and nothing may follow the year.
BOOST_AUTO_TEST_CASE(search_dates) {
  auto date_of = [](std::string_view line) -> std::optional<SearchDate> {
    Command c = parse_one(line);
    auto p = parse_search(c.args);
    if (!p || p->key.children.size() != 1u) return std::nullopt;
    return p->key.children[0].date;
  };
  auto d = date_of("a SEARCH SENTBEFORE 24-mar-2007\r\n");
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST((*d == SearchDate{2007, 3, 24}));
  d = date_of("a SEARCH SINCE 1-FEB-1994\r\n");
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST((*d == SearchDate{1994, 2, 1}));
  d = date_of("a SEARCH ON \"5-Dec-2020\"\r\n");
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST((*d == SearchDate{2020, 12, 5}));
  BOOST_TEST(!date_of("a SEARCH ON 24-mar-200\r\n").has_value());
  BOOST_TEST(!date_of("a SEARCH ON 24-mar-20077\r\n").has_value());
  BOOST_TEST(!date_of("a SEARCH ON 31-Apr-2007\r\n").has_value());
  BOOST_TEST(!date_of("a SEARCH ON 24-mrz-2007\r\n").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
