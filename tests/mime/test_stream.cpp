// tern::mime::MessageParser: chunked input gives the whole-buffer tree; bounded memory on 100 MB.
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include "tern/mime/imap_view.hpp"
#include "tern/mime/message_parser.hpp"

using namespace tern::mime;

namespace {

// Everything parse() reports about a message, as text (a difference shows up as a readable diff).
std::string describe(const Message& m) {
  std::ostringstream o;
  o << "size " << m.size << "\n";
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    const auto& p = m.parts[i];
    o << "part " << i << " [" << p.number << "] parent " << p.parent << " depth " << p.depth << " msg "
      << p.is_message << " hs " << p.header_start << " he " << p.header_end << " bs " << p.body_start << " be "
      << p.body_end << " hl " << p.header_lines << " bl " << p.body_lines << " pre " << p.preamble_end << " epi "
      << p.epilogue_start << " ct " << p.content_type.mime_type() << " " << p.content_type.present << " cte "
      << p.transfer_encoding << " disp " << p.disposition.type << " kids";
    for (int c : p.children) o << " " << c;
    o << "\n";
    for (const auto& prm : p.content_type.params) o << "  param " << prm.name << "=" << prm.value << "\n";
    for (const auto& prm : p.disposition.params) o << "  dparam " << prm.name << "=" << prm.value << "\n";
    for (const auto& h : p.headers) o << "  h@" << h.offset << " [" << h.name << "] [" << h.value << "] [" << h.raw << "]\n";
  }
  for (const auto& d : m.defects) o << "defect " << to_string(d.kind) << " @" << d.offset << "\n";
  return o.str();
}

Message parse_chunked(std::string_view s, std::mt19937& rng, std::size_t max_chunk, const ParseLimits& lim = {}) {
  MessageParser p(lim);
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t c = std::min(std::uniform_int_distribution<std::size_t>(1, max_chunk)(rng), s.size() - i);
    std::string copy(s.substr(i, c));  // the chunk dies after feed()
    p.feed(copy);
    i += c;
  }
  return p.finish();
}

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(TERN_MIME_CORPUS)) {
    if (!e.is_regular_file() || e.path().extension() != ".eml") continue;
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return out;
}

long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

BOOST_AUTO_TEST_CASE(corpus_chunked_equals_whole) {
  auto files = corpus();
  BOOST_TEST_REQUIRE(files.size() > 50u);
  std::mt19937 rng(20261123);
  ParseLimits small;  // limits hit in the middle of lines and parts
  small.max_parts = 5;
  small.max_depth = 2;
  small.max_headers = 6;
  small.max_header_line = 30;
  for (const auto& s : files) {
    for (const ParseLimits& lim : {ParseLimits{}, small}) {
      const std::string whole = describe(parse(s, lim));
      for (std::size_t max_chunk : {std::size_t{1}, std::size_t{3}, std::size_t{64}, std::size_t{5000}, s.size() + 1}) {
        Message m = parse_chunked(s, rng, max_chunk, lim);
        BOOST_TEST(m.source.empty());
        BOOST_TEST(describe(m) == whole);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(chunked_tricky_inputs_equal_whole) {
  // Delimiters cut the line break before them, also inside header blocks and after an embedded message.
  const std::string inputs[] = {
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: 1\r\n--b\r\nContent-Type: multipart/a; boundary=c\r\n--b--\r\n",
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n--b\r\n\r\n--b--",
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/digest; boundary=c\r\n\r\n--c\r\n\r\nA: b\r\n--c--\r\n--b--\r",
      "Content-Type: multipart/mixed; boundary=b\r\nContent-Type: text/plain\r\n--b\r\n\r\nx\r\n--b--   \r\nepilogue\n--b\n",
      "From someone\r\n continuation\r\nA: 1\r\n\r\n\r",
      std::string("A: ") + std::string(3000, 'x') + "\r\n folded\r\n\r\nbody\rbare",
      "Content-Type: multipart/mixed; boundary=b\n\n--b" + std::string(2000, ' ') + "\nX: y\n\nz\n--b--" + std::string(3000, '\t'),
  };
  std::mt19937 rng(7);
  for (const auto& s : inputs) {
    const std::string whole = describe(parse(s));
    for (std::size_t max_chunk : {1, 2, 5, 100})
      for (int k = 0; k < 20; ++k) BOOST_TEST(describe(parse_chunked(s, rng, max_chunk)) == whole);
  }
}

BOOST_AUTO_TEST_CASE(streamed_headers_outlive_the_chunks) {
  MessageParser p;
  for (char c : std::string("Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"))
    p.feed(std::string(1, c));
  Message m = p.finish();
  Message copy = m;  // copies share the header store
  m = Message{};
  BOOST_TEST_REQUIRE(copy.root().headers.size() == 2u);
  BOOST_TEST(copy.root().headers[0].value == " =?utf-8?q?caf=C3=A9?=");
  BOOST_TEST(copy.root().content_type.mime_type() == "text/plain");
  BOOST_TEST(copy.root().body_start == 75u);
  BOOST_TEST(copy.root().body_end == 81u);
  BOOST_TEST(copy.size == 81u);
  BOOST_TEST(copy.root().body_lines == 1u);
}

// A generated 100 MB message (text, a 100 MB base64 attachment, an embedded message) is never held:
// the parser's buffer and the process's peak RSS stay small while the tree comes out right.
BOOST_AUTO_TEST_CASE(hundred_megabytes_in_bounded_memory) {
  const long rss_before = max_rss_kb();
  const std::string head =
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: big\r\n"
      "Content-Type: multipart/mixed; boundary=\"==big==\"\r\n\r\npreamble\r\n"
      "--==big==\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
      "--==big==\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n";
  const std::string line = std::string(76, 'Q') + "\r\n";
  const std::size_t lines = 100u * 1024 * 1024 / line.size();
  const std::string tail =
      "--==big==\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--==big==--\r\n";
  MessageParser p;
  std::size_t offset = 0;
  p.feed(head);
  offset += head.size();
  const std::size_t attach_start = offset;
  std::string chunk;
  std::mt19937 rng(1);
  std::size_t left = lines;
  while (left > 0) {  // 1..1000 lines per chunk, split at a random byte
    std::size_t n = std::min<std::size_t>(left, 1 + rng() % 1000);
    chunk.clear();
    for (std::size_t k = 0; k < n; ++k) chunk += line;
    std::size_t cut = rng() % chunk.size();
    p.feed(std::string_view(chunk).substr(0, cut));
    p.feed(std::string_view(chunk).substr(cut));
    offset += chunk.size();
    left -= n;
  }
  const std::size_t attach_end = offset - 2;  // the CRLF before the delimiter belongs to it
  p.feed(tail);
  offset += tail.size();
  BOOST_TEST(p.bytes_fed() == offset);
  BOOST_TEST(p.peak_buffered_bytes() < 4096u);  // one partial line and the header fields
  Message m = p.finish();
  BOOST_TEST(m.size == offset);
  BOOST_TEST(m.defects.empty());
  BOOST_TEST_REQUIRE(m.parts.size() == 5u);
  const Part* att = m.find("2");
  BOOST_TEST_REQUIRE(att != nullptr);
  BOOST_TEST(att->body_start == attach_start);
  BOOST_TEST(att->body_end == attach_end);
  BOOST_TEST(att->body_lines == lines);
  BOOST_TEST(att->transfer_encoding == "base64");
  BOOST_TEST(*find_parameter(att->disposition.params, "filename") == "big.bin");
  const Part* inner = m.find("3");
  BOOST_TEST_REQUIRE(inner != nullptr);
  BOOST_TEST(inner->content_type.mime_type() == "message/rfc822");
  BOOST_TEST(m.parts[inner->children.at(0)].header(std::string_view("Subject"))->value == " inner");
  const long grown_kb = max_rss_kb() - rss_before;
  BOOST_TEST_MESSAGE("100 MB streamed: peak parser buffer " << p.peak_buffered_bytes() << " B, RSS growth " << grown_kb << " kB");
  BOOST_TEST(grown_kb < 16 * 1024);
}

BOOST_AUTO_TEST_CASE(one_line_body_without_line_breaks_stays_bounded) {
  MessageParser p;
  p.feed("Subject: x\r\n\r\n");
  const std::string block(1 << 20, 'A');
  for (int i = 0; i < 20; ++i) p.feed(block);
  BOOST_TEST(p.peak_buffered_bytes() < 80u * 1024);  // the partial line keeps its first bytes only
  Message m = p.finish();
  BOOST_TEST(m.root().body_end == 14u + 20u * block.size());
  BOOST_TEST(m.root().body_lines == 1u);
}

// The IMAP views need no source: a streamed parse gives the same ENVELOPE and BODYSTRUCTURE.
BOOST_AUTO_TEST_CASE(imap_views_of_a_streamed_parse) {
  std::mt19937 rng(3);
  for (const auto& s : corpus()) {
    Message whole = parse(s);
    Message streamed = parse_chunked(s, rng, 100);
    BOOST_TEST(to_imap(make_body_structure(streamed)) == to_imap(make_body_structure(whole)));
    BOOST_TEST(to_imap(make_envelope(streamed, streamed.root())) == to_imap(make_envelope(whole, whole.root())));
    BOOST_TEST(streamed.body(streamed.root()).empty());
    BOOST_TEST(serialize(streamed).empty());
    streamed.source = s;  // the caller still has the bytes (e.g. the stored file)
    BOOST_TEST(serialize(streamed) == s);
  }
}

BOOST_AUTO_TEST_CASE(header_bytes_are_bounded_for_the_whole_message) {
  std::string m;
  for (int p = 0; p < 50; ++p) m += "X-Filler-" + std::to_string(p) + ": " + std::string(1000, 'v') + "\r\n";
  m += "\r\nbody\r\n";
  ParseLimits lim;
  lim.max_header_bytes = 10 * 1024;
  MessageParser p(lim);
  p.feed(m);
  BOOST_TEST(p.peak_buffered_bytes() < 14u * 1024);
  Message r = p.finish();
  BOOST_TEST(r.root().headers.size() == 11u);  // fields are kept until the 10 KB budget is passed
  BOOST_TEST(r.defects.size() == 1u);
  BOOST_TEST((r.defects[0].kind == DefectKind::header_count_limit));
  BOOST_TEST(describe(r) == describe(parse(m, lim)));
}
