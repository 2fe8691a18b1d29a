// tern::mime::parse: tree shape, offsets, numbering, parameters, limits and defects.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tern/mime/message.hpp"
#include "tern/mime/message_parser.hpp"

using namespace tern::mime;

namespace {

bool has_defect(const Message& m, DefectKind k) {
  return std::any_of(m.defects.begin(), m.defects.end(), [&](const Defect& d) { return d.kind == k; });
}

const char kNested[] =
    "From: a@example.org\r\n"
    "Subject: nested\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble text\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "first\r\n"
    "second\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "alt plain\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>alt</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner message\r\n"
    "\r\n"
    "inner body\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

}  // namespace

BOOST_AUTO_TEST_CASE(nested_multipart_tree_numbers_and_offsets) {
  std::string_view src = kNested;
  Message m = parse(src);
  BOOST_TEST(m.defects.empty());
  const Part& root = m.root();
  BOOST_TEST(root.content_type.mime_type() == "multipart/mixed");
  BOOST_TEST(root.children.size() == 3u);
  BOOST_TEST(src.substr(root.body_start, root.preamble_end - root.body_start) == "preamble text");
  BOOST_TEST(src.substr(root.epilogue_start) == "epilogue\r\n");

  const Part* p1 = m.find("1");
  BOOST_REQUIRE(p1);
  BOOST_TEST(m.body(*p1) == "first\r\nsecond");
  BOOST_TEST(p1->body_lines == 2u);
  BOOST_TEST(*find_parameter(p1->content_type.params, "charset") == "us-ascii");

  const Part* p21 = m.find("2.1");
  const Part* p22 = m.find("2.2");
  BOOST_REQUIRE(p21);
  BOOST_REQUIRE(p22);
  BOOST_TEST(m.body(*p21) == "alt plain");
  BOOST_TEST(p22->content_type.mime_type() == "text/html");
  BOOST_TEST(m.body(*p22) == "<p>alt</p>");

  const Part* p3 = m.find("3");
  BOOST_REQUIRE(p3);
  BOOST_TEST(p3->content_type.mime_type() == "message/rfc822");
  BOOST_REQUIRE(p3->children.size() == 1u);
  const Part& inner = m.parts[static_cast<std::size_t>(p3->children[0])];
  BOOST_TEST(inner.is_message);
  BOOST_TEST(inner.header("subject")->value == " inner message");
  BOOST_TEST(m.body(inner) == "inner body");
  BOOST_TEST(m.find("3.1") == &inner);
  BOOST_TEST(m.find("4") == nullptr);
  BOOST_TEST(m.find("1.1") == nullptr);

  BOOST_TEST(serialize(m) == src);
  // Header views point into the source.
  BOOST_TEST(root.headers.size() == 3u);
  BOOST_TEST(root.headers[2].raw == "Content-Type: multipart/mixed; boundary=\"outer\"\r\n");
  BOOST_TEST(src.substr(root.headers[1].offset, 8) == "Subject:");
}

BOOST_AUTO_TEST_CASE(single_part_is_number_one_and_lf_only) {
  std::string_view src = "Subject: hi\n folded\nX-A: 1\nX-A: 2\n\nline1\nline2\n";
  Message m = parse(src);
  BOOST_TEST(m.defects.empty());
  BOOST_TEST(m.root().number == "1");
  BOOST_TEST(m.root().headers.size() == 3u);
  BOOST_TEST(m.root().headers[0].unfolded() == " hi folded");
  BOOST_TEST(m.root().headers[1].value == " 1");
  BOOST_TEST(m.root().headers[2].value == " 2");  // duplicates kept in order
  BOOST_TEST(m.body(m.root()) == "line1\nline2\n");
  BOOST_TEST(m.root().body_lines == 2u);
  BOOST_TEST(m.root().content_type.mime_type() == "text/plain");
  BOOST_TEST(!m.root().content_type.present);
}

BOOST_AUTO_TEST_CASE(missing_final_boundary_and_missing_separator) {
  std::string_view src =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n"
      "this line is not a header\r\ntwo\r\n";
  Message m = parse(src);
  BOOST_TEST(has_defect(m, DefectKind::close_boundary_not_found));
  BOOST_TEST(has_defect(m, DefectKind::missing_header_body_separator));
  BOOST_REQUIRE(m.root().children.size() == 2u);
  const Part* p2 = m.find("2");
  BOOST_REQUIRE(p2);
  BOOST_TEST(m.body(*p2) == "this line is not a header\r\ntwo\r\n");
  BOOST_TEST(serialize(m) == src);
}

// A header line that is no field: a broken field when more header follows (Dovecot reads on to the empty
// line), else the start of the body (Python's email). Streamed and whole-buffer parses agree.
namespace {
Message parse_bytewise(std::string_view src) {
  MessageParser p;
  for (char c : src) p.feed(std::string_view(&c, 1));
  Message m = p.finish();
  m.source = src;
  return m;
}
std::size_t count_defects(const Message& m, DefectKind k) {
  return static_cast<std::size_t>(std::count_if(m.defects.begin(), m.defects.end(), [&](const Defect& d) { return d.kind == k; }));
}
}  // namespace

BOOST_AUTO_TEST_CASE(broken_header_line_followed_by_more_header_is_skipped) {
  const std::string src =
      "Received: from a\r\n by b\r\n"
      "quite Delivered-To: x@example.org\r\n"  // white space in the name
      "Subject: still the header\r\n"
      "no colon at all\r\n"
      "\tfolded under the broken line\r\n"
      "From: a@example.org\r\n"
      "another broken line\r\n"
      "\r\n"
      "body\r\n";
  for (const Message& m : {parse(src), parse_bytewise(src)}) {
    BOOST_TEST(count_defects(m, DefectKind::broken_header_line) == 3u);
    BOOST_TEST(!has_defect(m, DefectKind::missing_header_body_separator));
    BOOST_REQUIRE(m.root().headers.size() == 3u);
    BOOST_TEST(m.root().headers[1].name == "Subject");
    BOOST_TEST(m.root().header("From")->unfolded() == " a@example.org");
    BOOST_TEST(m.body(m.root()) == "body\r\n");
    BOOST_TEST(m.root().header_lines == 9u);
    BOOST_TEST(m.root().body_lines == 1u);
    BOOST_TEST(serialize(m) == src);
    BOOST_TEST(m.defects.front().offset == src.find("quite"));
  }
}

BOOST_AUTO_TEST_CASE(line_without_colon_before_text_a_delimiter_or_the_end_starts_the_body) {
  const std::string at_end = "Subject: a\r\nno colon";
  const std::string in_part =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nlone line\r\n--b--\r\n";
  // message/rfc822 whose header has no empty line: the body (the embedded message) starts with the line,
  // and the embedded message has no header either.
  const std::string embedded = "Content-Type: message/rfc822\r\nline one\r\nline two\r\n";
  for (bool bytewise : {false, true}) {
    Message a = bytewise ? parse_bytewise(at_end) : parse(at_end);
    BOOST_TEST(has_defect(a, DefectKind::missing_header_body_separator));
    BOOST_TEST(a.root().headers.size() == 1u);
    BOOST_TEST(a.body(a.root()) == "no colon");
    BOOST_TEST(serialize(a) == at_end);

    Message b = bytewise ? parse_bytewise(in_part) : parse(in_part);
    const Part* p1 = b.find("1");
    BOOST_REQUIRE(p1);
    BOOST_TEST(b.body(*p1) == "lone line");
    BOOST_TEST(p1->content_type.present);
    BOOST_TEST(!has_defect(b, DefectKind::broken_header_line));
    BOOST_TEST(serialize(b) == in_part);

    Message c = bytewise ? parse_bytewise(embedded) : parse(embedded);
    BOOST_REQUIRE(c.root().children.size() == 1u);
    const Part& inner = c.parts[static_cast<std::size_t>(c.root().children[0])];
    BOOST_TEST(inner.is_message);
    BOOST_TEST(inner.headers.empty());
    BOOST_TEST(c.body(inner) == "line one\r\nline two\r\n");
    BOOST_TEST(inner.body_lines == 2u);
    BOOST_TEST(count_defects(c, DefectKind::missing_header_body_separator) == 2u);
    BOOST_TEST(serialize(c) == embedded);
  }
}

BOOST_AUTO_TEST_CASE(multipart_without_boundary_or_delimiters_is_a_leaf) {
  Message a = parse("Content-Type: multipart/mixed\r\n\r\nbody\r\n");
  BOOST_TEST(has_defect(a, DefectKind::no_boundary_in_multipart));
  BOOST_TEST(a.root().children.empty());
  Message b = parse("Content-Type: multipart/mixed; boundary=zz\r\n\r\nbody\r\n--zzz\r\n");
  BOOST_TEST(has_defect(b, DefectKind::start_boundary_not_found));
  BOOST_TEST(b.root().children.empty());
}

BOOST_AUTO_TEST_CASE(rfc2231_continuations_and_charsets) {
  ContentDisposition d;
  BOOST_TEST(parse_content_disposition(
      "attachment; filename*0*=UTF-8''%E2%82%AC%20rate; filename*1=\"s.txt\"; size=10", d));
  BOOST_TEST(d.type == "attachment");
  BOOST_TEST(*find_parameter(d.params, "filename") == "\xE2\x82\xAC rates.txt");
  BOOST_TEST(*find_parameter(d.params, "size") == "10");

  ContentType ct;
  BOOST_TEST(parse_content_type("Text/Plain; name*=iso-8859-1'de'M%FCller.txt (comment); charset=\"UTF-8\"", ct));
  BOOST_TEST(ct.mime_type() == "text/plain");
  BOOST_TEST(*find_parameter(ct.params, "name") == "M\xC3\xBCller.txt");
  BOOST_TEST(*find_parameter(ct.params, "charset") == "UTF-8");
  BOOST_TEST(ct.params[1].language == "de");

  ContentType enc;
  parse_content_type("application/pdf; name=\"=?UTF-8?B?w6TDtsO8LnBkZg==?=\"", enc);
  BOOST_TEST(*find_parameter(enc.params, "name") == "\xC3\xA4\xC3\xB6\xC3\xBC.pdf");

  ContentType bad;
  std::vector<Defect> defects;
  BOOST_TEST(!parse_content_type("text; charset=koi8-r", bad, &defects));
  BOOST_TEST(bad.mime_type() == "text/plain");
  BOOST_TEST(*find_parameter(bad.params, "charset") == "koi8-r");
  BOOST_TEST(defects.size() == 1u);
}

BOOST_AUTO_TEST_CASE(digest_children_default_to_message_rfc822) {
  std::string_view src =
      "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n--d--\r\n";
  Message m = parse(src);
  const Part* p1 = m.find("1");
  BOOST_REQUIRE(p1);
  BOOST_TEST(p1->content_type.mime_type() == "message/rfc822");
  BOOST_REQUIRE(p1->children.size() == 1u);
  BOOST_TEST(m.parts[static_cast<std::size_t>(p1->children[0])].header("Subject") != nullptr);
}

BOOST_AUTO_TEST_CASE(limits_are_enforced_with_defects) {
  std::string many;
  for (int i = 0; i < 50; ++i) many += "X-H: " + std::to_string(i) + "\r\n";
  many += "\r\nbody";
  ParseLimits lim;
  lim.max_headers = 10;
  Message m = parse(many, lim);
  BOOST_TEST(m.root().headers.size() == 10u);
  BOOST_TEST(has_defect(m, DefectKind::header_count_limit));
  BOOST_TEST(m.body(m.root()) == "body");

  // Deep nesting: 100 levels of multipart, limited to depth 5.
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  deep += "\r\nleaf\r\n";
  lim = {};
  lim.max_depth = 5;
  Message d = parse(deep, lim);
  BOOST_TEST(has_defect(d, DefectKind::depth_limit));
  BOOST_TEST(d.parts.size() <= 7u);
  BOOST_TEST(serialize(d) == deep);

  std::string wide = "Content-Type: multipart/mixed; boundary=w\r\n\r\n";
  for (int i = 0; i < 100; ++i) wide += "--w\r\n\r\npart\r\n";
  lim = {};
  lim.max_parts = 20;
  Message w = parse(wide, lim);
  BOOST_TEST(w.parts.size() == 20u);
  BOOST_TEST(has_defect(w, DefectKind::part_count_limit));

  lim = {};
  lim.max_header_line = 100;
  Message l = parse("Subject: " + std::string(500, 'x') + "\r\n\r\nb", lim);
  BOOST_TEST(has_defect(l, DefectKind::header_line_too_long));
  BOOST_TEST(l.root().headers[0].value.size() == 100u);
}

BOOST_AUTO_TEST_CASE(malformed_inputs_never_crash) {
  const char* inputs[] = {"", "\r\n", ":", " leading continuation\r\nA: b\r\n\r\n", "A: b", "\r", "--\r\n--",
                          "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
                          "Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
                          "Content-Type: multipart/x; boundary=a\r\n\r\n--a\r\n--a\r\n--a--",
                          "Content-Type: ; ;;; =; a*0*=''%; a*1=x; a*5=y\r\n\r\n"};
  for (const char* in : inputs) {
    Message m = parse(in);
    BOOST_TEST(serialize(m) == std::string_view(in));
    for (const auto& p : m.parts) {
      BOOST_TEST(p.header_start <= p.header_end);
      BOOST_TEST(p.header_end <= p.body_start);
      BOOST_TEST(p.body_start <= p.body_end);
      BOOST_TEST(p.body_end <= m.source.size());
    }
  }
  Message f = parse(" x\r\nA: b\r\n\r\n");
  BOOST_TEST(has_defect(f, DefectKind::first_line_is_continuation));
}

namespace {

std::vector<std::filesystem::path> corpus_files() {
  std::vector<std::filesystem::path> out;
  std::filesystem::path dir = std::filesystem::path(TERN_MIME_CORPUS);
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".eml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(corpus_parses_and_round_trips) {
  auto files = corpus_files();
  BOOST_TEST(files.size() > 50u);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Message m = parse(data);
    BOOST_TEST_CONTEXT(f.string()) {
      BOOST_TEST(serialize(m) == data);
      BOOST_TEST(m.root().body_end == data.size());
      for (const auto& p : m.parts) {
        BOOST_TEST(p.header_end <= p.body_start);
        BOOST_TEST(p.body_start <= p.body_end);
        std::string joined;
        for (const auto& h : p.headers) {
          BOOST_TEST(data.substr(h.offset, h.raw.size()) == h.raw);
          joined += h.raw;
        }
        for (int c : p.children) {
          const Part& ch = m.parts[static_cast<std::size_t>(c)];
          BOOST_TEST(ch.header_start >= p.body_start);
          BOOST_TEST(ch.body_end <= p.body_end);
        }
      }
    }
  }
}
