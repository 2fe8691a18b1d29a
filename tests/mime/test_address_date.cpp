// RFC 5322 address lists and date-time.
#include <boost/test/unit_test.hpp>

#include "tern/mime/address.hpp"
#include "tern/mime/date.hpp"

using namespace tern::mime;

BOOST_AUTO_TEST_CASE(address_list_mailboxes_and_groups) {
  auto l = parse_address_list(
      "\"Doe, John\" <john@example.com>, plain@example.org (comment), "
      "Team: a@x.org, B <b@y.org>;, =?UTF-8?Q?J=C3=B6rg?= M <joerg@z.de>, Undisclosed recipients:;");
  BOOST_TEST(l.clean);
  BOOST_REQUIRE(l.entries.size() == 5u);
  BOOST_TEST(l.entries[0].mailboxes[0].display_name == "Doe, John");
  BOOST_TEST(l.entries[0].mailboxes[0].address() == "john@example.com");
  BOOST_TEST(l.entries[1].mailboxes[0].display_name == "comment");  // a bare addr-spec's comment names it
  BOOST_TEST(l.entries[1].mailboxes[0].address() == "plain@example.org");
  BOOST_TEST(l.entries[2].is_group);
  BOOST_TEST(l.entries[2].group_name == "Team");
  BOOST_REQUIRE(l.entries[2].mailboxes.size() == 2u);
  BOOST_TEST(l.entries[2].mailboxes[1].display_name == "B");
  BOOST_TEST(l.entries[2].mailboxes[1].domain == "y.org");
  BOOST_TEST(l.entries[3].mailboxes[0].display_name == "J\xC3\xB6rg M");
  BOOST_TEST(l.entries[3].mailboxes[0].display_name_raw == "=?UTF-8?Q?J=C3=B6rg?= M");
  BOOST_TEST(l.entries[4].is_group);
  BOOST_TEST(l.entries[4].mailboxes.empty());
  BOOST_TEST(l.all_mailboxes().size() == 5u);
}

// "user@domain (Real Name)": without a phrase the comment after the addr-spec is the display name, as
// Dovecot (IMAP ENVELOPE, SEARCH FROM) and Python's email package read it; comments elsewhere are not.
BOOST_AUTO_TEST_CASE(address_comment_as_display_name) {
  auto l = parse_address_list(
      "user@domain (Real Name), x@y (=?UTF-8?Q?J=C3=B6rg?= \\(N\\)), Name <n@x> (not this), z@w (), "
      "g: m@d (In Group);");
  BOOST_REQUIRE(l.all_mailboxes().size() == 5u);
  auto all = l.all_mailboxes();
  BOOST_TEST(all[0].display_name == "Real Name");
  BOOST_TEST(all[0].address() == "user@domain");
  BOOST_TEST(all[1].display_name_raw == "=?UTF-8?Q?J=C3=B6rg?= (N)");
  BOOST_TEST(all[1].display_name == "J\xC3\xB6rg (N)");
  BOOST_TEST(all[2].display_name == "Name");
  BOOST_TEST(all[3].display_name == "");
  BOOST_TEST(all[4].display_name == "In Group");
  BOOST_TEST(l.entries[0].mailboxes[0].domain == "domain");
}

BOOST_AUTO_TEST_CASE(address_quoted_local_parts_routes_and_junk) {
  auto q = parse_address_list("\"john doe\"@example.com, <@relay.org,@b.org:user@c.org>, \"a\\\"b\"@x");
  BOOST_REQUIRE(q.entries.size() == 3u);
  BOOST_TEST(q.entries[0].mailboxes[0].local_part == "john doe");
  BOOST_TEST(q.entries[0].mailboxes[0].address() == "\"john doe\"@example.com");
  BOOST_TEST(q.entries[1].mailboxes[0].route == "@relay.org,@b.org");
  BOOST_TEST(q.entries[1].mailboxes[0].address() == "user@c.org");
  BOOST_TEST(q.entries[2].mailboxes[0].local_part == "a\"b");
  BOOST_TEST(q.entries[2].mailboxes[0].address() == "\"a\\\"b\"@x");

  auto u = parse_address_list("J\xC3\xBCrgen <j\xC3\xBCrgen@b\xC3\xBC" "cher.de>, [bad], <unterminated@x");
  BOOST_TEST(!u.clean);
  BOOST_TEST(u.entries.size() >= 2u);
  BOOST_TEST(u.entries[0].mailboxes[0].display_name == "J\xC3\xBCrgen");
  BOOST_TEST(u.entries[0].mailboxes[0].domain == "b\xC3\xBC" "cher.de");

  for (const char* junk : {"", ",,,", "<<<>>>", ":;:;", "\"", "(((", "@", "a@", "@b", ";;; x : y ; z"}) {
    auto j = parse_address_list(junk);
    (void)j;
  }
  AddressLimits lim;
  lim.max_entries = 3;
  BOOST_TEST(parse_address_list("a@b, c@d, e@f, g@h, i@j", lim).entries.size() == 3u);
}

BOOST_AUTO_TEST_CASE(date_time_parse_and_format) {
  auto d = parse_date_time("Mon, 2 Jan 2006 15:04:05 -0700");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->year == 2006);
  BOOST_TEST(d->zone_minutes == -420);
  BOOST_TEST(d->unix_time() == 1136239445);
  BOOST_TEST(format_date_time(*d) == "Mon, 2 Jan 2006 15:04:05 -0700");

  // Obsolete forms (RFC 5322 §4.3): 2-digit year, zone names, no seconds, comments, no weekday.
  auto o = parse_date_time(" 2 Jan 06 15:04 (comment) PST");
  BOOST_REQUIRE(o);
  BOOST_TEST(o->year == 2006);
  BOOST_TEST(o->second == 0);
  BOOST_TEST(o->zone_minutes == -480);
  BOOST_TEST(format_date_time(*o) == "Mon, 2 Jan 2006 15:04:00 -0800");
  auto y = parse_date_time("Fri, 21 Nov 97 09:55:06 GMT");
  BOOST_REQUIRE(y);
  BOOST_TEST(y->year == 1997);
  auto y3 = parse_date_time("21 Nov 103 09:55:06 EDT");
  BOOST_REQUIRE(y3);
  BOOST_TEST(y3->year == 2003);
  BOOST_TEST(y3->zone_minutes == -240);
  auto unknown = parse_date_time("Thu, 13 Feb 1969 23:32:54 -0000");
  BOOST_REQUIRE(unknown);
  BOOST_TEST(!unknown->zone_known);
  BOOST_TEST(format_date_time(*unknown) == "Thu, 13 Feb 1969 23:32:54 -0000");
  auto mil = parse_date_time("1 Mar 2020 00:00:00 K");
  BOOST_REQUIRE(mil);
  BOOST_TEST(!mil->zone_known);

  BOOST_TEST(!parse_date_time(""));
  BOOST_TEST(!parse_date_time("yesterday"));
  BOOST_TEST(!parse_date_time("31 Feb 2020 10:00:00 +0000"));
  BOOST_TEST(!parse_date_time("1 Foo 2020 10:00:00 +0000"));
  BOOST_TEST(!parse_date_time("1 Jan 2020 25:00:00 +0000"));

  auto t = date_time_from_unix(1136239445, -420);
  BOOST_TEST(format_date_time(t) == "Mon, 2 Jan 2006 15:04:05 -0700");
  BOOST_TEST(format_date_time(date_time_from_unix(951782400, 60)) == "Tue, 29 Feb 2000 01:00:00 +0100");
}

BOOST_AUTO_TEST_CASE(address_obsolete_and_sloppy_forms) {
  // Words separated by white space form an obs-local-part that needs quoting.
  auto a = parse_address_list("Big Bug bb@bug.com");
  BOOST_TEST(a.all_mailboxes().at(0).address() == "\"Big Bug bb\"@bug.com");
  // obs-domain with comments and white space around the dots.
  auto b = parse_address_list("John Doe <jdoe@machine(comment).  example>");
  BOOST_TEST(b.all_mailboxes().at(0).address() == "jdoe@machine.example");
  // Two addresses without a comma: the first is taken, the list is marked unclean.
  auto c = parse_address_list("tim@powerupdev.com concierge@powerupdev.com");
  BOOST_TEST(c.all_mailboxes().size() == 1u);
  BOOST_TEST(c.all_mailboxes().at(0).address() == "tim@powerupdev.com");
  BOOST_TEST(!c.clean);
  // An address used as display name.
  auto d = parse_address_list("smith@gmail.com, Mikel@Lindsaar <raasdnil@gmail.com>, tom@gmail.com");
  BOOST_REQUIRE(d.all_mailboxes().size() == 3u);
  BOOST_TEST(d.all_mailboxes()[1].display_name == "Mikel@Lindsaar");
  BOOST_TEST(d.all_mailboxes()[1].address() == "raasdnil@gmail.com");
}
