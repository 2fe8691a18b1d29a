// Run by tests/directory/test_ldap.py against a real slapd loaded with ldap/cloudron.ldif.
#define LDAP_DEPRECATED 0
#include <ldap.h>

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <cstdlib>
#include <thread>

#include "tern/auth/authenticator.hpp"
#include "tern/directory/directory_config.hpp"
#include "tern/directory/ldap_directory.hpp"

using namespace tern::directory;
using namespace tern::auth;
using V = std::vector<std::string>;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  BOOST_REQUIRE_MESSAGE(v != nullptr, name << " is not set: run this through tests/directory/test_ldap.py");
  return v;
}

LdapConfig config(std::string auth = "bind") {
  LdapConfig c;
  c.uri = env("TERN_LDAP_URI");
  c.base_dn = env("TERN_LDAP_BASE");
  c.bind_dn = env("TERN_LDAP_BIND_DN");
  c.bind_password = env("TERN_LDAP_BIND_PW");
  c.auth = std::move(auth);
  c.pool_size = 2;
  return c;
}

std::unique_ptr<LdapDirectory> open(const LdapConfig& c) {
  auto d = LdapDirectory::open(c);
  BOOST_REQUIRE_MESSAGE(d.has_value(), (d ? "" : d.error().message));
  return std::move(*d);
}

AuthVerdict login(Authenticator& a, const std::string& user, const std::string& pw) {
  return a.verify_password({"", user, pw});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ldap_directory)

BOOST_AUTO_TEST_CASE(cloudron_tree_resolves_with_the_shared_rules) {
  auto d = open(config());
  auto snap = d->snapshot();
  BOOST_REQUIRE(snap.has_value());
  BOOST_TEST((*snap)->users.size() == 2u);
  BOOST_TEST(d->snapshot_if_ready().get() == snap->get());  // within cache_ttl: served without LDAP
  BOOST_TEST((*snap)->find_group("sales")->members == V({"girish", "mary"}));
  BOOST_TEST(d->resolve("Girish@Example.com")->mailboxes() == V{"girish@example.com"});
  BOOST_TEST(d->resolve("girish+news@example.com")->mailboxes() == V{"girish@example.com"});
  BOOST_TEST(d->resolve("gk@example.com")->mailboxes() == V{"girish@example.com"});
  BOOST_TEST(d->resolve("girish@other.org")->mailboxes() == V{"girish@example.com"});  // alias on another domain
  auto team = d->resolve("team@example.com", std::string_view("girish@example.com"));
  BOOST_TEST(team->mailboxes() == V{"girish@example.com"});
  BOOST_TEST(team->forwards() == V{"external@partner.net"});
  BOOST_TEST((d->resolve("team@example.com", std::string_view("spammer@evil.example"))->status == ResolveStatus::members_only));
  auto unknown = d->resolve("nobody@example.com");
  BOOST_TEST(unknown->via_catch_all);
  BOOST_TEST(unknown->mailboxes() == V{"mary@example.com"});
  BOOST_TEST(d->resolve("old@example.com")->via_catch_all);  // inactive -> catch-all
  BOOST_TEST((d->resolve("x@off.example")->status == ResolveStatus::domain_disabled));
  BOOST_TEST((d->resolve("x@gmail.com")->status == ResolveStatus::not_local));
  BOOST_TEST(d->may_send_as("girish@example.com", "gk@example.com")->allowed);
  BOOST_TEST(!d->may_send_as("mary@example.com", "gk@example.com")->allowed);
  auto app = d->lookup_login("wp.app@example.com");
  BOOST_REQUIRE(app.has_value());
  BOOST_TEST(app->credentials.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bind_to_authenticate) {
  auto d = open(config("bind"));
  DirectoryAuthenticator a(*d);
  auto ok = login(a, "girish@example.com", "girish-pw");
  BOOST_TEST(ok.ok(), ok.reason);
  BOOST_TEST(ok.identity == "girish@example.com");
  BOOST_TEST(!login(a, "girish@example.com", "wrong").ok());
  BOOST_TEST(!login(a, "girish@example.com", "").ok());  // an empty password must not become an anonymous bind
  BOOST_TEST(login(a, "sales@example.com", "mary-pw").ok());    // group-owned: any member's password
  BOOST_TEST(login(a, "sales@example.com", "girish-pw").ok());
  BOOST_TEST(!login(a, "mary@example.com", "girish-pw").ok());
  BOOST_TEST(!login(a, "gk@example.com", "girish-pw").ok());     // aliases cannot log in
  BOOST_TEST(login(a, "wp.app@example.com", "app-secret").ok());  // app mailbox: its own secret
  BOOST_TEST(login(a, "old@example.com", "mary-pw").outcome == AuthVerdict::Outcome::disabled);
}

BOOST_AUTO_TEST_CASE(password_attribute_compare) {
  auto d = open(config("compare"));
  DirectoryAuthenticator a(*d);
  BOOST_TEST(login(a, "mary@example.com", "mary-pw").ok());
  BOOST_TEST(!login(a, "mary@example.com", "girish-pw").ok());
  BOOST_TEST(login(a, "sales@example.com", "girish-pw").ok());
}

BOOST_AUTO_TEST_CASE(starttls_and_ldaps) {
  auto c = config();
  c.start_tls = true;
  c.ca_file = env("TERN_LDAP_CA");
  auto d = open(c);
  DirectoryAuthenticator a(*d);
  BOOST_TEST(login(a, "girish@example.com", "girish-pw").ok());

  auto s = config();
  s.uri = env("TERN_LDAPS_URI");
  s.ca_file = env("TERN_LDAP_CA");
  auto ds = open(s);
  BOOST_TEST(ds->resolve("girish@example.com")->mailboxes() == V{"girish@example.com"});

  // Without the CA the self-signed certificate is refused.
  auto untrusted = config();
  untrusted.start_tls = true;
  untrusted.ca_file = "/nonexistent-ca.pem";
  BOOST_TEST(!LdapDirectory::open(untrusted).has_value());
}

BOOST_AUTO_TEST_CASE(errors_are_reported) {
  auto bad_bind = config();
  bad_bind.bind_password = "wrong";
  auto r = LdapDirectory::open(bad_bind);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message.find("Invalid credentials") != std::string::npos, r.error().message);
  auto down = config();
  down.uri = "ldap://127.0.0.1:1";
  down.timeout = std::chrono::milliseconds(2000);
  auto d = LdapDirectory::open(down);
  BOOST_REQUIRE(!d);
  BOOST_TEST((d.error().category == tern::ErrorCategory::temporary));
}

BOOST_AUTO_TEST_CASE(pooled_connections_under_concurrency) {
  auto d = open(config());
  DirectoryAuthenticator a(*d);
  std::atomic<int> good{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        bool right = (i + t) % 2 == 0;
        auto v = login(a, "girish@example.com", right ? "girish-pw" : "nope");
        if (v.ok() == right) ++good;
        else ++bad;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(good.load() == 48);
  BOOST_TEST(bad.load() == 0);
}

BOOST_AUTO_TEST_CASE(changes_are_seen_after_refresh) {
  auto c = config();
  c.cache_ttl = std::chrono::milliseconds(0);
  auto d = open(c);
  BOOST_TEST(d->snapshot_if_ready() == nullptr);  // every lookup asks the server: never "ready"
  BOOST_TEST((d->resolve("new@example.com")->via_catch_all));
  // Add a mailbox with the plain client library, as an admin tool would.
  LDAP* ld = nullptr;
  BOOST_REQUIRE(ldap_initialize(&ld, c.uri.c_str()) == LDAP_SUCCESS);
  int v3 = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  berval cred{static_cast<ber_len_t>(c.bind_password.size()), c.bind_password.data()};
  BOOST_REQUIRE(ldap_sasl_bind_s(ld, c.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr) == LDAP_SUCCESS);
  char oc[] = "objectClass", cn[] = "cn", mail[] = "mail", owner[] = "owner";
  char v_oc[] = "ternMailbox", v_cn[] = "new@example.com", v_owner[] = "uid=girish,ou=users,dc=cloudron";
  char* oc_vals[] = {v_oc, nullptr};
  char* cn_vals[] = {v_cn, nullptr};
  char* owner_vals[] = {v_owner, nullptr};
  LDAPMod m1{LDAP_MOD_ADD, oc, {oc_vals}}, m2{LDAP_MOD_ADD, cn, {cn_vals}}, m3{LDAP_MOD_ADD, mail, {cn_vals}},
      m4{LDAP_MOD_ADD, owner, {owner_vals}};
  LDAPMod* mods[] = {&m1, &m2, &m3, &m4, nullptr};
  int rc = ldap_add_ext_s(ld, "cn=new@example.com,ou=mailboxes,dc=cloudron", mods, nullptr, nullptr);
  ldap_unbind_ext_s(ld, nullptr, nullptr);
  BOOST_REQUIRE_MESSAGE(rc == LDAP_SUCCESS, ldap_err2string(rc));
  auto r = d->resolve("new@example.com");
  BOOST_TEST(!r->via_catch_all);
  BOOST_TEST(r->mailboxes() == V{"new@example.com"});
  DirectoryAuthenticator a(*d);
  BOOST_TEST(login(a, "new@example.com", "girish-pw").ok());
}

BOOST_AUTO_TEST_SUITE_END()
