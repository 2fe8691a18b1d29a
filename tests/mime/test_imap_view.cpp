// ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2) and the inspect JSON.
#include <boost/test/unit_test.hpp>

#include "tern/mime/imap_view.hpp"
#include "tern/mime/inspect.hpp"

using namespace tern::mime;

namespace {
const char kMsg[] =
    "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n"
    "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>\r\n"
    "To: Team: a@x.org, \"B \\\"Q\\\"\" <b@y.org>;\r\n"
    "Subject: =?UTF-8?B?w6TDtsO8?= report\r\n"
    "Message-ID: <id1@example.de>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9\r\n"
    "line 2\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"r.pdf\"\r\n"
    "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-ID: <c1@x>\r\n"
    "Content-Language: en, de\r\n"
    "\r\n"
    "JVBERi0=\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@example.org\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "hello\r\n"
    "--b1--\r\n";
}  // namespace

BOOST_AUTO_TEST_CASE(envelope_matches_rfc9051) {
  Message m = parse(kMsg);
  Envelope e = make_envelope(m, m.root());
  BOOST_TEST(to_imap(e) ==
             "(\"Mon, 2 Jan 2006 15:04:05 -0700\" \"=?UTF-8?B?w6TDtsO8?= report\" "
             "((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"joerg\" \"example.de\")) "
             "((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"joerg\" \"example.de\")) "
             "((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"joerg\" \"example.de\")) "
             "((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.org\")(\"B \\\"Q\\\"\" NIL \"b\" \"y.org\")(NIL NIL NIL NIL)) "
             "NIL NIL NIL \"<id1@example.de>\")");
}

BOOST_AUTO_TEST_CASE(bodystructure_matches_rfc9051) {
  Message m = parse(kMsg);
  BodyStructure b = make_body_structure(m);
  BOOST_TEST(b.multipart);
  BOOST_REQUIRE(b.children.size() == 3u);
  BOOST_TEST(b.children[0].size == 17u);
  BOOST_TEST(b.children[0].lines == 2u);
  BOOST_TEST(to_imap(b.children[0]) ==
             "(\"TEXT\" \"PLAIN\" (\"charset\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 17 2 NIL NIL NIL NIL)");
  BOOST_TEST(to_imap(b.children[1]) ==
             "(\"APPLICATION\" \"PDF\" (\"name\" \"r.pdf\") \"<c1@x>\" NIL \"BASE64\" 8 NIL "
             "(\"ATTACHMENT\" (\"filename\" \"r\xC3\xA9sum\xC3\xA9.pdf\")) (\"en\" \"de\") NIL)");
  BOOST_TEST(to_imap(b.children[2], false) ==
             "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 48 "
             "(NIL \"inner\" ((NIL NIL \"inner\" \"example.org\")) ((NIL NIL \"inner\" \"example.org\")) "
             "((NIL NIL \"inner\" \"example.org\")) NIL NIL NIL NIL NIL) "
             "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 5 1) 4)");
  std::string whole = to_imap(b, false);
  BOOST_TEST(whole.substr(whole.size() - 9) == " \"MIXED\")");
}

BOOST_AUTO_TEST_CASE(inspect_json_has_decoded_fields) {
  std::string j = inspect_json(std::string_view(kMsg));
  BOOST_TEST(j.find("\"subject\":\"\xC3\xA4\xC3\xB6\xC3\xBC report\"") != std::string::npos);
  BOOST_TEST(j.find("{\"name\":\"J\xC3\xB6rg\",\"address\":\"joerg@example.de\"}") != std::string::npos);
  BOOST_TEST(j.find("\"filename\":\"r\xC3\xA9sum\xC3\xA9.pdf\"") != std::string::npos);
  BOOST_TEST(j.find("\"decoded_size\":13") != std::string::npos);  // "caf\xC3\xA9\r\nline 2": 5 + 2 + 6 bytes
  BOOST_TEST(j.find("\"date_parsed\":\"Mon, 2 Jan 2006 15:04:05 -0700\"") != std::string::npos);
  BOOST_TEST(j.find("\"defects\":[]") != std::string::npos);
  BOOST_TEST(json_quote("a\"\n\x01") == "\"a\\\"\\n\\u0001\"");
}

BOOST_AUTO_TEST_CASE(envelope_groups_nil_and_single_part_body) {
  Message m = parse("To: Team: bare;\r\nCc: x@y\r\nIn-Reply-To: <a@b>\r\n\r\nhi\r\n");
  Envelope e = make_envelope(m, m.root());
  BOOST_TEST(to_imap(e) ==
             "(NIL NIL NIL NIL NIL ((NIL NIL \"Team\" NIL)(NIL NIL \"bare\" \"\")(NIL NIL NIL NIL)) "
             "((NIL NIL \"x\" \"y\")) NIL \"<a@b>\" NIL)");
  BOOST_TEST(to_imap(make_body_structure(m), false) ==
             "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 4 1)");
  // CR/LF in a value forces a literal (RFC 9051 §4.3).
  Envelope lit;
  lit.subject = "a\r\nb";
  BOOST_TEST(to_imap(lit).find("{4}\r\na\r\nb") != std::string::npos);
}
