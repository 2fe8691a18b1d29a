// RFC 5321 mailboxes and paths, RFC 6531 UTF-8 addresses, IDNA, subaddresses and case rules.
#include <boost/test/unit_test.hpp>

#include "tern/mime/smtp_address.hpp"

using namespace tern::mime;

BOOST_AUTO_TEST_CASE(smtp_mailboxes_and_literals) {
  auto m = parse_smtp_mailbox("John.Smith@Example.ORG");
  BOOST_TEST_REQUIRE(bool(m));
  BOOST_TEST(m.value.local_part == "John.Smith");  // case kept (RFC 5321 §2.4)
  BOOST_TEST(m.value.domain == "Example.ORG");
  BOOST_TEST(m.value.address() == "John.Smith@Example.ORG");

  auto q = parse_smtp_mailbox(R"("john \"jr\" smith"@example.org)");
  BOOST_TEST_REQUIRE(bool(q));
  BOOST_TEST(q.value.local_part == R"(john "jr" smith)");
  BOOST_TEST(q.value.address() == R"("john \"jr\" smith"@example.org)");
  // A quoted local part that is a valid Dot-string is written unquoted.
  BOOST_TEST(parse_smtp_mailbox(R"("abc"@example.org)").value.address() == "abc@example.org");

  auto v4 = parse_smtp_mailbox("postmaster@[192.0.2.1]");
  BOOST_TEST_REQUIRE(bool(v4));
  BOOST_TEST((v4.value.kind == DomainKind::ipv4));
  BOOST_TEST(v4.value.literal_address() == "192.0.2.1");
  auto v6 = parse_smtp_mailbox("a@[IPv6:2001:db8::1]");
  BOOST_TEST_REQUIRE(bool(v6));
  BOOST_TEST((v6.value.kind == DomainKind::ipv6));
  BOOST_TEST(v6.value.literal_address() == "2001:db8::1");
  BOOST_TEST((parse_smtp_mailbox("a@[x-tag:content]").value.kind == DomainKind::general));

  BOOST_TEST((parse_smtp_mailbox("a@[192.0.2.256]").error == AddressError::bad_literal));
  BOOST_TEST((parse_smtp_mailbox("a@[IPv6:2001:db8:::1]").error == AddressError::bad_literal));
  BOOST_TEST((parse_smtp_mailbox("a@[1.2.3]").error == AddressError::bad_literal));
  // Found by fuzzing: inet_pton stopped at an embedded NUL and took "2001:db8::".
  BOOST_TEST((parse_smtp_mailbox(std::string("a@[IPv6:2001:db8::\0x]", 21)).error == AddressError::bad_literal));
  for (const char* bad : {"", "@example.org", "a@", "a..b@example.org", ".a@example.org", "a.@example.org",
                          "a b@example.org", "a@-example.org", "a@example-.org", "a@exa_mple.org", "a@example..org",
                          "\"unterminated@example.org", "a@b@c", "a@[1.2.3.4"})
    BOOST_TEST(!parse_smtp_mailbox(bad), bad);
  BOOST_TEST((parse_smtp_mailbox(std::string(65, 'a') + "@example.org").error == AddressError::too_long));
  BOOST_TEST(bool(parse_smtp_mailbox(std::string(64, 'a') + "@example.org")));
}

BOOST_AUTO_TEST_CASE(utf8_addresses_need_smtputf8) {
  BOOST_TEST((parse_smtp_mailbox("用户@例子.广告").error == AddressError::utf8_not_allowed));
  auto u = parse_smtp_mailbox("用户@例子.广告", true);
  BOOST_TEST_REQUIRE(bool(u));
  BOOST_TEST(u.value.needs_smtputf8());
  BOOST_TEST(u.value.local_part == "用户");
  BOOST_TEST(!parse_smtp_mailbox("a@example.org").value.needs_smtputf8());
  BOOST_TEST(!parse_smtp_mailbox("\xff\xfe@example.org", true));  // not UTF-8
  auto a = to_ascii_domain(parse_smtp_mailbox("jörg@Bücher.example", true).value);
  BOOST_TEST_REQUIRE(bool(a));
  BOOST_TEST(a->domain == "xn--bcher-kva.example");
  BOOST_TEST(a->local_part == "jörg");
  BOOST_TEST(a->needs_smtputf8());  // the local part still is UTF-8
}

BOOST_AUTO_TEST_CASE(paths_null_postmaster_and_routes) {
  auto p = parse_smtp_path("<a@example.org> SIZE=100");
  BOOST_TEST_REQUIRE(bool(p));
  BOOST_TEST(p.consumed == 15u);
  BOOST_TEST(p.value.format() == "<a@example.org>");
  BOOST_TEST(!parse_smtp_path("<>"));
  auto null = parse_smtp_path("<>", PathOptions{true, false, false, true});
  BOOST_TEST_REQUIRE(bool(null));
  BOOST_TEST(null.value.null);
  BOOST_TEST(null.value.format() == "<>");
  auto pm = parse_smtp_path("<POSTMASTER>", PathOptions{false, true, false, true});
  BOOST_TEST_REQUIRE(bool(pm));
  BOOST_TEST(pm.value.postmaster);
  auto route = parse_smtp_path("<@relay1.example,@relay2.example:user@example.org>");
  BOOST_TEST_REQUIRE(bool(route));
  BOOST_TEST(route.value.mailbox.address() == "user@example.org");
  BOOST_TEST(!parse_smtp_path("<@relay1.example:user@example.org>", PathOptions{false, false, false, false}));
  auto quoted = parse_smtp_path(R"(<"a>b"@example.org>)");
  BOOST_TEST_REQUIRE(bool(quoted));
  BOOST_TEST(quoted.value.mailbox.local_part == "a>b");
  BOOST_TEST(quoted.consumed == 19u);
  BOOST_TEST((parse_smtp_path("<" + std::string(60, 'a') + "@" + std::string(200, 'b') + ".org>").error == AddressError::too_long));
  for (const char* bad : {"a@example.org", "<a@example.org", "<@relay:>", "<a@example.org"})
    BOOST_TEST(!parse_smtp_path(bad), bad);
  AddressReply r = reply_for(AddressError::utf8_not_allowed);
  BOOST_TEST(r.code == 553);
  BOOST_TEST(r.enhanced == "5.6.7");
  BOOST_TEST(reply_for(AddressError::syntax).enhanced == "5.1.3");
}

BOOST_AUTO_TEST_CASE(idna_both_ways_and_case_rules) {
  BOOST_TEST(*domain_to_ascii("Bücher.Example") == "xn--bcher-kva.example");
  BOOST_TEST(*domain_to_ascii("例子.广告") == "xn--fsqu00a.xn--4rr70v");
  BOOST_TEST(*domain_to_ascii("EXAMPLE.org") == "example.org");
  BOOST_TEST(*domain_to_ascii("[192.0.2.1]") == "[192.0.2.1]");
  BOOST_TEST(*domain_to_unicode("xn--bcher-kva.example") == "bücher.example");
  BOOST_TEST(*domain_to_unicode("XN--FSQU00A.XN--4RR70V") == "例子.广告");
  BOOST_TEST(*domain_to_unicode("Example.ORG") == "example.org");
  BOOST_TEST(!domain_to_ascii("a\xff.example"));
  BOOST_TEST(!domain_to_unicode("xn--zz-not-punycode-!!.example"));
  BOOST_TEST(!domain_to_unicode("xn--example.org"));  // decodes, but does not convert back to itself
  BOOST_TEST(canonical_domain("BÜCHER.example") == "xn--bcher-kva.example");

  SmtpMailbox a = parse_smtp_mailbox("User@Bücher.Example", true).value;
  SmtpMailbox b = parse_smtp_mailbox("User@xn--bcher-kva.example").value;
  SmtpMailbox c = parse_smtp_mailbox("user@xn--bcher-kva.example").value;
  BOOST_TEST(same_mailbox(a, b));   // domains compare case-insensitively and across U-/A-labels
  BOOST_TEST(!same_mailbox(b, c));  // local parts compare exactly (RFC 5321 §2.4)
}

BOOST_AUTO_TEST_CASE(subaddress_split) {
  Subaddress s = split_subaddress("user+tag+more");
  BOOST_TEST(s.has_detail);
  BOOST_TEST(s.base == "user");
  BOOST_TEST(s.detail == "tag+more");
  BOOST_TEST(!split_subaddress("user").has_detail);
  BOOST_TEST(!split_subaddress("+tag").has_detail);  // no base: the whole local part
  Subaddress d = split_subaddress("user-list", "+-");
  BOOST_TEST(d.base == "user");
  BOOST_TEST(d.detail == "list");
  Subaddress e = split_subaddress("user+", "+");
  BOOST_TEST(e.has_detail);
  BOOST_TEST(e.detail.empty());
}

BOOST_AUTO_TEST_CASE(source_routes_and_label_lengths) {
  // A-d-l = At-domain *( "," At-domain ) ":"; At-domain = "@" Domain (RFC 5321 §4.1.2), dropped (appendix C).
  auto r = parse_smtp_path("<@a.example,@b.example,@c.example:User@D.example>");
  BOOST_TEST_REQUIRE(bool(r));
  BOOST_TEST(r.value.mailbox.address() == "User@D.example");
  BOOST_TEST(r.value.format() == "<User@D.example>");
  for (const char* bad : {"<@a.example,:u@d.example>", "<@a.example,,@b.example:u@d.example>", "<@:u@d.example>",
                          "<@[192.0.2.1]:u@d.example>", "<@a.example@b.example:u@d.example>", "<,@a.example:u@d.example>",
                          "<@a_b.example:u@d.example>"})
    BOOST_TEST(!parse_smtp_path(bad), bad);
  // RFC 1035 §2.3.4: labels of at most 63 octets; a U-label's limit is its A-label's.
  BOOST_TEST(bool(parse_smtp_mailbox("a@" + std::string(63, 'b') + ".example")));
  BOOST_TEST((parse_smtp_mailbox("a@" + std::string(64, 'b') + ".example").error == AddressError::syntax));
  std::string u_label;
  for (int i = 0; i < 20; ++i) u_label += "\xC3\xBC";  // 40 octets, "xn--" A-label of 28 characters
  u_label += std::string(30, 'b');                     // 70 octets
  BOOST_TEST(bool(parse_smtp_mailbox("a@" + u_label + ".example", true)));
  // The path limit counts the brackets and any route: 256 octets in all (RFC 5321 §4.5.3.1.3).
  std::string d = std::string(63, 'd') + "." + std::string(63, 'd') + "." + std::string(63, 'd') + ".";
  std::string path_256 = "<" + std::string(64 - 5, 'l') + "@" + d + std::string(256 - 2 - 59 - 1 - 192, 'e') + ">";
  BOOST_TEST(path_256.size() == 256u);
  BOOST_TEST(bool(parse_smtp_path(path_256)));
  std::string path_257 = "<l" + path_256.substr(1);
  BOOST_TEST((parse_smtp_path(path_257).error == AddressError::too_long));
}

BOOST_AUTO_TEST_CASE(split_stored_addresses) {
  auto p = split_address("user@Example.ORG");
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p->local == "user");
  BOOST_TEST(p->domain == "Example.ORG");
  // A quoted local part may hold '@' (and quoted-pairs); so may a general address literal.
  auto q = split_address(R"("a@b\"c"@example.org)");
  BOOST_TEST_REQUIRE(q.has_value());
  BOOST_TEST(q->local == R"("a@b\"c")");
  BOOST_TEST(q->domain == "example.org");
  auto g = split_address("a@[x-tag:b@c]");
  BOOST_TEST_REQUIRE(g.has_value());
  BOOST_TEST(g->domain == "[x-tag:b@c]");
  for (const char* bad : {"", "user", "@example.org", "user@", R"("a@b")", R"("a@b"x@example.org)"})
    BOOST_TEST(!split_address(bad).has_value(), bad);
  // What every module routes and compares by: the canonical domain.
  BOOST_TEST(address_domain("User@Bücher.Example") == "xn--bcher-kva.example");
  BOOST_TEST(address_domain(R"("x@y"@EXAMPLE.org)") == "example.org");
  BOOST_TEST(address_domain("postmaster@[192.0.2.1]") == "[192.0.2.1]");
  BOOST_TEST(address_domain("no-domain").empty());
  // Round trip: what SmtpMailbox::address() writes splits back into the parsed parts.
  auto m = parse_smtp_mailbox(R"("john@home smith"@example.org)");
  BOOST_TEST_REQUIRE(bool(m));
  const std::string written = m.value.address();
  BOOST_TEST(written == R"("john@home smith"@example.org)");
  auto back = split_address(written);  // views into `written`
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST(back->local == R"("john@home smith")");
  BOOST_TEST(back->domain == "example.org");
  BOOST_TEST(parse_smtp_mailbox(written).value.local_part == "john@home smith");
}
