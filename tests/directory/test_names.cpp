#include <boost/test/unit_test.hpp>

#include "tern/directory/address.hpp"

using namespace tern::directory;

BOOST_AUTO_TEST_SUITE(directory_names)

BOOST_AUTO_TEST_CASE(mailbox_name_rules_follow_cloudron) {
  BOOST_TEST(validate_mailbox_name("alice").has_value());
  BOOST_TEST(validate_mailbox_name("first.last-2").has_value());
  BOOST_TEST(validate_mailbox_name(std::string(200, 'a')).has_value());

  auto too_long = validate_mailbox_name(std::string(201, 'a'));
  BOOST_REQUIRE(!too_long);
  BOOST_TEST(too_long.error().message.find("200 characters") != std::string::npos);

  auto plus = validate_mailbox_name("alice+work");
  BOOST_REQUIRE(!plus);
  BOOST_TEST(plus.error().message.find("subaddress separator") != std::string::npos);

  auto app = validate_mailbox_name("wordpress.app");
  BOOST_REQUIRE(!app);
  BOOST_TEST(app.error().message.find("reserved for applications") != std::string::npos);
  BOOST_TEST(validate_mailbox_name("wordpress.app", NameKind::app_mailbox).has_value());
  BOOST_TEST(!validate_mailbox_name("Word.APP"));

  auto under = validate_mailbox_name("first_last");
  BOOST_REQUIRE(!under);
  BOOST_TEST(under.error().message.find("only letters, digits, '.' and '-'") != std::string::npos);
  BOOST_TEST(!validate_mailbox_name(""));
  BOOST_TEST(!validate_mailbox_name(".alice"));
  BOOST_TEST(!validate_mailbox_name("a..b"));
  BOOST_TEST(!validate_mailbox_name("a*"));
}

BOOST_AUTO_TEST_CASE(configured_separator_is_refused_in_names) {
  BOOST_TEST(validate_mailbox_name("first-last", NameKind::user_mailbox, '+').has_value());
  auto dash = validate_mailbox_name("first-last", NameKind::user_mailbox, '-');
  BOOST_REQUIRE(!dash);
  BOOST_TEST(dash.error().message.find("subaddress separator") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(alias_names_allow_wildcards) {
  BOOST_TEST(validate_alias_name("*").has_value());
  BOOST_TEST(validate_alias_name("sales-*").has_value());
  BOOST_TEST(validate_alias_name("*.team").has_value());
  BOOST_TEST(!validate_alias_name("a+b"));
  BOOST_TEST(!validate_alias_name("x.app"));
}

BOOST_AUTO_TEST_CASE(domain_names) {
  BOOST_TEST(validate_domain_name("example.com").has_value());
  BOOST_TEST(validate_domain_name("mail.xn--bcher-kva.example").has_value());
  BOOST_TEST(!validate_domain_name("localhost"));
  BOOST_TEST(!validate_domain_name("-bad.com"));
  BOOST_TEST(!validate_domain_name("a..com"));
  BOOST_TEST(!validate_domain_name("bad_domain.com"));
  BOOST_TEST(!validate_domain_name(std::string(64, 'a') + ".com"));
}

BOOST_AUTO_TEST_CASE(addresses_are_normalised) {
  auto a = parse_address("<Alice.Smith@Example.COM>");
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->local == "alice.smith");
  BOOST_TEST(a->domain == "example.com");
  BOOST_TEST(!parse_address("no-at-sign"));
  BOOST_TEST(!parse_address("@example.com"));
  BOOST_TEST(!parse_address("alice@"));
  BOOST_TEST(!parse_address("a b@example.com"));
  BOOST_TEST(!parse_address("a@b@example.com"));
  BOOST_TEST(!parse_address(std::string(250, 'a') + "@x.com"));
}

// parse_address is lib/mime's RFC 5321 mailbox parser plus the directory's lookup-key rules.
BOOST_AUTO_TEST_CASE(addresses_through_the_shared_parser) {
  // Quoted local parts are unquoted; a needlessly quoted one is the same key as the dot-atom.
  auto q = parse_address("\"Alice\"@example.com");
  BOOST_REQUIRE(q.has_value());
  BOOST_TEST(q->str() == "alice@example.com");
  auto sp = parse_address("\"john smith\"@example.com");
  BOOST_REQUIRE(sp.has_value());
  BOOST_TEST(sp->local == "john smith");
  BOOST_TEST(sp->str() == "\"john smith\"@example.com");  // written back quoted
  // IDNA: U-label and A-label domains are one key (A-labels, lower case).
  auto u = parse_address("J\xC3\xB6rg@B\xC3\xBC" "cher.Example");
  BOOST_REQUIRE(u.has_value());
  BOOST_TEST(u->domain == "xn--bcher-kva.example");
  BOOST_TEST(u->local == "j\xC3\xB6rg");
  BOOST_TEST(parse_address("j\xC3\xB6rg@xn--bcher-kva.example")->str() == u->str());
  // Address literals, a trailing dot of an absolute domain.
  BOOST_TEST(parse_address("postmaster@[192.0.2.1]")->domain == "[192.0.2.1]");
  BOOST_TEST(parse_address("alice@example.com.")->domain == "example.com");
  // RFC 5321 4.1.2 syntax and 4.5.3.1 lengths.
  for (const char* bad : {"a..b@example.com", ".a@example.com", "a.@example.com", "a@-example.com",
                          "a@[300.1.1.1]", "a@example..com", "\"open@example.com", "a@exa_mple.com"})
    BOOST_TEST(!parse_address(bad), bad);
  BOOST_TEST(parse_address(std::string(64, 'a') + "@example.com").has_value());
  auto long_local = parse_address(std::string(65, 'a') + "@example.com");
  BOOST_REQUIRE(!long_local);
  BOOST_TEST(long_local.error().message.find("too long") != std::string::npos, long_local.error().message);
  BOOST_TEST(parse_address("no-at-sign").error().message.find("no '@'") != std::string::npos);
  // Targets that leave this host keep the local part's case (RFC 5321 2.4), the domain is canonical.
  BOOST_TEST(forward_address("<Bob.Smith@Example.NET>").value() == "Bob.Smith@example.net");
  BOOST_TEST(forward_address("\"Bob\"@B\xC3\xBC" "cher.example").value() == "Bob@xn--bcher-kva.example");
  BOOST_TEST(!forward_address("bob@"));
}

BOOST_AUTO_TEST_CASE(subaddress_split) {
  auto s = split_subaddress("alice+shop+x", '+');
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->base == "alice");
  BOOST_TEST(s->detail == "shop+x");
  BOOST_TEST(!split_subaddress("alice", '+'));
  BOOST_TEST(!split_subaddress("+tag", '+'));
  BOOST_TEST(!split_subaddress("alice+tag", '\0'));
}

BOOST_AUTO_TEST_CASE(wildcards) {
  BOOST_TEST(wildcard_match("*", ""));
  BOOST_TEST(wildcard_match("*", "anything"));
  BOOST_TEST(wildcard_match("sales-*", "sales-"));
  BOOST_TEST(wildcard_match("sales-*", "sales-eu"));
  BOOST_TEST(!wildcard_match("sales-*", "sale"));
  BOOST_TEST(wildcard_match("a*b*c", "axxbyyc"));
  BOOST_TEST(!wildcard_match("a*b*c", "axxbyy"));
  BOOST_TEST(wildcard_match("*.team", "red.team"));
  BOOST_TEST(!wildcard_match("*.team", "red.teams"));
  // Pathological pattern stays fast (no exponential backtracking).
  BOOST_TEST(!wildcard_match("*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()
