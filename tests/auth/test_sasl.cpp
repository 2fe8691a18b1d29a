#include <boost/test/unit_test.hpp>

#include "tern/auth/authenticator.hpp"
#include "tern/auth/password_scheme.hpp"
#include "tern/auth/sasl_server.hpp"
#include "tern/auth/scram.hpp"
#include "tern/core/base64.hpp"

using namespace tern::auth;
using namespace tern::directory;
using tern::base64_decode;
using tern::base64_encode;
using Kind = SaslStep::Kind;

namespace {

// doveadm pw -s SCRAM-SHA-256 -p pencil
const char* kPencilScram =
    "{SCRAM-SHA-256}4096,On/qHwN3+Y6ctFtOQX2Siw==,bGwUKkFDnZYdHykdqB9JxYo4AeME9JpQ/plg7DNYqgY=,"
    "AL5gODpPm7PhjgsYJbUvWpVaJKqR2DyDCEbwk2h8H4c=";

DirectorySnapshot accounts() {
  DirectorySnapshot d;
  d.domains = {{"example.com", true, {}}};
  d.users = {{"alice", kPencilScram, true, ""}, {"bob", "{PLAIN}bob-pass", true, ""}, {"eve", "{PLAIN}eve-pass", false, ""}};
  d.mailboxes = {{"alice", "example.com", "alice", OwnerType::user, true, {}, ""},
                 {"bob", "example.com", "bob", OwnerType::user, true, {}, ""},
                 {"eve", "example.com", "eve", OwnerType::user, true, {}, ""}};
  d.aliases = {{"info", "example.com", {"bob@example.com"}}};
  d.masters = {{"admin", "{PLAIN}master-pass"}};
  return d;
}

SaslOptions tls() {
  SaslOptions o;
  o.plaintext_allowed = true;
  return o;
}

std::string nul(std::string_view a, std::string_view b, std::string_view c) {
  std::string s(a);
  s.push_back('\0');
  s += b;
  s.push_back('\0');
  s += c;
  return s;
}

// A SCRAM-SHA-256 client (RFC 5802 3) to talk to the server under test.
struct ScramClient {
  std::string password, gs2 = "n,,", bare, cb;
  std::string first(std::string_view user, std::string_view cnonce) {
    bare = "n=" + std::string(user) + ",r=" + std::string(cnonce);
    return gs2 + bare;
  }
  std::string server_sig;
  std::string final(const std::string& server_first) {
    auto r = server_first.substr(2, server_first.find(',') - 2);
    auto s_pos = server_first.find(",s=") + 3;
    auto salt = *base64_decode(server_first.substr(s_pos, server_first.find(",i=") - s_pos));
    unsigned it = static_cast<unsigned>(std::stoul(server_first.substr(server_first.find(",i=") + 3)));
    auto c = *derive_scram_credentials(password, salt, it);
    std::string without = "c=" + base64_encode(gs2 + cb) + ",r=" + r;
    std::string am = bare + "," + server_first + "," + without;
    // ClientKey is derived again from the password (derive_scram_credentials only keeps H(ClientKey)).
    std::string salted(32, '\0');
    PKCS5_like(salted, salt, it);
    std::string client_key = hmac_sha256(salted, "Client Key");
    std::string sig = hmac_sha256(sha256(client_key), am);
    std::string proof(32, '\0');
    for (int i = 0; i < 32; ++i) proof[i] = static_cast<char>(client_key[i] ^ sig[i]);
    server_sig = "v=" + base64_encode(hmac_sha256(c.server_key, am));
    return without + ",p=" + base64_encode(proof);
  }
  void PKCS5_like(std::string& out, const std::string& salt, unsigned it) {
    // Hi(): U1 = HMAC(P, salt || INT(1)), Ui = HMAC(P, Ui-1), result = U1 ^ ... ^ Ui.
    std::string u = hmac_sha256(password, salt + std::string("\0\0\0\1", 4));
    out = u;
    for (unsigned i = 1; i < it; ++i) {
      u = hmac_sha256(password, u);
      for (int k = 0; k < 32; ++k) out[k] = static_cast<char>(out[k] ^ u[k]);
    }
  }
};

struct FixedToken : TokenValidator {
  AuthVerdict validate_token(std::string_view, std::string_view token) override {
    if (token == "good-token") return AuthVerdict::success("bob@example.com");
    return AuthVerdict::failure(AuthVerdict::Outcome::bad_credentials, "token rejected");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(sasl)

BOOST_AUTO_TEST_CASE(rfc7677_scram_sha256_vector) {
  // RFC 7677 3: user "user", password "pencil".
  struct VectorAuth : Authenticator {
    AuthVerdict verify_password(const PasswordCheck&) override { return {}; }
    std::optional<ScramAccount> scram_account(std::string_view user) override {
      BOOST_TEST(user == "user");
      auto c = derive_scram_credentials("pencil", *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
      return ScramAccount{"user", true, *c};
    }
  } auth;
  SaslOptions o;
  o.scram_nonce = [] { return std::string("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"); };
  SaslServer s(o);
  auto st = s.start(SaslMechanism::scram_sha256, std::string_view("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  BOOST_REQUIRE(st.kind == Kind::lookup_scram);
  st = s.scram_found(auth.scram_account(st.scram_user));
  BOOST_REQUIRE(st.kind == Kind::challenge);
  BOOST_TEST(st.data == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  st = s.step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  BOOST_REQUIRE(st.kind == Kind::success);
  BOOST_TEST(st.data == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  BOOST_TEST(st.identity == "user");

  // The same exchange with one bit of the proof flipped fails.
  SaslServer s2(o);
  s2.start(SaslMechanism::scram_sha256, std::string_view("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  s2.scram_found(auth.scram_account("user"));
  auto bad = s2.step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=");
  BOOST_TEST((bad.kind == Kind::failure && bad.failure == SaslFailure::bad_credentials));
}

BOOST_AUTO_TEST_CASE(scram_against_directory_with_dovecot_hash) {
  MemoryDirectory dir(accounts());
  DirectoryAuthenticator auth(dir);
  for (const char* pw : {"pencil", "pencil2"}) {
    SaslServer s({});
    ScramClient c;
    c.password = pw;
    auto st = run_sasl_sync(s, SaslMechanism::scram_sha256, c.first("alice@example.com", "abcdefgh12345678"), {}, auth);
    BOOST_REQUIRE(st.kind == Kind::challenge);
    st = s.step(c.final(st.data));
    if (std::string(pw) == "pencil") {
      BOOST_REQUIRE(st.kind == Kind::success);
      BOOST_TEST(st.identity == "alice@example.com");
      BOOST_TEST(st.data == c.server_sig);
    } else {
      BOOST_TEST((st.kind == Kind::failure && st.failure == SaslFailure::bad_credentials));
    }
  }
  // {PLAIN}-stored passwords work with SCRAM too; unknown users look the same until the end.
  SaslServer s({});
  ScramClient c;
  c.password = "bob-pass";
  auto st = run_sasl_sync(s, SaslMechanism::scram_sha256, c.first("bob@example.com", "nonce-1"), {}, auth);
  BOOST_REQUIRE(st.kind == Kind::challenge);
  BOOST_TEST(s.step(c.final(st.data)).kind == Kind::success);
  SaslServer u1({}), u2({});
  ScramClient cu;
  cu.password = "x";
  auto a = run_sasl_sync(u1, SaslMechanism::scram_sha256, cu.first("ghost@example.com", "n1"), {}, auth);
  auto b = run_sasl_sync(u2, SaslMechanism::scram_sha256, cu.first("ghost@example.com", "n1"), {}, auth);
  BOOST_REQUIRE(a.kind == Kind::challenge);
  BOOST_TEST(a.data.substr(a.data.find(",s=")) == b.data.substr(b.data.find(",s=")));  // stable fake salt
  BOOST_TEST(u1.step(cu.final(a.data)).kind == Kind::failure);
}

BOOST_AUTO_TEST_CASE(scram_plus_channel_binding) {
  MemoryDirectory dir(accounts());
  DirectoryAuthenticator auth(dir);
  SaslOptions o;
  o.channel_bindings = {{"tls-exporter", std::string("\x01\x02\x03 exporter bytes", 18)}};
  BOOST_TEST((offered_mechanisms(o).front() == SaslMechanism::scram_sha256_plus));
  for (bool right : {true, false}) {
    SaslServer s(o);
    ScramClient c;
    c.password = "pencil";
    c.gs2 = "p=tls-exporter,,";
    c.cb = right ? o.channel_bindings[0].data : std::string("other connection");
    auto st = run_sasl_sync(s, SaslMechanism::scram_sha256_plus, c.first("alice@example.com", "cnonce"), {}, auth);
    BOOST_REQUIRE(st.kind == Kind::challenge);
    auto fin = s.step(c.final(st.data));
    BOOST_TEST((fin.kind == (right ? Kind::success : Kind::failure)));
  }
  // Unknown binding type, and the 'y' downgrade signal while we offer -PLUS.
  SaslServer s1(o);
  BOOST_TEST(s1.start(SaslMechanism::scram_sha256_plus, std::string_view("p=tls-unique,,n=a,r=x")).kind == Kind::failure);
  SaslServer s2(o);
  BOOST_TEST(s2.start(SaslMechanism::scram_sha256, std::string_view("y,,n=a,r=x")).kind == Kind::failure);
  SaslServer s3({});
  BOOST_TEST(s3.start(SaslMechanism::scram_sha256, std::string_view("y,,n=a,r=x")).kind == Kind::lookup_scram);
  SaslServer s4({});
  BOOST_TEST(s4.start(SaslMechanism::scram_sha256_plus).failure == SaslFailure::unsupported);
}

BOOST_AUTO_TEST_CASE(rfc4616_plain) {
  MemoryDirectory dir(accounts());
  DirectoryAuthenticator auth(dir);
  auto run = [&](std::string msg) {
    SaslServer s(tls());
    return run_sasl_sync(s, SaslMechanism::plain, msg, {}, auth);
  };
  auto ok = run(nul("", "bob@example.com", "bob-pass"));
  BOOST_REQUIRE(ok.kind == Kind::success);
  BOOST_TEST(ok.identity == "bob@example.com");
  BOOST_TEST(run(nul("bob@example.com", "Bob@Example.com", "bob-pass")).kind == Kind::success);
  BOOST_TEST(run(nul("", "bob@example.com", "wrong")).failure == SaslFailure::bad_credentials);
  BOOST_TEST(run(nul("alice@example.com", "bob@example.com", "bob-pass")).failure == SaslFailure::bad_credentials);
  BOOST_TEST(run(nul("", "info@example.com", "bob-pass")).failure == SaslFailure::bad_credentials);  // alias login
  BOOST_TEST(run(nul("", "eve@example.com", "eve-pass")).failure == SaslFailure::disabled);
  BOOST_TEST(run(nul("", "nobody@example.com", "x")).failure == SaslFailure::bad_credentials);
  BOOST_TEST(run("no-nuls").failure == SaslFailure::malformed);
  BOOST_TEST(run(nul("", "", "x")).failure == SaslFailure::malformed);
  BOOST_TEST(run(nul("", "bob@example.com", std::string(256, 'x'))).failure == SaslFailure::malformed);
  // Without an initial response: empty challenge first.
  SaslServer s(tls());
  auto st = s.start(SaslMechanism::plain);
  BOOST_TEST((st.kind == Kind::challenge && st.data.empty()));
  st = s.step(nul("", "bob@example.com", "bob-pass"));
  BOOST_REQUIRE(st.kind == Kind::check_password);
  BOOST_TEST(st.password_check.authcid == "bob@example.com");
  BOOST_TEST(s.password_checked(auth.verify_password(st.password_check)).kind == Kind::success);
  // Plaintext is refused without TLS / internal network.
  SaslServer plain_no_tls({});
  auto weak = plain_no_tls.start(SaslMechanism::plain, std::string_view(nul("", "bob@example.com", "bob-pass")));
  BOOST_TEST(weak.failure == SaslFailure::too_weak);
  BOOST_TEST(smtp_reply(weak.failure).code == 538);
  BOOST_TEST(smtp_reply(SaslFailure::bad_credentials).enhanced == "5.7.8");
  BOOST_TEST(offered_mechanisms({}).size() == 1u);
}

BOOST_AUTO_TEST_CASE(login_mechanism) {
  MemoryDirectory dir(accounts());
  DirectoryAuthenticator auth(dir);
  SaslServer s(tls());
  auto st = s.start("login");
  BOOST_TEST(st.data == "Username:");
  st = s.step("bob@example.com");
  BOOST_TEST(st.data == "Password:");
  st = s.step("bob-pass");
  BOOST_REQUIRE(st.kind == Kind::check_password);
  BOOST_TEST(s.password_checked(auth.verify_password(st.password_check)).identity == "bob@example.com");
  SaslServer c(tls());
  c.start("LOGIN");
  BOOST_TEST(c.cancel().failure == SaslFailure::cancelled);
  SaslServer u(tls());
  BOOST_TEST(u.start("CRAM-MD5").failure == SaslFailure::unsupported);
}

BOOST_AUTO_TEST_CASE(master_users_off_by_default) {
  MemoryDirectory dir(accounts());
  DirectoryAuthenticator off(dir);
  PasswordCheck star{"", "bob@example.com*admin", "master-pass"};
  BOOST_TEST(!off.verify_password(star).ok());
  DirectoryAuthenticator on(dir, {true, '*'});
  auto v = on.verify_password(star);
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v.identity == "bob@example.com");
  BOOST_TEST(v.master == "admin");
  BOOST_TEST(!on.verify_password({"", "bob@example.com*admin", "wrong"}).ok());
  BOOST_TEST(!on.verify_password({"", "ghost@example.com*admin", "master-pass"}).ok());
  BOOST_TEST(on.verify_password({"", "eve@example.com*admin", "master-pass"}).outcome == AuthVerdict::Outcome::disabled);
  // PLAIN authzid=user, authcid=master.
  auto z = on.verify_password({"bob@example.com", "admin", "master-pass"});
  BOOST_TEST(z.ok());
  BOOST_TEST(z.identity == "bob@example.com");
  // The master identity comes through SASL.
  SaslServer s(tls());
  auto st = run_sasl_sync(s, SaslMechanism::plain, nul("", "bob@example.com*admin", "master-pass"), {}, on);
  BOOST_TEST(st.master == "admin");
}

BOOST_AUTO_TEST_CASE(oauth_mechanisms) {
  MemoryDirectory dir(accounts());
  DirectoryAuthenticator auth(dir);
  FixedToken tokens;
  SaslOptions o = tls();
  o.oauth = true;
  {
    SaslServer s(o);
    auto st = run_sasl_sync(s, SaslMechanism::xoauth2, std::string("user=bob@example.com\x01" "auth=Bearer good-token\x01\x01"),
                            {}, auth, &tokens);
    BOOST_REQUIRE(st.kind == Kind::success);
    BOOST_TEST(st.identity == "bob@example.com");
  }
  {
    SaslServer s(o);
    auto st = run_sasl_sync(s, SaslMechanism::xoauth2, std::string("user=bob@example.com\x01" "auth=Bearer bad\x01\x01"), {},
                            auth, &tokens);
    BOOST_REQUIRE(st.kind == Kind::challenge);  // error JSON, then the client sends an empty response
    BOOST_TEST(st.data.find("\"status\":\"401\"") != std::string::npos);
    BOOST_TEST(s.step("").failure == SaslFailure::bad_credentials);
  }
  {
    // RFC 7628 3.1 example shape.
    SaslServer s(o);
    std::string msg = "n,a=bob@example.com,\x01host=server.example.com\x01port=143\x01" "auth=Bearer good-token\x01\x01";
    auto st = run_sasl_sync(s, SaslMechanism::oauthbearer, msg, {}, auth, &tokens);
    BOOST_TEST(st.identity == "bob@example.com");
    SaslServer w(o);
    std::string other = "n,a=alice@example.com,\x01" "auth=Bearer good-token\x01\x01";
    BOOST_TEST(run_sasl_sync(w, SaslMechanism::oauthbearer, other, {}, auth, &tokens).failure == SaslFailure::authz_refused);
    SaslServer b(o);
    auto e = run_sasl_sync(b, SaslMechanism::oauthbearer, std::string("n,,\x01" "auth=Bearer nope\x01\x01"), {}, auth, &tokens);
    BOOST_REQUIRE(e.kind == Kind::challenge);
    BOOST_TEST(e.data.find("invalid_token") != std::string::npos);
    BOOST_TEST(b.step("\x01").kind == Kind::failure);
  }
  // No key/value pairs at all ("n,,^A^A") is malformed, not a crash (found by fuzzing).
  SaslServer empty(o);
  BOOST_TEST(empty.start(SaslMechanism::oauthbearer, std::string_view("n,a=x,\x01\x01")).failure == SaslFailure::malformed);
  SaslServer no_oauth(tls());
  BOOST_TEST(no_oauth.start(SaslMechanism::xoauth2).failure == SaslFailure::unsupported);
  SaslServer malformed(o);
  BOOST_TEST(malformed.start(SaslMechanism::xoauth2, std::string_view("user=x")).failure == SaslFailure::malformed);
}

BOOST_AUTO_TEST_CASE(host_directory_answering_live) {
  // An embedding application with its own user database implements only the queries it needs.
  struct HostDirectory : Directory {
    ResolveOptions opts;
    const ResolveOptions& options() const override { return opts; }
    tern::Result<LoginRecord> lookup_login(std::string_view login) override {
      if (login != "host-user@example.com") return tern::fail(tern::ErrorCategory::not_found, "unknown");
      return LoginRecord{"host-user@example.com", true, {{"host-user", "{PLAIN}host-pass", ""}}};
    }
    tern::Result<LoginRecord> lookup_master(std::string_view) override {
      return tern::fail(tern::ErrorCategory::not_found, "no masters");
    }
  } host;
  DirectoryAuthenticator auth(host);
  BOOST_TEST(auth.verify_password({"", "host-user@example.com", "host-pass"}).ok());
  BOOST_TEST(!auth.verify_password({"", "host-user@example.com", "nope"}).ok());
  BOOST_TEST(!host.resolve("x@example.com").has_value());  // no snapshot: says so instead of guessing
  BOOST_TEST((host.resolve("x@example.com").error().category == tern::ErrorCategory::unsupported));
}

BOOST_AUTO_TEST_CASE(async_completion_and_bounds) {
  // The engine waits for the verdict as long as needed and refuses out-of-order calls.
  SaslServer s(tls());
  auto st = s.start(SaslMechanism::plain, std::string_view(nul("", "bob@example.com", "bob-pass")));
  BOOST_REQUIRE(st.kind == Kind::check_password);
  BOOST_TEST(!s.finished());
  BOOST_TEST(s.claimed_user() == "bob@example.com");
  auto done = s.password_checked(AuthVerdict::success("bob@example.com"));
  BOOST_TEST(done.kind == Kind::success);
  BOOST_TEST(s.finished());
  SaslServer t(tls());
  BOOST_TEST(t.password_checked(AuthVerdict::success("x")).kind == Kind::failure);
  SaslServer big(tls());
  big.start(SaslMechanism::plain);
  BOOST_TEST(big.step(std::string(20000, 'a')).failure == SaslFailure::malformed);
  SaslServer tmp(tls());
  tmp.start(SaslMechanism::plain, std::string_view(nul("", "bob@example.com", "x")));
  BOOST_TEST(tmp.password_checked(AuthVerdict::failure(AuthVerdict::Outcome::temporary, "ldap down")).failure ==
             SaslFailure::temporary);
}

BOOST_AUTO_TEST_SUITE_END()
