// CATENATE (RFC 4469) grammar and IMAP URLs (RFC 5092) as catenate.hpp parses them: the framing parser
// builds the APPEND command from the bytes a client sends (literals, LITERAL+, literal8), then
// parse_catenate and parse_imap_url interpret it; bounds on parts and URL length.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "tern/imap/catenate.hpp"
#include "tern/imap/command_parser.hpp"

using namespace tern::imap;
using tern::ErrorCategory;
using namespace std::string_literals;

namespace {

// Frames one command from wire bytes; continuations are skipped (the test sends everything at once).
Command frame(const std::string& wire) {
  CommandParser p;
  p.feed(wire);
  while (auto ev = p.next()) {
    if (ev->kind == CommandParser::Event::Kind::command) return ev->command;
    BOOST_REQUIRE_MESSAGE(ev->kind == CommandParser::Event::Kind::continuation, "unexpected error: " + ev->message);
  }
  BOOST_FAIL("no command framed");
  return {};
}

const char* kUser = "alice@example.test";
const char* kHost = "mail.example.test";

}  // namespace

BOOST_AUTO_TEST_SUITE(catenate)

BOOST_AUTO_TEST_CASE(text_and_url_parts_from_the_wire) {
  // RFC 4469 §4 example shape: TEXT literal, URL (quoted), TEXT non-synchronising literal, literal8.
  auto cmd = frame("A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (TEXT {11}\r\nHeader: x\r\n"
                   " URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\""
                   " TEXT {4+}\r\n\r\nab URL /INBOX/;UID=3 TEXT ~{3}\r\na\0b)\r\n"s);
  BOOST_REQUIRE_EQUAL(cmd.name, "APPEND");
  BOOST_REQUIRE_EQUAL(cmd.args.size(), 4u);
  BOOST_TEST(cmd.args[2].is_keyword("CATENATE"));
  auto parts = parse_catenate(cmd.args[3], false);
  BOOST_REQUIRE(parts);
  BOOST_REQUIRE_EQUAL(parts->size(), 5u);
  BOOST_TEST(((*parts)[0].kind == CatenatePart::Kind::text));
  BOOST_TEST((*parts)[0].value->value == "Header: x\r\n");
  BOOST_TEST(((*parts)[1].kind == CatenatePart::Kind::url));
  BOOST_TEST((*parts)[1].value->value == "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER");
  BOOST_TEST((*parts)[2].value->value == "\r\nab");
  BOOST_TEST((*parts)[3].value->value == "/INBOX/;UID=3");  // an atom is an astring too
  BOOST_TEST((*parts)[4].value->literal8);
  BOOST_TEST((*parts)[4].value->value == std::string("a\0b", 3));
}

BOOST_AUTO_TEST_CASE(grammar_errors) {
  auto bad = [](const std::string& wire) {
    auto cmd = frame(wire);
    auto parts = parse_catenate(cmd.args.back(), false);
    BOOST_TEST_CONTEXT(wire) {
      BOOST_TEST(!parts);
      if (!parts) BOOST_TEST((parts.error().category == ErrorCategory::invalid_argument));
    }
  };
  bad("a APPEND x CATENATE ()\r\n");                        // at least one part
  bad("a APPEND x CATENATE (TEXT)\r\n");                    // TEXT needs a literal
  bad("a APPEND x CATENATE (TEXT \"quoted\")\r\n");         // ... not a quoted string (RFC 4469 §5)
  bad("a APPEND x CATENATE (URL)\r\n");                     // URL needs an astring
  bad("a APPEND x CATENATE (URL (a))\r\n");
  bad("a APPEND x CATENATE (BODY {1}\r\nx)\r\n");           // unknown part type
  bad("a APPEND x CATENATE (UTF8 (~{1}\r\nx))\r\n");        // UTF8 only after ENABLE UTF8=ACCEPT
  bad("a APPEND x CATENATE TEXT\r\n");                      // not a list
  auto cmd = frame("a APPEND x CATENATE (UTF8 (~{1}\r\nx) url \"/INBOX/;UID=1\")\r\n");
  auto parts = parse_catenate(cmd.args.back(), true);
  BOOST_REQUIRE(parts);
  BOOST_TEST(parts->size() == 2u);
  BOOST_TEST(((*parts)[1].kind == CatenatePart::Kind::url));  // keywords are case-insensitive
}

BOOST_AUTO_TEST_CASE(part_count_is_bounded) {
  std::string wire = "a APPEND x CATENATE (";
  for (std::size_t i = 0; i < kMaxCatenateParts; ++i) wire += "URL /INBOX/;UID=1 ";
  auto ok = frame(wire.substr(0, wire.size() - 1) + ")\r\n");
  BOOST_TEST(parse_catenate(ok.args.back(), false).has_value());
  auto over = frame(wire + "TEXT {1+}\r\nx)\r\n");
  auto parts = parse_catenate(over.args.back(), false);
  BOOST_REQUIRE(!parts);
  BOOST_TEST((parts.error().category == ErrorCategory::limit));
}

BOOST_AUTO_TEST_CASE(relative_urls) {
  auto u = parse_imap_url("/INBOX/;UID=20", kUser, kHost);
  BOOST_REQUIRE(u);
  BOOST_TEST(u->mailbox == "INBOX");
  BOOST_TEST(!u->uid_validity);
  BOOST_TEST(u->uid == 20u);
  BOOST_TEST(!u->section);
  BOOST_TEST(!u->partial);

  u = parse_imap_url("/inbox;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2.MIME/;PARTIAL=10.5", kUser, kHost);
  BOOST_REQUIRE(u);
  BOOST_TEST(u->mailbox == "INBOX");
  BOOST_TEST(*u->uid_validity == 385759045u);
  BOOST_TEST(u->section->part == (std::vector<std::uint32_t>{1, 2}));
  BOOST_TEST((u->section->text == Section::Text::mime));
  BOOST_TEST(u->partial->offset == 10u);
  BOOST_TEST(u->partial->length == 5u);

  // Keys in any case (imaptest writes them in lower case); PARTIAL without a length runs to the end.
  u = parse_imap_url("/Lists%2Ftern/%C3%A9t%C3%A9/;uid=7/;section=header.fields%20(From%20To)/;partial=100000", kUser, kHost);
  BOOST_REQUIRE(u);
  BOOST_TEST(u->mailbox == "Lists/tern/\xC3\xA9t\xC3\xA9");
  BOOST_TEST((u->section->text == Section::Text::header_fields));
  BOOST_TEST(u->section->fields == (std::vector<std::string>{"From", "To"}));
  BOOST_TEST(u->partial->offset == 100000u);
  BOOST_TEST(u->partial->length == 0xFFFFFFFFu);

  // Hierarchy: the mailbox may contain "/" (bchar), the "/;UID=" ends it.
  u = parse_imap_url("/Archive/2024;UIDVALIDITY=1/;UID=1/;SECTION=TEXT", kUser, kHost);
  BOOST_REQUIRE(u);
  BOOST_TEST(u->mailbox == "Archive/2024");
  BOOST_TEST((u->section->text == Section::Text::text));
}

BOOST_AUTO_TEST_CASE(absolute_urls_only_for_this_user_and_server) {
  auto u = parse_imap_url("imap://alice%40example.test@MAIL.example.test:143/INBOX/;UID=2", kUser, kHost);
  BOOST_REQUIRE(u);
  BOOST_TEST(u->uid == 2u);
  u = parse_imap_url("imap://alice%40example.test;AUTH=*@mail.example.test/INBOX/;UID=2", kUser, kHost);
  BOOST_TEST(u.has_value());
  auto other_user = parse_imap_url("imap://bob%40example.test@mail.example.test/INBOX/;UID=2", kUser, kHost);
  BOOST_REQUIRE(!other_user);
  BOOST_TEST((other_user.error().category == ErrorCategory::auth));
  auto other_host = parse_imap_url("imap://alice%40example.test@evil.example/INBOX/;UID=2", kUser, kHost);
  BOOST_REQUIRE(!other_host);
  BOOST_TEST((other_host.error().category == ErrorCategory::auth));
  BOOST_TEST(!parse_imap_url("imap://mail.example.test/INBOX/;UID=2", kUser, kHost));  // anonymous
}

BOOST_AUTO_TEST_CASE(bad_urls) {
  for (const char* url : {
           "",                                    // empty
           "INBOX/;UID=1",                        // not an absolute path
           "/INBOX",                              // no message
           "/INBOX;UID=1",                        // the mailbox is followed by "/;UID="
           "/INBOX/;UID=0",                       // nz-number
           "/INBOX/;UID=4294967296",              // above 32 bits
           "/INBOX/;UID=01",                      // leading zero
           "/INBOX/;UID=x",
           "/INBOX;UIDVALIDITY=0/;UID=1",
           "/INBOX;UIDVALIDITY=5;UID=1",          // "/" before ";UID="
           "/INBOX/;UID=1;SECTION=1",             // "/" before ";SECTION="
           "/INBOX/;UID=1/;SECTION=",             // empty section
           "/INBOX/;UID=1/;SECTION=HEADER.FIELDS",  // needs a field list
           "/INBOX/;UID=1/;SECTION=1.",           // not a section
           "/INBOX/;UID=1/;PARTIAL=1.0",          // length is nz-number
           "/INBOX/;UID=1/;PARTIAL=a",
           "/INBOX/;UID=1/;PARTIAL=1/;SECTION=1", // order: SECTION before PARTIAL
           "/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123",  // URLAUTH is not offered
           "/INBOX/;UID=1/;EXPIRE=2030-01-01T00:00:00Z",
           "/INBOX/;UID=1/;FOO=1",
           "/IN BOX/;UID=1",                      // a space must be %20
           "/IN%2/;UID=1",                        // broken escape
           "/IN%00BOX/;UID=1",                    // NUL
           "/;UID=1",                             // empty mailbox
       }) {
    BOOST_TEST_CONTEXT(url) { BOOST_TEST(!parse_imap_url(url, kUser, kHost)); }
  }
  std::string longest = "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(" + std::string(kMaxImapUrl, 'a');
  longest = longest.substr(0, kMaxImapUrl - 1) + ")";
  BOOST_TEST(parse_imap_url(longest, kUser, kHost).has_value());
  BOOST_TEST(!parse_imap_url(longest + "x", kUser, kHost));  // over kMaxImapUrl
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(catenate_assembly)

namespace {
// Fetches "/INBOX/;UID=n" as n copies of 'u'; any other URL fails.
tern::Result<std::string> fake_fetch(const std::string& url, std::vector<std::string>* asked) {
  asked->push_back(url);
  auto u = parse_imap_url(url, kUser, kHost);
  if (!u || u->mailbox != "INBOX") return tern::fail(ErrorCategory::not_found, "The URL's mailbox does not exist.");
  return std::string(u->uid, 'u');
}
}  // namespace

BOOST_AUTO_TEST_CASE(parts_in_order_and_literal8) {
  auto cmd = frame("a APPEND x CATENATE (TEXT {3+}\r\nab\n URL \"/INBOX/;UID=2\" TEXT ~{2+}\r\ncd)\r\n");
  auto parts = parse_catenate(cmd.args.back(), false);
  BOOST_REQUIRE(parts);
  std::vector<std::string> asked;
  auto r = assemble_catenate(*parts, 100, [&](const std::string& url) { return fake_fetch(url, &asked); });
  BOOST_REQUIRE(r);
  BOOST_TEST(r->message == "ab\nuucd");
  BOOST_TEST(r->literal8);
  BOOST_TEST(asked == std::vector<std::string>{"/INBOX/;UID=2"});
  // Without a literal8 part the result is plain text.
  auto plain = frame("a APPEND x CATENATE (TEXT {2+}\r\nab)\r\n");
  auto p2 = parse_catenate(plain.args.back(), false);
  auto r2 = assemble_catenate(*p2, 100, [&](const std::string& url) { return fake_fetch(url, &asked); });
  BOOST_REQUIRE(r2);
  BOOST_TEST(!r2->literal8);
}

BOOST_AUTO_TEST_CASE(badurl_stops_at_the_first_bad_part) {
  auto cmd = frame("a APPEND x CATENATE (URL \"/INBOX/;UID=1\" URL \"/Other/;UID=1\" URL \"/INBOX/;UID=3\")\r\n");
  auto parts = parse_catenate(cmd.args.back(), false);
  BOOST_REQUIRE(parts);
  std::vector<std::string> asked;
  auto r = assemble_catenate(*parts, 100, [&](const std::string& url) { return fake_fetch(url, &asked); });
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == "BADURL");
  BOOST_TEST(r.error().url == "/Other/;UID=1");
  BOOST_TEST(!r.error().message.empty());
  BOOST_TEST(asked.size() == 2u);  // the third URL is not fetched
}

BOOST_AUTO_TEST_CASE(limit_and_empty) {
  auto cmd = frame("a APPEND x CATENATE (URL \"/INBOX/;UID=60\" TEXT {1+}\r\nx URL \"/INBOX/;UID=60\")\r\n");
  auto parts = parse_catenate(cmd.args.back(), false);
  BOOST_REQUIRE(parts);
  std::vector<std::string> asked;
  auto fetch = [&](const std::string& url) { return fake_fetch(url, &asked); };
  BOOST_TEST(assemble_catenate(*parts, 121, fetch).has_value());  // exactly at the limit
  auto over = assemble_catenate(*parts, 120, fetch);
  BOOST_REQUIRE(!over);
  BOOST_TEST(over.error().code == "TOOBIG");
  asked.clear();
  auto early = assemble_catenate(*parts, 59, fetch);  // over after the first part: nothing more fetched
  BOOST_REQUIRE(!early);
  BOOST_TEST(early.error().code == "TOOBIG");
  BOOST_TEST(asked.size() == 1u);
  auto empty = frame("a APPEND x CATENATE (TEXT {0+}\r\n TEXT {0+}\r\n)\r\n");
  auto ep = parse_catenate(empty.args.back(), false);
  BOOST_REQUIRE(ep);
  auto e = assemble_catenate(*ep, 100, fetch);
  BOOST_REQUIRE(!e);
  BOOST_TEST(e.error().code == "CANNOT");
}

BOOST_AUTO_TEST_CASE(badurl_response_text) {
  // RFC 4469 errata 4046: a bare URL, without "]" or control bytes.
  BOOST_TEST(url_resp_text("/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9") ==
             "/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9");
  BOOST_TEST(url_resp_text("/a]b") == "/a");
  BOOST_TEST(url_resp_text("/a\r\nb") == "/a");
  BOOST_TEST(url_resp_text(std::string(5000, 'x')).size() == 1024u);
}

BOOST_AUTO_TEST_SUITE_END()
