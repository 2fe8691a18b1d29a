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
