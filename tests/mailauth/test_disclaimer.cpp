// add_disclaimer: one test per MIME shape; every result is parsed again with the MIME parser and the
// decoded parts compared with what a reader would see.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "tern/mailauth/disclaimer.hpp"
#include "tern/mailauth/disclaimer_store.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/message.hpp"

using namespace tern;
using namespace tern::mailauth;

namespace {

const DisclaimerText kText{"This message is confidential.\nExample Ltd, Registered in Nowhere.\n",
                           "<p class=\"disc\">This message is <b>confidential</b>.</p>"};
const std::string kTextCrlf = "This message is confidential.\r\nExample Ltd, Registered in Nowhere.";
const std::string kHtml = "<p class=\"disc\">This message is <b>confidential</b>.</p>";

struct Decoded {
  std::string type, charset, cte, text;  // text: decoded body in UTF-8
};

Decoded decoded(const std::string& msg, std::string_view number) {
  auto m = mime::parse(msg);
  const mime::Part* p = number.empty() ? &m.root() : m.find(number);
  BOOST_REQUIRE_MESSAGE(p, "part " << number << " exists");
  Decoded d;
  d.type = p->content_type.mime_type();
  const std::string* cs = mime::find_parameter(p->content_type.params, "charset");
  d.charset = cs ? *cs : "";
  d.cte = p->transfer_encoding;
  auto body = mime::decode_transfer_encoding(m.body(*p), p->transfer_encoding);
  BOOST_CHECK(body.clean);
  d.text = mime::to_utf8(d.charset.empty() ? "us-ascii" : d.charset, body.data).data;
  return d;
}

std::string raw_part(const std::string& msg, std::string_view number) {
  auto m = mime::parse(msg);
  const mime::Part* p = m.find(number);
  BOOST_REQUIRE(p);
  return std::string(msg.substr(p->header_start, p->body_end - p->header_start));
}

bool ends_with(std::string_view s, std::string_view t) { return s.size() >= t.size() && s.substr(s.size() - t.size()) == t; }

std::size_t count(std::string_view s, std::string_view t) {
  std::size_t n = 0;
  for (auto p = s.find(t); p != std::string_view::npos; p = s.find(t, p + 1)) ++n;
  return n;
}

DisclaimerOutcome add(const std::string& msg, const DisclaimerText& d = kText) {
  auto out = add_disclaimer(msg, "Example.COM", d);
  if (out.result == DisclaimerResult::added) {
    auto m = mime::parse(out.message);
    for (const auto& def : m.defects)
      BOOST_CHECK_MESSAGE(def.kind == mime::DefectKind::close_boundary_not_found,
                          "no new defect: " << mime::to_string(def.kind));
  }
  return out;
}

const std::string kHead = "From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: hi\r\n"
                          "Message-ID: <1@example.com>\r\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(disclaimer)

BOOST_AUTO_TEST_CASE(plain_7bit_gets_text_after_a_blank_line_and_the_marker) {
  std::string msg = kHead + "\r\nHello Bob,\r\nsee you.\r\n";
  auto out = add(msg);
  BOOST_REQUIRE_EQUAL(to_string(out.result), "added");
  BOOST_CHECK_EQUAL(out.message, kHead + "X-Tern-Disclaimer: example.com\r\n\r\nHello Bob,\r\nsee you.\r\n\r\n" +
                                     kTextCrlf + "\r\n");
  BOOST_REQUIRE_EQUAL(out.parts.size(), 1u);
  BOOST_CHECK_EQUAL(out.parts[0], "1");
  BOOST_CHECK(!out.converted_to_utf8);
}

BOOST_AUTO_TEST_CASE(body_without_final_line_break_and_header_only_message) {
  auto out = add(kHead + "\r\nno newline");
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(ends_with(out.message, "\r\n\r\nno newline\r\n\r\n" + kTextCrlf));
  out = add(kHead);  // no empty line, no body
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK_EQUAL(out.message, kHead + "X-Tern-Disclaimer: example.com\r\n\r\n" + kTextCrlf + "\r\n");
}

BOOST_AUTO_TEST_CASE(quoted_printable_stays_quoted_printable) {
  std::string body = "Caf=C3=A9 au lait, a very long line that goes on and on and on and on and on and o=\r\nn.\r\n";
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + body;
  auto out = add(msg, {"Vertraulich – nur für den Empfänger.", ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.cte, "quoted-printable");
  BOOST_CHECK_EQUAL(d.charset, "utf-8");
  std::string before = mime::decode_quoted_printable(body).data;
  BOOST_CHECK_EQUAL(d.text, before + "\r\nVertraulich – nur für den Empfänger.\r\n");
  BOOST_CHECK(out.message.find("f=C3=BCr") != std::string::npos);  // encoded, not raw 8-bit
}

BOOST_AUTO_TEST_CASE(base64_stays_base64) {
  std::string text = "Line one\r\nLine two \xc3\xa9\r\n";
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\n" + mime::encode_base64(text) + "\r\n";
  auto out = add(msg);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.cte, "base64");
  BOOST_CHECK_EQUAL(d.text, text + "\r\n" + kTextCrlf + "\r\n");
  BOOST_CHECK(ends_with(out.message, "\r\n"));
}

BOOST_AUTO_TEST_CASE(iso_8859_1_body_keeps_its_charset_when_the_text_fits) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9 cr\xe8me\r\n";
  auto out = add(msg, {"Confidentialit\xc3\xa9 assur\xc3\xa9" "e.", ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(!out.converted_to_utf8);
  BOOST_CHECK(ends_with(out.message, "Caf\xe9 cr\xe8me\r\n\r\nConfidentialit\xe9 assur\xe9" "e.\r\n"));
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.charset, "iso-8859-1");
  BOOST_CHECK_EQUAL(d.cte, "8bit");
}

BOOST_AUTO_TEST_CASE(iso_8859_1_body_becomes_utf8_when_the_text_does_not_fit) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1; format=flowed\r\n"
                            "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me\r\n";
  auto out = add(msg, {"Price: 5 \xe2\x82\xac.", ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(out.converted_to_utf8);
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.charset, "utf-8");
  BOOST_CHECK_EQUAL(d.cte, "quoted-printable");
  BOOST_CHECK_EQUAL(d.text, "Caf\xc3\xa9 cr\xc3\xa8me\r\n\r\nPrice: 5 \xe2\x82\xac.\r\n");
  auto m = mime::parse(out.message);
  const std::string* fmt = mime::find_parameter(m.root().content_type.params, "format");
  BOOST_REQUIRE(fmt);
  BOOST_CHECK_EQUAL(*fmt, "flowed");
  BOOST_CHECK_EQUAL(count(out.message, "Content-Type:"), 1u);
}

BOOST_AUTO_TEST_CASE(non_mime_ascii_message_gets_utf8_quoted_printable_and_mime_version) {
  auto out = add(kHead + "\r\nplain old mail\r\n", {"Gr\xc3\xbc\xc3\x9f" "e", ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  auto m = mime::parse(out.message);
  BOOST_CHECK(m.root().header("mime-version"));
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.charset, "utf-8");
  BOOST_CHECK_EQUAL(d.cte, "quoted-printable");
  BOOST_CHECK_EQUAL(d.text, "plain old mail\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n");
  for (char c : out.message) BOOST_REQUIRE(static_cast<unsigned char>(c) < 0x80);  // still 7bit on the wire
}

BOOST_AUTO_TEST_CASE(html_inserted_before_closing_body) {
  std::string html = "<html><head><title>x</title></head><BODY><p>Hi</p>\r\n</Body>\r\n</html>\r\n";
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html;
  auto out = add(msg);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.text, "<html><head><title>x</title></head><BODY><p>Hi</p>\r\n" + kHtml +
                                "\r\n</Body>\r\n</html>\r\n");
}

BOOST_AUTO_TEST_CASE(html_without_body_tag_gets_it_at_the_end) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>";
  auto out = add(msg);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(ends_with(out.message, "\r\n\r\n<p>Hi</p>\r\n" + kHtml));
}

BOOST_AUTO_TEST_CASE(html_in_latin1_gets_character_references_and_keeps_its_charset) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n\r\n<body>caf\xe9</body>\r\n";
  auto out = add(msg, {"x", "<p>5 \xe2\x82\xac \xc3\xa9</p>"});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(!out.converted_to_utf8);
  BOOST_CHECK(ends_with(out.message, "<body>caf\xe9\r\n<p>5 &#8364; &#233;</p>\r\n</body>\r\n"));
}

BOOST_AUTO_TEST_CASE(html_from_text_when_no_html_is_configured) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<body>x</body>\r\n";
  auto out = add(msg, {"A < B & C\nline 2", ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(out.message.find("A &lt; B &amp; C<br>\r\nline 2") != std::string::npos);
}

const std::string kAlternative =
    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
    "--alt\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n"
    "--alt\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<html><body>Hello</body></html>\r\n"
    "--alt--\r\n";

BOOST_AUTO_TEST_CASE(alternative_gets_both_text_and_html) {
  auto out = add(kHead + kAlternative);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_REQUIRE_EQUAL(out.parts.size(), 2u);
  BOOST_CHECK_EQUAL(decoded(out.message, "1").text, "Hello\r\n\r\n" + kTextCrlf);
  BOOST_CHECK_EQUAL(decoded(out.message, "2").text, "<html><body>Hello\r\n" + kHtml + "\r\n</body></html>");
  BOOST_CHECK(out.message.find("\r\n--alt--\r\n") != std::string::npos);
}

const std::string kAttachment = "--mix\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n"
                                "Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nattached text\r\n";
const std::string kPdf = "--mix\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfs\r\n";

BOOST_AUTO_TEST_CASE(mixed_changes_the_first_text_part_only_never_attachments) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n"
                            "preamble\r\n--mix\r\nContent-Type: text/plain\r\n\r\nBody text\r\n" + kAttachment + kPdf +
                    "--mix\r\nContent-Type: text/plain\r\n\r\nsecond inline text\r\n--mix--\r\nepilogue\r\n";
  auto out = add(msg);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_REQUIRE_EQUAL(out.parts.size(), 1u);
  BOOST_CHECK_EQUAL(decoded(out.message, "1").text, "Body text\r\n\r\n" + kTextCrlf);
  BOOST_CHECK_EQUAL(raw_part(out.message, "2"), raw_part(msg, "2"));
  BOOST_CHECK_EQUAL(raw_part(out.message, "3"), raw_part(msg, "3"));
  BOOST_CHECK_EQUAL(raw_part(out.message, "4"), raw_part(msg, "4"));
  BOOST_CHECK(ends_with(out.message, "--mix--\r\nepilogue\r\n"));
  BOOST_CHECK(out.message.find("preamble\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mixed_whose_first_part_is_an_attachment_uses_the_next_text_part) {
  std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n" + kPdf +
                    "--mix\r\nContent-Type: text/plain\r\n\r\nBody\r\n--mix--\r\n";
  auto out = add(msg);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK_EQUAL(out.parts.at(0), "2");
  BOOST_CHECK_EQUAL(raw_part(out.message, "1"), raw_part(msg, "1"));
}

BOOST_AUTO_TEST_CASE(nested_mixed_alternative_related_and_embedded_message) {
  std::string msg = kHead +
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n"
      "--mix\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
      "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi =E2=9C=93\r\n"
      "--alt\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n"
      "--rel\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      mime::encode_base64("<html><body><img src=\"cid:logo\">Hi</body></html>") + "\r\n"
      "--rel\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
      "--rel--\r\n"
      "--alt--\r\n" +
      kPdf +
      "--mix\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\nSubject: fwd\r\n\r\nforwarded body\r\n"
      "--mix--\r\n";
  auto out = add(msg);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_REQUIRE_EQUAL(out.parts.size(), 2u);
  BOOST_CHECK_EQUAL(out.parts[0], "1.1");
  BOOST_CHECK_EQUAL(out.parts[1], "1.2.1");
  BOOST_CHECK_EQUAL(decoded(out.message, "1.1").text, "Hi \xe2\x9c\x93\r\n\r\n" + kTextCrlf);
  auto html = decoded(out.message, "1.2.1");
  BOOST_CHECK_EQUAL(html.cte, "base64");
  BOOST_CHECK_EQUAL(html.text, "<html><body><img src=\"cid:logo\">Hi\r\n" + kHtml + "\r\n</body></html>");
  BOOST_CHECK_EQUAL(raw_part(out.message, "1.2.2"), raw_part(msg, "1.2.2"));
  BOOST_CHECK_EQUAL(raw_part(out.message, "2"), raw_part(msg, "2"));
  BOOST_CHECK_EQUAL(raw_part(out.message, "3"), raw_part(msg, "3"));
  BOOST_CHECK_EQUAL(count(out.message, "confidential"), 1u);  // the HTML copy is inside base64
}

BOOST_AUTO_TEST_CASE(signed_and_encrypted_messages_are_left_alone) {
  for (std::string ct : {"multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=s",
                         "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=s",
                         "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m"}) {
    std::string msg = kHead + "MIME-Version: 1.0\r\nContent-Type: " + ct +
                      "\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\n"
                      "Content-Type: application/pgp-signature\r\n\r\nsig\r\n--s--\r\n";
    auto out = add(msg);
    BOOST_CHECK_MESSAGE(out.result == DisclaimerResult::signed_or_encrypted, ct);
    BOOST_CHECK(out.message.empty());
  }
  // A signed body inside multipart/mixed (a mailing list footer would be outside it): still left alone.
  std::string msg = kHead + "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n"
                            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\r\n\r\n"
                            "--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\n"
                            "AAAA\r\n--s--\r\n--m--\r\n";
  BOOST_CHECK(add(msg).result == DisclaimerResult::signed_or_encrypted);
  // Already DKIM-signed by someone else: the body hash would break.
  BOOST_CHECK(add("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; bh=x; b=y\r\n" + kHead + "\r\nhi\r\n").result ==
              DisclaimerResult::signed_or_encrypted);
  // Inline PGP (RFC 4880 §7): the cleartext signature would still verify, but the text would look signed.
  msg = kHead + "\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhello\r\n-----BEGIN PGP SIGNATURE-----\r\n";
  BOOST_CHECK(add(msg).result == DisclaimerResult::signed_or_encrypted);
}

BOOST_AUTO_TEST_CASE(never_stamped_twice) {
  std::string msg = kHead + kAlternative;
  auto once = add(msg);
  BOOST_REQUIRE(once.result == DisclaimerResult::added);
  auto twice = add(once.message);
  BOOST_CHECK(twice.result == DisclaimerResult::already_present);
  // A reply through the same server that quotes the stamped text (the marker header is not copied).
  std::string reply = kHead + "\r\nThanks!\r\n\r\nOn Monday Bob wrote:\r\n> Hello\r\n>\r\n"
                              "> This message is confidential.\r\n> Example Ltd, Registered\r\n> in Nowhere.\r\n";
  BOOST_CHECK(add(reply).result == DisclaimerResult::already_present);
  std::string html_reply = kHead + "Content-Type: text/html\r\n\r\n<body>Thanks<blockquote><p class=disc>This "
                                   "message is\r\n<b>confidential</b>.</p></blockquote></body>\r\n";
  BOOST_CHECK(add(html_reply).result == DisclaimerResult::already_present);
}

BOOST_AUTO_TEST_CASE(limits_and_unusable_messages_leave_the_message_unchanged) {
  std::string big = kHead + "\r\n" + std::string(200, 'x') + "\r\n";
  DisclaimerOptions o;
  o.max_message_size = 100;
  BOOST_CHECK(add_disclaimer(big, "example.com", kText, o).result == DisclaimerResult::too_large);
  BOOST_CHECK(add(kHead + "Content-Type: image/png\r\n\r\nxx\r\n").result == DisclaimerResult::no_text_part);
  BOOST_CHECK(add(kHead + "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n").result ==
              DisclaimerResult::unsupported);
  BOOST_CHECK(add(kHead + "Content-Type: text/plain; charset=utf-16\r\n\r\nxx\r\n").result ==
              DisclaimerResult::unsupported);
  BOOST_CHECK(add(kHead + "Content-Type: text/plain; charset=x-unknown-cs\r\n\r\nxx\r\n", {"\xe2\x82\xac", ""}).result ==
              DisclaimerResult::unsupported);
  BOOST_CHECK(add(kHead + "Content-Type: text/plain; charset=us-ascii\r\n\r\nbad \xff byte\r\n", {"\xe2\x82\xac", ""}).result ==
              DisclaimerResult::unsupported);
  BOOST_CHECK(add(kHead + "Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n").result ==
              DisclaimerResult::unsupported);
  BOOST_CHECK(add(kHead + "Content-Type: garbage\r\n\r\nx\r\n").result == DisclaimerResult::unsupported);
  // One unusable alternative leaves the whole message unchanged (the text part is not stamped alone).
  std::string alt = kHead + "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                            "x\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+\xff\xfe==\r\n--b--\r\n";
  auto out = add(alt);
  BOOST_CHECK(out.result == DisclaimerResult::unsupported);
  BOOST_CHECK(out.parts.empty() && out.message.empty());
  mime::ParseLimits tight;
  tight.max_depth = 2;
  o = {};
  o.parse = tight;
  std::string deep = kHead + "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; "
                             "boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\nx\r\n"
                             "--c--\r\n--b--\r\n--a--\r\n";
  BOOST_CHECK(add_disclaimer(deep, "example.com", kText, o).result == DisclaimerResult::unsupported);
  BOOST_CHECK(add(kHead + "Content-Type: message/rfc822\r\n\r\nFrom: a@b\r\n\r\nx\r\n").result == DisclaimerResult::no_text_part);
}

BOOST_AUTO_TEST_CASE(iso_2022_jp_text_becomes_utf8) {
  std::string jp = "\x1b$B$3$s$K$A$O\x1b(B\r\n";  // "konnichiwa" in ISO-2022-JP
  auto out = add(kHead + "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + jp);
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(out.converted_to_utf8);
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.charset, "utf-8");
  BOOST_CHECK_EQUAL(d.text, "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\r\n\r\n" + kTextCrlf + "\r\n");
}

BOOST_AUTO_TEST_CASE(format_flowed_text_is_space_stuffed) {
  std::string msg = kHead + "Content-Type: text/plain; charset=us-ascii; format=flowed\r\n\r\nA flowed \r\nparagraph.\r\n";
  auto out = add(msg, {">> Not a quote   \nFrom the legal team\nplain", ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  BOOST_CHECK(ends_with(out.message, "A flowed \r\nparagraph.\r\n\r\n >> Not a quote\r\n From the legal team\r\nplain\r\n"));
}

BOOST_AUTO_TEST_CASE(long_disclaimer_line_in_7bit_part_switches_to_quoted_printable) {
  auto out = add(kHead + "\r\nhi\r\n", {std::string(1200, 'a'), ""});
  BOOST_REQUIRE(out.result == DisclaimerResult::added);
  auto d = decoded(out.message, "");
  BOOST_CHECK_EQUAL(d.cte, "quoted-printable");
  BOOST_CHECK_EQUAL(d.text, "hi\r\n\r\n" + std::string(1200, 'a') + "\r\n");
}

BOOST_AUTO_TEST_CASE(store_files_per_domain) {
  auto dir = std::filesystem::temp_directory_path() / ("tern-disclaimer-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  DisclaimerConfig cfg;
  cfg.dir = dir;
  DisclaimerStore store(cfg);
  std::string msg = kHead + "\r\nbody\r\n";
  BOOST_CHECK(!store.apply(msg, "alice@example.com"));  // off by default
  BOOST_REQUIRE(DisclaimerStore::install(dir, "Example.com", "Sent from Example.\n", ""));
  auto stamped = store.apply(msg, "alice@example.com");
  BOOST_REQUIRE(stamped);
  BOOST_CHECK(ends_with(*stamped, "body\r\n\r\nSent from Example.\r\n"));
  // From: decides; the envelope sender's domain is the fallback.
  BOOST_CHECK(!store.apply("From: x@other.test\r\n\r\nbody\r\n", "bounce@other.test"));
  BOOST_CHECK(store.apply("From: x@other.test\r\n\r\nbody\r\n", "x@example.com"));
  // A change is seen with the next message.
  BOOST_REQUIRE(DisclaimerStore::install(dir, "example.com", "Second version, longer.\n", "<p>html</p>"));
  stamped = store.apply(msg, "");
  BOOST_REQUIRE(stamped);
  BOOST_CHECK(ends_with(*stamped, "Second version, longer.\r\n"));
  auto read = DisclaimerStore::read(dir, "example.com");
  BOOST_REQUIRE(read && *read);
  BOOST_CHECK_EQUAL((*read)->html, "<p>html</p>");
  BOOST_REQUIRE(DisclaimerStore::remove(dir, "example.com"));
  BOOST_CHECK(!store.apply(msg, "alice@example.com"));
  BOOST_CHECK(!DisclaimerStore::install(dir, "../etc", "x", ""));
  BOOST_CHECK(!DisclaimerStore::install(dir, "example.com", "\xff\xfe", ""));
  BOOST_CHECK(!DisclaimerStore::install(dir, "example.com", " \n", ""));
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(disclaimer_structure)

BOOST_AUTO_TEST_CASE(a_disclaimer_line_that_is_a_boundary_leaves_the_message_unchanged) {
  std::string msg = kHead + "Content-Type: multipart/mixed; boundary=mix\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\n"
                            "Body\r\n--mix\r\nContent-Type: image/png\r\n\r\nxx\r\n--mix--\r\n";
  auto out = add_disclaimer(msg, "example.com", {"fine\n--mix\nContent-Type: text/html\n", ""});
  BOOST_CHECK(out.result == DisclaimerResult::unsupported);
  BOOST_CHECK(out.message.empty());
}

BOOST_AUTO_TEST_SUITE_END()
