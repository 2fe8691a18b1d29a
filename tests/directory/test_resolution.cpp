#include <boost/test/unit_test.hpp>

#include "tern/directory/directory.hpp"
#include "tern/directory/resolution.hpp"
#include "tern/directory/snapshot_edit.hpp"

using namespace tern::directory;

namespace {

// example.com: alice (user), bob (user), shared@ (group sales = alice, carol), wp.app (app),
// old@ (inactive), team@ list, aliases, catch-all on other.org only.
DirectorySnapshot sample() {
  DirectorySnapshot d;
  d.domains = {{"example.com", true, {}}, {"other.org", true, {"alice@example.com"}}, {"off.net", false, {}}};
  d.users = {{"alice", "{PLAIN}a-pass", true, ""}, {"bob", "{PLAIN}b-pass", true, ""},
             {"carol", "{PLAIN}c-pass", true, ""}, {"dave", "{PLAIN}d-pass", false, ""}};
  d.groups = {{"sales", {"alice", "carol", "dave"}}};
  d.mailboxes = {
      {"alice", "example.com", "alice", OwnerType::user, true, {}, ""},
      {"alice2", "example.com", "alice", OwnerType::user, true, {}, ""},
      {"bob", "example.com", "bob", OwnerType::user, true, {}, ""},
      {"shared", "example.com", "sales", OwnerType::group, true, {}, ""},
      {"wp.app", "example.com", "wordpress", OwnerType::app, true, {}, "{PLAIN}app-secret"},
      {"old", "example.com", "bob", OwnerType::user, false, {}, ""},
      {"dave", "off.net", "dave", OwnerType::user, true, {}, ""},
  };
  d.aliases = {
      {"info", "example.com", {"alice@example.com"}},
      {"al", "other.org", {"alice@example.com"}},
      {"sales-*", "example.com", {"bob@example.com"}},
      {"sales-eu-*", "example.com", {"alice@example.com"}},
      {"fwd", "example.com", {"someone@gmail.com", "bob@example.com"}},
      {"team-alias", "example.com", {"team@example.com"}},
      {"loop1", "example.com", {"loop2@example.com"}},
      {"loop2", "example.com", {"loop1@example.com", "bob@example.com"}},
      {"dead", "example.com", {"old@example.com"}},
  };
  d.lists = {{"team", "example.com", {"alice@example.com", "bob@example.com", "ext@partner.net"}, false, true},
             {"board", "example.com", {"alice@example.com", "chair@partner.net"}, true, true}};
  d.masters = {{"admin", "{PLAIN}master-pass"}};
  return d;
}

std::vector<std::string> mailboxes(const Resolution& r) { return r.mailboxes(); }
using V = std::vector<std::string>;

Resolution res(const DirectorySnapshot& d, std::string_view rcpt, ResolveOptions o = {},
               std::optional<std::string_view> sender = std::nullopt) {
  auto r = resolve(d, rcpt, o, sender);
  BOOST_REQUIRE(r.has_value());
  return *r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(directory_resolution)

BOOST_AUTO_TEST_CASE(snapshot_is_consistent) {
  auto st = validate_snapshot(sample());
  BOOST_TEST(st.has_value(), (st ? "" : st.error().message));
}

BOOST_AUTO_TEST_CASE(mailbox_and_case) {
  auto r = res(sample(), "Alice@EXAMPLE.com");
  BOOST_TEST(r.status == ResolveStatus::deliver);
  BOOST_TEST(mailboxes(r) == V{"alice@example.com"});
  BOOST_TEST(r.reply().code == 250);
}

BOOST_AUTO_TEST_CASE(subaddress_goes_to_base_mailbox_and_alias) {
  auto r = res(sample(), "alice+kayak@example.com");
  BOOST_TEST(r.status == ResolveStatus::deliver);
  BOOST_TEST(mailboxes(r) == V{"alice@example.com"});
  BOOST_TEST(r.detail == "kayak");
  auto a = res(sample(), "info+news@example.com");
  BOOST_TEST(mailboxes(a) == V{"alice@example.com"});
  // A different separator.
  ResolveOptions dash;
  dash.subaddress_separator = '-';
  BOOST_TEST(mailboxes(res(sample(), "bob-x@example.com", dash)) == V{"bob@example.com"});
  // '+' is then an ordinary (unknown) character.
  BOOST_TEST((res(sample(), "alice+tag@example.com", dash).status == ResolveStatus::unknown));
  // Disabled subaddressing.
  ResolveOptions none;
  none.subaddress_separator = '\0';
  BOOST_TEST((res(sample(), "alice+tag@example.com", none).status == ResolveStatus::unknown));
}

BOOST_AUTO_TEST_CASE(aliases_same_and_other_domain) {
  BOOST_TEST(mailboxes(res(sample(), "info@example.com")) == V{"alice@example.com"});
  BOOST_TEST(mailboxes(res(sample(), "al@other.org")) == V{"alice@example.com"});
  auto f = res(sample(), "fwd@example.com");
  BOOST_TEST(f.forwards() == V{"someone@gmail.com"});
  BOOST_TEST(mailboxes(f) == V{"bob@example.com"});
}

// Addresses go through lib/mime's RFC 5321 parser: quoted, IDNA and case forms of one address are one key;
// targets on other hosts keep their local part's case (RFC 5321 2.4), their domain canonical.
BOOST_AUTO_TEST_CASE(quoted_idna_and_case_of_forward_targets) {
  auto d = sample();
  d.domains.push_back({"xn--bcher-kva.example", true, {}});
  d.mailboxes.push_back({"jorg", "xn--bcher-kva.example", "alice", OwnerType::user, true, {}, ""});
  d.aliases.push_back({"out", "example.com", {"Bob.Smith@Partner.NET", "\"Team Lead\"@B\xC3\xBC" "cher.example"}});
  BOOST_TEST(mailboxes(res(d, "\"Alice\"@example.com")) == V{"alice@example.com"});
  BOOST_TEST(mailboxes(res(d, "Jorg@B\xC3\xBC" "cher.Example")) == V{"jorg@xn--bcher-kva.example"});
  auto o = res(d, "out@example.com");
  BOOST_TEST(o.status == ResolveStatus::deliver);
  // The second target is in a domain served here (U-label = A-label) but has no mailbox: not forwarded.
  BOOST_TEST(o.forwards() == V{"Bob.Smith@partner.net"});
  BOOST_TEST(res(d, "\"no body\"@example.com").status == ResolveStatus::unknown);
}

BOOST_AUTO_TEST_CASE(wildcard_aliases_most_specific_wins) {
  BOOST_TEST(mailboxes(res(sample(), "sales-us@example.com")) == V{"bob@example.com"});
  BOOST_TEST(mailboxes(res(sample(), "sales-eu-de@example.com")) == V{"alice@example.com"});
  BOOST_TEST(mailboxes(res(sample(), "sales-@example.com")) == V{"bob@example.com"});
  // Exact mailbox beats wildcard; subaddress on a wildcard match.
  BOOST_TEST(mailboxes(res(sample(), "sales-us+x@example.com")) == V{"bob@example.com"});
}

BOOST_AUTO_TEST_CASE(unknown_and_catch_all) {
  auto u = res(sample(), "nobody@example.com");
  BOOST_TEST(u.status == ResolveStatus::unknown);
  BOOST_TEST(u.reply().code == 550);
  BOOST_TEST(u.reply().enhanced == "5.1.1");
  auto c = res(sample(), "nobody@other.org");
  BOOST_TEST(c.status == ResolveStatus::deliver);
  BOOST_TEST(c.via_catch_all);
  BOOST_TEST(mailboxes(c) == V{"alice@example.com"});
}

BOOST_AUTO_TEST_CASE(inactive_bounces_or_catch_all) {
  auto r = res(sample(), "old@example.com");
  BOOST_TEST(r.status == ResolveStatus::inactive);
  BOOST_TEST(r.reply().enhanced == "5.2.1");
  auto d = sample();
  d.domains[0].catch_all = {"bob@example.com"};
  auto c = res(d, "old@example.com");
  BOOST_TEST(c.status == ResolveStatus::deliver);
  BOOST_TEST(c.via_catch_all);
  BOOST_TEST(mailboxes(c) == V{"bob@example.com"});
  // An alias to a disabled mailbox only is as good as disabled.
  BOOST_TEST((res(sample(), "dead@example.com").status == ResolveStatus::inactive));
}

BOOST_AUTO_TEST_CASE(domains_disabled_and_foreign) {
  auto off = res(sample(), "dave@off.net");
  BOOST_TEST(off.status == ResolveStatus::domain_disabled);
  BOOST_TEST(off.reply().enhanced == "5.1.2");
  auto foreign = res(sample(), "x@gmail.com");
  BOOST_TEST(foreign.status == ResolveStatus::not_local);
  BOOST_TEST(!resolve(sample(), "not an address", {}).has_value());
}

BOOST_AUTO_TEST_CASE(lists_expand_and_mark_their_members) {
  auto r = res(sample(), "team@example.com");
  BOOST_TEST(r.status == ResolveStatus::deliver);
  BOOST_TEST((mailboxes(r) == V{"alice@example.com", "bob@example.com"}));
  BOOST_TEST(r.forwards() == V{"ext@partner.net"});
  for (const auto& t : r.targets) BOOST_TEST(t.via_list == "team@example.com");
  // Through an alias.
  BOOST_TEST(res(sample(), "team-alias@example.com").targets.size() == 3u);
}

BOOST_AUTO_TEST_CASE(list_duplicates_are_suppressed_for_direct_to_cc) {
  auto d = sample();
  // To: team@example.com, Cc: info@example.com (an alias of alice) and ext@partner.net.
  auto r = res(d, "team@example.com");
  auto targets = r.targets;
  auto dropped = suppress_list_duplicates(targets, {"team@example.com", "INFO@example.com", "ext@partner.net"}, d, {});
  BOOST_TEST(dropped == 2u);
  BOOST_REQUIRE(targets.size() == 1u);
  BOOST_TEST(targets[0].address == "bob@example.com");
  // Targets not from a list are never dropped.
  auto direct = res(d, "alice@example.com").targets;
  BOOST_TEST(suppress_list_duplicates(direct, {"alice@example.com"}, d, {}) == 0u);
}

BOOST_AUTO_TEST_CASE(members_only_lists) {
  auto d = sample();
  BOOST_TEST((res(d, "board@example.com", {}, std::string_view("stranger@evil.com")).status ==
              ResolveStatus::members_only));
  BOOST_TEST((res(d, "board@example.com", {}, std::string_view("stranger@evil.com")).reply().enhanced == "5.7.2"));
  BOOST_TEST((res(d, "board@example.com", {}, std::string_view("Chair@Partner.net")).status == ResolveStatus::deliver));
  BOOST_TEST((res(d, "board@example.com", {}, std::string_view("alice+x@example.com")).status == ResolveStatus::deliver));
  BOOST_TEST((res(d, "team@example.com", {}, std::string_view("stranger@evil.com")).status == ResolveStatus::deliver));
}

BOOST_AUTO_TEST_CASE(loops_are_cut_and_duplicates_removed) {
  auto r = res(sample(), "loop1@example.com");
  BOOST_TEST(r.status == ResolveStatus::deliver);
  BOOST_TEST(mailboxes(r) == V{"bob@example.com"});
}

BOOST_AUTO_TEST_CASE(send_as_rules) {
  auto d = sample();
  ResolveOptions o;
  BOOST_TEST(may_send_as(d, "alice@example.com", "alice@example.com", o).allowed);
  BOOST_TEST(may_send_as(d, "alice@example.com", "ALICE+news@example.com", o).allowed);
  BOOST_TEST(may_send_as(d, "alice@example.com", "alice2@example.com", o).allowed);  // same owner
  BOOST_TEST(may_send_as(d, "alice@example.com", "info@example.com", o).allowed);    // own alias
  BOOST_TEST(may_send_as(d, "alice@example.com", "al@other.org", o).allowed);
  BOOST_TEST(may_send_as(d, "alice@example.com", "sales-eu-x@example.com", o).allowed);  // wildcard alias
  auto spoof = may_send_as(d, "alice@example.com", "bob@example.com", o);
  BOOST_TEST(!spoof.allowed);
  BOOST_TEST(spoof.reply("bob@example.com").code == 553);
  BOOST_TEST(spoof.reply("bob@example.com").enhanced == "5.7.1");
  BOOST_TEST(!may_send_as(d, "alice@example.com", "sales-us@example.com", o).allowed);
  BOOST_TEST(!may_send_as(d, "alice@example.com", "ceo@gmail.com", o).allowed);
  // The catch-all does not make every unknown address yours.
  BOOST_TEST(!may_send_as(d, "alice@example.com", "whatever@other.org", o).allowed);
  // Lists only when allowed.
  BOOST_TEST(!may_send_as(d, "bob@example.com", "team@example.com", o).allowed);
  o.send_as_lists = true;
  BOOST_TEST(may_send_as(d, "bob@example.com", "team@example.com", o).allowed);
  BOOST_TEST(!may_send_as(d, "bob@example.com", "board@example.com", o).allowed);
  o.masquerading = true;
  BOOST_TEST(may_send_as(d, "alice@example.com", "bob@example.com", o).allowed);
}

BOOST_AUTO_TEST_CASE(login_by_mailbox_only) {
  auto d = sample();
  auto a = lookup_login(d, "Alice@Example.com");
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->mailbox == "alice@example.com");
  BOOST_TEST(a->active);
  BOOST_REQUIRE(a->credentials.size() == 1u);
  BOOST_TEST(a->credentials[0].password_hash == "{PLAIN}a-pass");

  auto alias = lookup_login(d, "info@example.com");
  BOOST_REQUIRE(!alias);
  BOOST_TEST(alias.error().message.find("log in with the mailbox address") != std::string::npos);
  BOOST_TEST(!lookup_login(d, "alice+tag@example.com"));
  BOOST_TEST(!lookup_login(d, "team@example.com"));
  BOOST_TEST(!lookup_login(d, "nobody@example.com"));

  // Group-owned: every active member's password; disabled members are skipped.
  auto g = lookup_login(d, "shared@example.com");
  BOOST_REQUIRE(g.has_value());
  BOOST_REQUIRE(g->credentials.size() == 2u);
  BOOST_TEST(g->credentials[0].principal == "alice");
  BOOST_TEST(g->credentials[1].principal == "carol");

  // App mailbox: its own secret.
  auto app = lookup_login(d, "wp.app@example.com");
  BOOST_REQUIRE(app.has_value());
  BOOST_REQUIRE(app->credentials.size() == 1u);
  BOOST_TEST(app->credentials[0].password_hash == "{PLAIN}app-secret");

  // Disabled mailbox or disabled owner.
  BOOST_TEST(!lookup_login(d, "old@example.com")->active);
  BOOST_TEST(!lookup_login(d, "dave@off.net")->active);
  BOOST_TEST(lookup_master(d, "admin").has_value());
  BOOST_TEST(!lookup_master(d, "root").has_value());
}

BOOST_AUTO_TEST_CASE(edits_enforce_rules) {
  DirectorySnapshot d;
  BOOST_TEST(edit::add_domain(d, "Example.COM").has_value());
  BOOST_TEST(edit::add_domain(d, "example.com").error().category == tern::ErrorCategory::exists);
  BOOST_TEST(edit::add_user_mailbox(d, "alice@example.com", "{PLAIN}x").has_value());
  BOOST_TEST(!edit::add_user_mailbox(d, "bob@nowhere.org", "{PLAIN}x"));
  BOOST_TEST(!edit::add_user_mailbox(d, "a+b@example.com", "{PLAIN}x"));
  auto conflict = edit::add_alias(d, "alice@example.com", {"bob@x.org"});
  BOOST_REQUIRE(!conflict);
  BOOST_TEST(conflict.error().message.find("conflicts with a mailbox") != std::string::npos);
  BOOST_TEST(edit::add_alias(d, "*@example.com", {"alice@example.com"}).has_value());
  BOOST_TEST(edit::add_list(d, "team@example.com", {"alice@example.com", "x@y.org"}, true).has_value());
  BOOST_TEST(!edit::add_user_mailbox(d, "team@example.com", "{PLAIN}x"));
  BOOST_TEST(!edit::remove_domain(d, "example.com"));
  BOOST_TEST(validate_snapshot(d).has_value());
  BOOST_TEST(edit::set_password(d, "alice@example.com", "{PLAIN}new").has_value());
  BOOST_TEST(d.find_user("alice@example.com")->password_hash == "{PLAIN}new");
  BOOST_TEST(edit::remove_user_mailbox(d, "alice@example.com").has_value());
  BOOST_TEST(d.find_user("alice@example.com") == nullptr);
  BOOST_TEST(d.aliases.empty());  // the alias pointing only at alice went with her
  BOOST_TEST(edit::remove_domain(d, "example.com", true).has_value());
  BOOST_TEST(d.domains.empty());
}

BOOST_AUTO_TEST_CASE(indexed_snapshot_resolves_identically) {
  auto plain = sample();
  auto indexed = sample();
  indexed.build_index();
  BOOST_TEST(indexed.indexed());
  BOOST_TEST(!DirectorySnapshot(indexed).indexed());  // copies start unindexed
  for (const char* rcpt : {"alice@example.com", "alice+x@example.com", "info+y@example.com", "al@other.org",
                           "sales-us@example.com", "sales-eu-1@example.com", "fwd@example.com", "team@example.com",
                           "board@example.com", "loop1@example.com", "dead@example.com", "old@example.com",
                           "nobody@example.com", "nobody@other.org", "dave@off.net", "x@gmail.com", "SHARED@example.com"}) {
    auto a = resolve(plain, rcpt, {}, std::string_view("alice@example.com"));
    auto b = resolve(indexed, rcpt, {}, std::string_view("alice@example.com"));
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST((a->status == b->status), rcpt);
    BOOST_TEST((a->targets == b->targets), rcpt);
    BOOST_TEST(may_send_as(plain, "alice@example.com", rcpt, {}).allowed ==
               may_send_as(indexed, "alice@example.com", rcpt, {}).allowed);
    BOOST_TEST(lookup_login(plain, rcpt).has_value() == lookup_login(indexed, rcpt).has_value());
  }
  BOOST_TEST(indexed.find_master("admin") != nullptr);
  BOOST_TEST(indexed.find_group("sales") != nullptr);
  BOOST_TEST(indexed.wildcard_aliases("example.com").size() == 2u);
}

BOOST_AUTO_TEST_CASE(memory_directory_uses_same_rules) {
  MemoryDirectory dir(sample());
  auto r = dir.resolve("info+x@example.com");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->mailboxes() == V{"alice@example.com"});
  auto bad = dir.apply([](DirectorySnapshot& d) {
    d.aliases.push_back({"bob", "example.com", {"alice@example.com"}});
    return tern::Status{};
  });
  BOOST_TEST(!bad);
  BOOST_TEST(dir.resolve("bob@example.com")->mailboxes() == V{"bob@example.com"});
}

BOOST_AUTO_TEST_SUITE_END()
