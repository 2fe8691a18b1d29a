// RFC 7662 token introspection against an in-process HTTP server playing the authorization server.
#include <httplib.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "tern/auth/oauth_introspection.hpp"
#include "tern/auth/sasl_server.hpp"

using namespace tern::auth;

namespace {

struct FakeAuthorizationServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  int requests = 0;
  FakeAuthorizationServer() {
    server.Post("/oauth2/introspect", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      // client_id "mail" / secret "s3cret" (HTTP Basic)
      if (req.get_header_value("Authorization") != "Basic bWFpbDpzM2NyZXQ=") {
        res.status = 401;
        return;
      }
      auto token = req.get_param_value("token");
      if (req.get_param_value("token_type_hint") != "access_token") res.status = 400;
      else if (token == "good+token/=")
        res.set_content(R"({"active": true, "username": "Bob@Example.com", "scope": "openid email mail",)"
                        R"( "aud": ["mail"], "ext": {"x": 1}, "exp": 2000000000})",
                        "application/json");
      else if (token == "no-mail-scope")
        res.set_content(R"({"active": true, "username": "bob@example.com", "scope": "openid"})", "application/json");
      else if (token == "not-an-address")
        res.set_content(R"({"active": true, "username": "bob", "scope": "mail"})", "application/json");
      else if (token == "garbage")
        res.set_content("<html>", "text/html");
      else
        res.set_content(R"({"active": false})", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeAuthorizationServer() {
    server.stop();
    thread.join();
  }
  IntrospectionConfig config() const {
    IntrospectionConfig c;
    c.url = "http://127.0.0.1:" + std::to_string(port) + "/oauth2/introspect";
    c.client_id = "mail";
    c.client_secret = "s3cret";
    c.required_scope = "mail";
    c.timeout = std::chrono::milliseconds(3000);
    return c;
  }
};

using Outcome = AuthVerdict::Outcome;

}  // namespace

BOOST_AUTO_TEST_SUITE(oauth_introspection)

BOOST_AUTO_TEST_CASE(active_token_with_scope_logs_in_as_its_user) {
  FakeAuthorizationServer as;
  IntrospectionTokenValidator v(as.config());
  auto ok = v.validate_token("bob@example.com", "good+token/=");
  BOOST_TEST(ok.ok(), ok.reason);
  BOOST_TEST(ok.identity == "bob@example.com");
  BOOST_TEST(v.validate_token("", "expired").outcome == Outcome::bad_credentials);
  BOOST_TEST(v.validate_token("", "no-mail-scope").outcome == Outcome::bad_credentials);
  BOOST_TEST(v.validate_token("", "not-an-address").outcome == Outcome::bad_credentials);
  BOOST_TEST(v.validate_token("", "garbage").outcome == Outcome::temporary);
  BOOST_TEST(as.requests == 5);
  // Wrong client credentials: the server refuses us, which is our problem, not the user's.
  auto wrong = as.config();
  wrong.client_secret = "nope";
  BOOST_TEST(IntrospectionTokenValidator(wrong).validate_token("", "good+token/=").outcome == Outcome::temporary);
}

BOOST_AUTO_TEST_CASE(through_the_sasl_engine) {
  FakeAuthorizationServer as;
  IntrospectionTokenValidator v(as.config());
  SaslOptions o;
  o.plaintext_allowed = true;
  o.oauth = true;
  SaslServer s(o);
  auto st = s.start(SaslMechanism::xoauth2, std::string_view("user=bob@example.com\x01" "auth=Bearer good+token/=\x01\x01"));
  BOOST_REQUIRE(st.kind == SaslStep::Kind::check_token);
  st = s.token_checked(v.validate_token(st.token_user, st.token));
  BOOST_TEST(st.kind == SaslStep::Kind::success);
  BOOST_TEST(st.identity == "bob@example.com");
  // A token of bob used to log in as alice is refused.
  SaslServer s2(o);
  st = s2.start(SaslMechanism::xoauth2, std::string_view("user=alice@example.com\x01" "auth=Bearer good+token/=\x01\x01"));
  st = s2.token_checked(v.validate_token(st.token_user, st.token));
  BOOST_TEST(st.failure == SaslFailure::authz_refused);
}

BOOST_AUTO_TEST_CASE(unreachable_server_is_temporary) {
  IntrospectionConfig c;
  c.url = "http://127.0.0.1:1/introspect";
  c.timeout = std::chrono::milliseconds(1000);
  BOOST_TEST(IntrospectionTokenValidator(c).validate_token("", "x").outcome == Outcome::temporary);
  BOOST_TEST(IntrospectionTokenValidator({}).validate_token("", "x").outcome == Outcome::temporary);
}

BOOST_AUTO_TEST_SUITE_END()
