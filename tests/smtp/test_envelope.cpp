// Paths (RFC 5321 4.1.2), xtext (RFC 3461 4) and reply formatting (RFC 5321 4.2, RFC 2034).
#include <boost/test/unit_test.hpp>

#include "tern/smtp/envelope.hpp"
#include "tern/smtp/reply.hpp"

using namespace tern::smtp;

BOOST_AUTO_TEST_SUITE(smtp_envelope)

using tern::mime::AddressError;

// The envelope's paths are lib/mime's (mime::parse_smtp_path) with the options MAIL and RCPT use.
static tern::mime::AddressParse<MailPath> p(std::string_view s, bool null = false, bool utf8 = false, bool pm = false) {
  tern::mime::PathOptions o;
  o.allow_null = null;
  o.allow_utf8 = utf8;
  o.allow_postmaster = pm;
  return tern::mime::parse_smtp_path(s, o);
}

BOOST_AUTO_TEST_CASE(plain_quoted_and_literal_paths) {
  auto a = p("<user@example.com>");
  BOOST_TEST((a.error == AddressError::none));
  BOOST_TEST(a.value.mailbox.address() == "user@example.com");
  BOOST_TEST(a.consumed == 18u);

  auto q = p("<\"john doe\\\"x\"@example.com> SIZE=1");
  BOOST_TEST((q.error == AddressError::none));
  BOOST_TEST(q.value.mailbox.local_part == "john doe\"x");  // unquoted (RFC 5321 4.1.2 quoted-pairSMTP)
  BOOST_TEST(q.value.mailbox.address() == "\"john doe\\\"x\"@example.com");
  BOOST_TEST(q.consumed == 27u);

  BOOST_TEST((p("<a@[192.0.2.1]>").error == AddressError::none));
  BOOST_TEST(p("<a@[192.0.2.1]>").value.mailbox.domain == "[192.0.2.1]");
  BOOST_TEST((p("<a@[IPv6:2001:db8::1]>").error == AddressError::none));
  BOOST_TEST((p("<a@[x-tag:abc]>").error == AddressError::none));
  BOOST_TEST((p("<a@[300.1.1.1]>").error == AddressError::bad_literal));
  BOOST_TEST((p("<a@[IPv6:2001:db8::g]>").error == AddressError::bad_literal));
  BOOST_TEST((p("<a@[1.2.3]>").error == AddressError::bad_literal));
}

BOOST_AUTO_TEST_CASE(source_route_is_accepted_and_ignored) {
  auto r = p("<@relay1.example,@relay2.example:user@final.example>");
  BOOST_TEST((r.error == AddressError::none));
  BOOST_TEST(r.value.mailbox.address() == "user@final.example");
  BOOST_TEST((p("<@relay1.example:user@final.example>").error == AddressError::none));
  BOOST_TEST((p("<@relay1.example user@final.example>").error == AddressError::syntax));
  BOOST_TEST((p("<@:user@final.example>").error == AddressError::syntax));
}

BOOST_AUTO_TEST_CASE(invalid_paths) {
  for (const char* bad : {"user@example.com", "<user@example.com", "<@example.com>", "<user@>", "<user>",
                          "<.user@example.com>", "<user.@example.com>", "<us..er@example.com>",
                          "<user@-example.com>", "<user@example-.com>", "<user@exa_mple.com>", "<user@example..com>",
                          "<user name@example.com>", "<\"unterminated@example.com>", "<user@example.com.>",
                          "<a\"b@example.com>", "<>"})
    BOOST_TEST((p(bad).error != AddressError::none), bad);
}

BOOST_AUTO_TEST_CASE(null_path_and_postmaster) {
  auto n = p("<> BODY=8BITMIME", true);
  BOOST_TEST((n.error == AddressError::none));
  BOOST_TEST(n.value.null);
  BOOST_TEST(n.consumed == 2u);
  auto pm = p("<PostMaster>", false, false, true);
  BOOST_TEST((pm.error == AddressError::none));
  BOOST_TEST(pm.value.postmaster);
  BOOST_TEST((p("<Postmaster>").error == AddressError::syntax));
  BOOST_TEST((p("<webmaster>", false, false, true).error == AddressError::syntax));
}

BOOST_AUTO_TEST_CASE(utf8_only_with_smtputf8) {
  BOOST_TEST((p("<j\xC3\xBCrgen@b\xC3\xBC" "cher.example>").error == AddressError::utf8_not_allowed));
  auto u = p("<j\xC3\xBCrgen@b\xC3\xBC" "cher.example>", false, true);
  BOOST_TEST((u.error == AddressError::none));
  BOOST_TEST(u.value.mailbox.domain == "b\xC3\xBC" "cher.example");
  // Malformed UTF-8 is never a path.
  BOOST_TEST((p("<j\xC3rgen@example.com>", false, true).error == AddressError::syntax));
  BOOST_TEST((p("<j\xED\xA0\x80@example.com>", false, true).error == AddressError::syntax));  // surrogate
}

BOOST_AUTO_TEST_CASE(length_limits) {
  std::string local(64, 'a');
  BOOST_TEST((p("<" + local + "@example.com>").error == AddressError::none));
  BOOST_TEST((p("<" + local + "a@example.com>").error == AddressError::too_long));
  std::string label(63, 'b');
  BOOST_TEST((p("<a@" + label + ".example>").error == AddressError::none));
  BOOST_TEST((p("<a@" + label + "b.example>").error == AddressError::syntax));
  std::string domain;
  for (int i = 0; i < 5; ++i) domain += label + ".";
  domain += "com";  // 323 octets
  BOOST_TEST((p("<a@" + domain + ">").error == AddressError::too_long));
}

BOOST_AUTO_TEST_CASE(xtext) {
  BOOST_TEST(decode_xtext("abc+2Bdef+3D").value() == "abc+def=");
  BOOST_TEST(!decode_xtext("abc+2b"));  // hex must be upper case
  BOOST_TEST(!decode_xtext("abc+2"));
  BOOST_TEST(!decode_xtext("a=b"));
  BOOST_TEST(!decode_xtext("a b"));
  BOOST_TEST(encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d");
  BOOST_TEST(decode_xtext(encode_xtext("rfc822;\xC3\xBC@x")).value() == "rfc822;\xC3\xBC@x");
}

BOOST_AUTO_TEST_CASE(reply_formatting) {
  BOOST_TEST(format_reply({250, "2.1.0", "Sender OK"}) == "250 2.1.0 Sender OK\r\n");
  BOOST_TEST(format_reply({550, "", "No"}) == "550 5.0.0 No\r\n");        // class default
  BOOST_TEST(format_reply({451, "5.1.1", "x"}) == "451 4.0.0 x\r\n");     // class mismatch
  BOOST_TEST(format_reply({354, "2.0.0", "Go"}) == "354 Go\r\n");         // no enhanced on 3xx
  BOOST_TEST(format_reply({214, "2.0.0", "a\nb"}) == "214-2.0.0 a\r\n214 2.0.0 b\r\n");
  BOOST_TEST(format_reply({250, "2.0.0", "a\r\nb"}) == "250-2.0.0 a \r\n250 2.0.0 b\r\n");
  std::string words;
  for (int i = 0; i < 300; ++i) words += "word ";
  std::string out = format_reply({550, "5.7.1", words});
  std::size_t start = 0, lines = 0;
  while (start < out.size()) {
    std::size_t end = out.find("\r\n", start);
    BOOST_TEST(end + 2 - start <= 512u);
    BOOST_TEST(out.compare(start, 10, lines == 0 ? "550-5.7.1 " : out.substr(start, 10)) == 0);
    BOOST_TEST(out.substr(start + 4, 6) == "5.7.1 ");
    start = end + 2;
    ++lines;
  }
  BOOST_TEST(lines >= 3u);
  BOOST_TEST(valid_enhanced_code("5.7.30", 550));
  BOOST_TEST(!valid_enhanced_code("5.7.3000", 550));
  BOOST_TEST(!valid_enhanced_code("2.0", 250));
}

BOOST_AUTO_TEST_SUITE_END()

#include "tern/smtp/protocol_config.hpp"

BOOST_AUTO_TEST_SUITE(smtp_protocol_config)

static tern::Status load(const std::string& text, ServerConfig& c, std::string* diag = nullptr) {
  tern::ConfigDiagnostics d;
  auto doc = tern::ConfigDocument::load_string(text, "t.toml", "/etc/tern", d);
  auto root = doc->root(d);
  BOOST_REQUIRE(root);
  auto s = root->table("protocol");
  BOOST_REQUIRE(s);
  auto st = parse_smtp_protocol_config(*s, c);
  if (diag) *diag = d.to_string();
  return st;
}

BOOST_AUTO_TEST_CASE(reads_every_key_and_reports_unknown_ones) {
  ServerConfig c;
  BOOST_TEST(load("[protocol]\nhostname = \"mx.example.org\"\nmax_message_size = \"10M\"\nmax_recipients = 50\n"
                  "vrfy = true\ndeliverby = 60\nchunking = false\n",
                  c)
                 .has_value());
  BOOST_TEST(c.hostname == "mx.example.org");
  BOOST_TEST(c.max_message_size == 10u * 1024 * 1024);
  BOOST_TEST(c.max_recipients == 50u);
  BOOST_TEST(c.vrfy);
  BOOST_TEST(c.deliverby == 60u);
  BOOST_TEST(!c.chunking);
  BOOST_TEST(c.max_errors == 10u);  // default kept
  ServerConfig d;
  std::string diag;
  BOOST_TEST(!load("[protocol]\nmax_recipients = 0\nbogus = 1\n", d, &diag).has_value());
  BOOST_TEST(diag.find("t.toml:3: protocol.bogus") != std::string::npos, diag);
  BOOST_TEST(diag.find("max_recipients") != std::string::npos, diag);
  BOOST_TEST(d.max_recipients == 100u);
}

BOOST_AUTO_TEST_SUITE_END()
