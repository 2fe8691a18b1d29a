#include <boost/test/unit_test.hpp>

#include "tern/auth/auth_config.hpp"
#include "tern/core/config.hpp"
#include "tern/directory/directory_config.hpp"

using namespace tern;

namespace {
struct Parsed {
  ConfigDiagnostics diag;
  std::shared_ptr<ConfigDocument> doc;
  std::optional<ConfigSection> root;
  explicit Parsed(std::string_view text) {
    doc = ConfigDocument::load_string(text, "tern.toml", "/etc/tern", diag);
    root = doc->root(diag);
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(directory_config)

BOOST_AUTO_TEST_CASE(defaults) {
  directory::DirectoryConfig d;
  BOOST_TEST(d.backend == "file");
  BOOST_TEST(d.resolve.subaddress_separator == '+');
  BOOST_TEST(!d.resolve.masquerading);
  BOOST_TEST(directory::directory_file(d, "/var/lib/tern") == "/var/lib/tern/directory/directory.toml");
  auth::AuthConfig a;
  BOOST_TEST(!a.authenticator.master_users);
  BOOST_TEST(a.throttle.base_delay.count() == 1000);
}

BOOST_AUTO_TEST_CASE(directory_section) {
  Parsed p(R"X([directory]
backend = "ldap"
file = "dir.toml"
subaddress_separator = "-"
masquerading = true
reload_interval = "5s"
[directory.ldap]
uri = "ldaps://ldap.example.com"
base_dn = "dc=example,dc=com"
auth = "compare"
pool_size = 8
mailbox_filter = "(objectClass=mailbox)"
)X");
  auto s = p.root->table("directory");
  BOOST_REQUIRE(s.has_value());
  directory::DirectoryConfig d;
  auto st = directory::parse_directory_config(*s, d);
  BOOST_REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message));
  BOOST_TEST(d.backend == "ldap");
  BOOST_TEST(d.file == "/etc/tern/dir.toml");
  BOOST_TEST(d.resolve.subaddress_separator == '-');
  BOOST_TEST(d.resolve.masquerading);
  BOOST_TEST(d.reload_interval.count() == 5000);
  BOOST_TEST(d.ldap.uri == "ldaps://ldap.example.com");
  BOOST_TEST(d.ldap.auth == "compare");
  BOOST_TEST(d.ldap.pool_size == 8);
  BOOST_TEST(d.ldap.mailbox_filter == "(objectClass=mailbox)");
}

BOOST_AUTO_TEST_CASE(directory_errors_name_line_and_key) {
  Parsed p("[directory]\nbackend = \"sql\"\nsubaddress_separator = \"++\"\ncolour = 1\n");
  auto s = p.root->table("directory");
  directory::DirectoryConfig d;
  auto st = directory::parse_directory_config(*s, d);
  BOOST_REQUIRE(!st);
  BOOST_TEST(st.error().message.find("tern.toml:2: directory.backend") != std::string::npos, st.error().message);
  BOOST_TEST(st.error().message.find("tern.toml:3: directory.subaddress_separator") != std::string::npos);
  BOOST_TEST(st.error().message.find("colour") != std::string::npos);
  Parsed q("[directory]\nbackend = \"ldap\"\n");
  auto s2 = q.root->table("directory");
  BOOST_TEST(!directory::parse_directory_config(*s2, d));
  Parsed r("[directory]\nsubaddress_separator = \"\"\n");
  auto s3 = r.root->table("directory");
  directory::DirectoryConfig off;
  BOOST_REQUIRE(directory::parse_directory_config(*s3, off).has_value());
  BOOST_TEST(off.resolve.subaddress_separator == '\0');
}

BOOST_AUTO_TEST_CASE(auth_section) {
  Parsed p(R"([auth]
password_scheme = "argon2id"
master_users = true
failure_delay = "250ms"
max_failure_delay = "10s"
ip_lockout_after = 5
lockout = "1h"
allowlist = ["172.18.0.0/16", "::1/128"]
)");
  auto s = p.root->table("auth");
  auth::AuthConfig a;
  auto st = auth::parse_auth_config(*s, a);
  BOOST_REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message));
  BOOST_TEST((a.password_scheme == auth::PasswordScheme::argon2id));
  BOOST_TEST(a.authenticator.master_users);
  BOOST_TEST(a.throttle.base_delay.count() == 250);
  BOOST_TEST(a.throttle.ip_lockout_after == 5u);
  BOOST_TEST(a.throttle.lockout.count() == 3600000);
  BOOST_TEST(net::in_networks(a.throttle.allowlist, asio::ip::make_address("172.18.9.9")));
  BOOST_TEST(!net::in_networks(a.throttle.allowlist, asio::ip::make_address("172.19.0.1")));
  Parsed oauth("[auth.oauth]\nintrospection_url = \"https://idp.example.com/introspect\"\nclient_id = \"mail\"\n"
               "required_scope = \"mail\"\ntimeout = \"2s\"\n");
  auto so = oauth.root->table("auth");
  auth::AuthConfig ao;
  BOOST_REQUIRE(auth::parse_auth_config(*so, ao).has_value());
  BOOST_TEST(ao.oauth.url == "https://idp.example.com/introspect");
  BOOST_TEST(ao.oauth.required_scope == "mail");
  BOOST_TEST(ao.oauth.timeout.count() == 2000);
  Parsed badurl("[auth.oauth]\nintrospection_url = \"ftp://x\"\n");
  auto sb = badurl.root->table("auth");
  BOOST_TEST(!auth::parse_auth_config(*sb, ao).has_value());
  Parsed bad("[auth]\npassword_scheme = \"MD5\"\nallowlist = [\"not-a-network\"]\n");
  auto s2 = bad.root->table("auth");
  auto st2 = auth::parse_auth_config(*s2, a);
  BOOST_REQUIRE(!st2);
  BOOST_TEST(st2.error().message.find("auth.password_scheme") != std::string::npos);
  BOOST_TEST(st2.error().message.find("tern.toml:3: auth.allowlist") != std::string::npos, st2.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
