// BODY[section]<partial>, BINARY[section] and BINARY.SIZE (RFC 9051 §6.4.5, RFC 3516) on nested
// hand-written messages and on the MIME corpus.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tern/imap/section.hpp"

using namespace tern::imap;

namespace {

const std::string kNested =
    "From: a@x\r\n"
    "Subject: outer\r\n"
    "Content-Type: multipart/mixed; boundary=\"o\"\r\n"
    "\r\n"
    "--o\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "part one\r\n"
    "--o\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: b@y\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=\"i\"\r\n"
    "\r\n"
    "--i\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aW5uZXIgcGxhaW4AbnVs\r\n"
    "--i\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>caf=C3=A9</p>\r\n"
    "--i--\r\n"
    "\r\n"
    "--o\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: single\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "single body\r\n"
    "--o--\r\n";

Section sec(std::vector<std::uint32_t> part, Section::Text text = Section::Text::full, std::vector<std::string> fields = {}) {
  Section s;
  s.part = std::move(part);
  s.text = text;
  s.fields = std::move(fields);
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(section)

BOOST_AUTO_TEST_CASE(top_level) {
  auto m = tern::mime::parse(kNested);
  using T = Section::Text;
  BOOST_TEST(fetch_section(m, sec({})) == kNested);
  BOOST_TEST(fetch_section(m, sec({}, T::header)) ==
             "From: a@x\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({}, T::text)) == kNested.substr(kNested.find("\r\n\r\n") + 4));
  BOOST_TEST(fetch_section(m, sec({}, T::header_fields, {"SUBJECT", "from", "X-None"})) ==
             "From: a@x\r\nSubject: outer\r\n\r\n");  // message order, names case-insensitive
  BOOST_TEST(fetch_section(m, sec({}, T::header_fields_not, {"Content-Type", "from"})) == "Subject: outer\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({}, T::header_fields, {"X-None"})) == "\r\n");
  std::string odd = "From someone Mon May  2 16:07:05 2005\r\nX-A : one\r\n two\r\nSubject: s\r\n\r\nbody";
  auto om = tern::mime::parse(odd);
  BOOST_TEST(fetch_section(om, sec({}, T::header_fields, {"x-a"})) == "X-A : one\r\n two\r\n\r\n");
  BOOST_TEST(fetch_section(om, sec({}, T::header_fields_not, {"subject", "x-a"})) ==
             "From someone Mon May  2 16:07:05 2005\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(parts) {
  auto m = tern::mime::parse(kNested);
  using T = Section::Text;
  BOOST_TEST(fetch_section(m, sec({1})) == "part one");
  BOOST_TEST(fetch_section(m, sec({1}, T::mime)) == "Content-Type: text/plain\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({1}, T::header)) == "");  // not a message/rfc822 part
  std::string inner = fetch_section(m, sec({2}));
  BOOST_TEST(inner.substr(0, 10) == "From: b@y\r");
  BOOST_TEST(inner.substr(inner.size() - 7) == "--i--\r\n");  // the CRLF before "--o" is the delimiter's
  BOOST_TEST(fetch_section(m, sec({2}, T::header)) ==
             "From: b@y\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({2}, T::header_fields, {"subject"})) == "Subject: inner\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({2}, T::mime)) == "Content-Type: message/rfc822\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({2}, T::text)).substr(0, 5) == "--i\r\n");
  BOOST_TEST(fetch_section(m, sec({2, 1})) == "aW5uZXIgcGxhaW4AbnVs");
  BOOST_TEST(fetch_section(m, sec({2, 2}, T::mime)) ==
             "Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
  // 3 holds a non-multipart message: 3.1 is its body, 3.HEADER its header
  BOOST_TEST(fetch_section(m, sec({3, 1})) == "single body");
  BOOST_TEST(fetch_section(m, sec({3}, T::header_fields, {"subject"})) == "Subject: single\r\n\r\n");
  // nonexistent parts are empty (Dovecot)
  BOOST_TEST(fetch_section(m, sec({4})) == "");
  BOOST_TEST(fetch_section(m, sec({1, 1})) == "part one");  // ".1" of a leaf is the leaf (Dovecot)
  BOOST_TEST(fetch_section(m, sec({1, 2})) == "");
  BOOST_TEST(fetch_section(m, sec({2, 1, 1})) == "aW5uZXIgcGxhaW4AbnVs");
  BOOST_TEST(fetch_section(m, sec({2, 3})) == "");
  BOOST_TEST(fetch_section(m, sec({3, 2})) == "");
  BOOST_TEST(fetch_section(m, sec({0})) == "");
}

BOOST_AUTO_TEST_CASE(single_part_message) {
  std::string raw = "Subject: s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello=20world=\r\n!\r\n";
  auto m = tern::mime::parse(raw);
  BOOST_TEST(fetch_section(m, sec({1})) == "hello=20world=\r\n!\r\n");  // "1" of a non-multipart message is its body
  BOOST_TEST(fetch_section(m, sec({2})) == "");
  BOOST_TEST(fetch_section(m, sec({1, 1})) == "");
  BOOST_TEST(fetch_section(m, sec({1, 2})) == "");
  BOOST_TEST(fetch_binary(m, sec({1})).value() == "hello world!\r\n");
  BOOST_TEST(fetch_binary_size(m, sec({1})).value() == 14u);
  BOOST_TEST(fetch_binary(m, sec({})).value() == raw);
  // a header without the blank line gets one
  std::string bare = "Subject: only header";
  auto hm = tern::mime::parse(bare);
  BOOST_TEST(fetch_section(hm, sec({}, Section::Text::header)) == "Subject: only header\r\n\r\n");
  // a part without any header fields: its MIME header is the blank line alone
  std::string nohdr = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nplain\r\n--b--\r\n";
  auto nm = tern::mime::parse(nohdr);
  BOOST_TEST(fetch_section(nm, sec({1}, Section::Text::mime)) == "\r\n");
  BOOST_TEST(fetch_section(nm, sec({1})) == "plain");
}

// A message whose own body is message/rfc822: "1" is that body, and "1.x" numbers the parts of the message
// it holds (RFC 9051 §6.4.5), as in Dovecot's imaptest fetch-body-message-rfc822* scripts.
BOOST_AUTO_TEST_CASE(top_level_message_rfc822) {
  using T = Section::Text;
  const std::string inner =
      "From: sub@x\r\nSubject: submsg\r\nContent-Type: multipart/digest; boundary=\"d\"\r\n\r\n"
      "prologue\r\n--d\r\n\r\nSubject: m1\r\n\r\nm1 body\r\n"
      "--d\r\nX-Mime: m2\r\n\r\nSubject: m2\r\n\r\nm2 body\r\n--d--\r\n";
  const std::string raw = "From: outer@x\r\nContent-Type: message/rfc822\r\n\r\n" + inner;
  auto m = tern::mime::parse(raw);
  BOOST_TEST(fetch_section(m, sec({}, T::text)) == inner);
  BOOST_TEST(fetch_section(m, sec({1})) == inner);
  BOOST_TEST(fetch_section(m, sec({1}, T::header)) ==
             "From: sub@x\r\nSubject: submsg\r\nContent-Type: multipart/digest; boundary=\"d\"\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({1}, T::header_fields, {"subject"})) == "Subject: submsg\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({1}, T::text)).substr(0, 10) == "prologue\r\n");
  // the digest's parts default to message/rfc822 (RFC 2046 §5.1.5)
  BOOST_TEST(fetch_section(m, sec({1, 1})) == "Subject: m1\r\n\r\nm1 body");
  BOOST_TEST(fetch_section(m, sec({1, 1}, T::mime)) == "\r\n");
  BOOST_TEST(fetch_section(m, sec({1, 1}, T::header)) == "Subject: m1\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({1, 1}, T::text)) == "m1 body");
  BOOST_TEST(fetch_section(m, sec({1, 2}, T::mime)) == "X-Mime: m2\r\n\r\n");
  BOOST_TEST(fetch_section(m, sec({1, 2, 1})) == "m2 body");
  BOOST_TEST(fetch_section(m, sec({1, 3})) == "");
  BOOST_TEST(fetch_section(m, sec({2})) == "");

  // two levels: message/rfc822 holding a message/rfc822 holding text
  const std::string leaf = "Subject: submsg\r\n\r\nHello world\r\n";
  const std::string mid = "From: user2@x\r\nContent-Type: message/rfc822\r\n\r\n" + leaf;
  const std::string x2 = "From: user@x\r\nContent-Type: message/rfc822\r\n\r\n" + mid;
  auto m2 = tern::mime::parse(x2);
  BOOST_TEST(fetch_section(m2, sec({1})) == mid);
  BOOST_TEST(fetch_section(m2, sec({1, 1})) == leaf);
  BOOST_TEST(fetch_section(m2, sec({1}, T::header)) == "From: user2@x\r\nContent-Type: message/rfc822\r\n\r\n");
  BOOST_TEST(fetch_section(m2, sec({1}, T::text)) == leaf);
  BOOST_TEST(fetch_section(m2, sec({1, 1, 1})) == "Hello world\r\n");
  BOOST_TEST(fetch_section(m2, sec({1, 1}, T::header)) == "Subject: submsg\r\n\r\n");
  BOOST_TEST(fetch_section(m2, sec({1, 1}, T::text)) == "Hello world\r\n");
  BOOST_TEST(fetch_section(m2, sec({1, 1, 1, 1})) == "");
}

// APPEND of a literal8 (RFC 3516 §4.4): Content-Transfer-Encoding: binary parts become base64 (the bytes
// Dovecot stores for imaptest's append-binary script); BINARY[] then returns the original bytes.
BOOST_AUTO_TEST_CASE(binary_parts_to_base64_on_append) {
  using namespace std::string_literals;
  const std::string body = "\0-\xE4\n\r\n\n"s;
  const std::string raw = "From: u@x\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Transfer-Encoding: binary\r\n\r\n" + body;
  auto converted = binary_parts_to_base64(raw);
  BOOST_REQUIRE(converted.has_value());
  BOOST_TEST(*converted == "From: u@x\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==");
  auto m = tern::mime::parse(*converted);
  BOOST_TEST(fetch_binary(m, sec({1})).value() == body);
  BOOST_TEST(fetch_binary_size(m, sec({1})).value() == 7u);
  BOOST_TEST(!needs_literal8(fetch_section(m, sec({1}))));

  // in a multipart only the binary leaf changes; the multipart's own "binary" label stays
  const std::string mp = "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                         "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
                         "--b\r\nContent-Transfer-Encoding: BINARY\r\n\r\n\xFF\0\xFE\r\n--b--\r\n"s;
  auto c2 = binary_parts_to_base64(mp);
  BOOST_REQUIRE(c2.has_value());
  BOOST_TEST(*c2 == "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                    "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
                    "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n/wD+\r\n--b--\r\n");
  auto m2 = tern::mime::parse(*c2);
  BOOST_TEST(fetch_binary(m2, sec({2})).value() == "\xFF\0\xFE"s);
  BOOST_TEST(fetch_section(m2, sec({1})) == "plain");

  BOOST_TEST(!binary_parts_to_base64("Subject: s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xE4\r\n").has_value());
}

BOOST_AUTO_TEST_CASE(binary) {
  auto m = tern::mime::parse(kNested);
  auto plain = fetch_binary(m, sec({2, 1}));
  BOOST_REQUIRE(plain);
  BOOST_TEST(*plain == std::string("inner plain\0nul", 15));
  BOOST_TEST(needs_literal8(*plain));
  BOOST_TEST(fetch_binary_size(m, sec({2, 1})).value() == 15u);
  BOOST_TEST(fetch_binary(m, sec({2, 2})).value() == "<p>caf\xc3\xa9</p>");
  BOOST_TEST(!needs_literal8(fetch_binary(m, sec({2, 2})).value()));
  auto uu = fetch_binary(m, sec({3, 1}));
  BOOST_REQUIRE(!uu);
  BOOST_TEST(uu.error().code == static_cast<int>(BinaryError::unknown_cte));
  BOOST_TEST(!fetch_binary_size(m, sec({3, 1})));
  auto missing = fetch_binary(m, sec({2, 1, 2}));  // nonexistent: empty like BODY
  BOOST_TEST(missing.value() == "");
  Section whole_inner = sec({2});
  BOOST_TEST(fetch_binary(m, whole_inner).value() == fetch_section(m, whole_inner));  // message/rfc822 as is
  std::string mp = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; "
                   "boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--\r\n";
  auto mm = tern::mime::parse(mp);
  BOOST_TEST(fetch_binary(mm, sec({1})).value() == "--c\r\n\r\nx\r\n--c--");  // a multipart's body as is
}

BOOST_AUTO_TEST_CASE(partial) {
  std::string d = "0123456789";
  BOOST_TEST(apply_partial(d, std::nullopt) == d);
  BOOST_TEST(apply_partial(d, Partial{2, 3}) == "234");
  BOOST_TEST(apply_partial(d, Partial{8, 100}) == "89");
  BOOST_TEST(apply_partial(d, Partial{10, 1}) == "");
  BOOST_TEST(apply_partial(d, Partial{0, 0}) == "");
}

// Every part of every corpus message: BODY[n.MIME] + BODY[n] are the bytes the part spans, and a
// multipart's children appear inside their parent's body.
BOOST_AUTO_TEST_CASE(corpus_parts_are_consistent) {
  namespace fs = std::filesystem;
  std::size_t files = 0, parts = 0;
  for (const auto& e : fs::recursive_directory_iterator(TERN_MIME_CORPUS)) {
    if (!e.is_regular_file() || e.path().extension() != ".eml") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string raw = ss.str();
    auto m = tern::mime::parse(raw);
    ++files;
    for (const auto& p : m.parts) {
      if (p.number.empty() || (p.is_message && p.parent >= 0)) continue;
      Section s;
      std::string n = p.number;
      for (std::size_t i = 0; i < n.size();) {
        std::size_t dot = n.find('.', i);
        s.part.push_back(static_cast<std::uint32_t>(std::stoul(n.substr(i, dot - i))));
        i = dot == std::string::npos ? n.size() : dot + 1;
      }
      std::string body = fetch_section(m, s);
      BOOST_TEST(body == raw.substr(p.body_start, p.body_end - p.body_start), e.path() << " part " << n);
      if (p.parent >= 0) {
        s.text = Section::Text::mime;
        std::string mimeh = fetch_section(m, s);
        std::string hdr = raw.substr(p.header_start, p.header_end - p.header_start);
        BOOST_TEST(mimeh.compare(0, hdr.size(), hdr) == 0, e.path() << " part " << n);
        bool blank_end = mimeh.ends_with("\n\n") || mimeh.ends_with("\r\n\r\n") || mimeh == "\r\n" || mimeh == "\n";
        BOOST_TEST(blank_end, e.path() << " part " << n);
      }
      ++parts;
    }
  }
  BOOST_TEST(files > 50u);
  BOOST_TEST(parts > files);
}

BOOST_AUTO_TEST_SUITE_END()
