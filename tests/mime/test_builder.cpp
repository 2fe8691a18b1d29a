// tern::mime builder: every built message parses back (tern's parser and Python's email) to the values put in;
// header lines ≤ 78 where foldable and ≤ 998 always.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tern/mime/address.hpp"
#include "tern/mime/builder.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/message.hpp"

using namespace tern::mime;

namespace {

const std::vector<std::string> kTexts = {
    "Hello",
    "Quota warning: your mailbox is 95% full",
    "Café crème à la française",
    "Re: Ответ на ваше письмо про отпуск и квоту почтового ящика на сервере",
    "日本語の件名はとても長くなることがあります、折り返しが必要です。日本語の件名はとても長くなることがあります",
    "emoji 😀🎉 party 🚀 launch 🌍 world 😀🎉 party 🚀 launch 🌍 world",
    "looks like =?utf-8?q?an_encoded_word?= but is not",
    "a very long ASCII subject line that certainly needs folding because it goes on and on and on well past 78",
    "Averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword1234567890",
    "quotes \"and\" back\\slash, commas; colons: <angles> (parens)",
    "mixed ASCII start then ünïcödé in the middle and ASCII at the end",
};

const std::vector<std::pair<std::string, std::string>> kPeople = {
    {"", "plain@example.org"},
    {"John Smith", "john.smith@example.org"},
    {"Smith, John (Sales)", "js@example.org"},
    {"Jürgen Müller", "juergen@example.de"},
    {"李小龙", "bruce@example.cn"},
    {"O'Brien \"Danny\"", "danny@example.ie"},
    {"", "\"quoted local\"@example.org"},
    {"A rather long display name that keeps going for quite a while indeed", "long@example.org"},
};

std::string json_escape(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += static_cast<char>(c); }
    else if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else if (c == '\t') o += "\\t";
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
    else o += static_cast<char>(c);
  }
  return o + "\"";
}

std::string hex(std::string_view s) {
  static const char* k = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) { o += k[c >> 4]; o += k[c & 15]; }
  return o;
}

std::string lf(std::string s) {
  std::string o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    o += s[i] == '\r' ? '\n' : s[i];
  }
  return o;
}

// The unfolded value of a field built by format_*_field ("Name: value\r\n").
std::string value_of(const std::string& field) {
  Header h;
  h.value = std::string_view(field).substr(field.find(':') + 1, field.size() - field.find(':') - 3);
  return h.unfolded();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

// Every line ≤ 998 and CRLF-terminated; header lines of every part ≤ 78 (all of ours are foldable).
void check_lines(const std::string& m) {
  std::size_t pos = 0;
  while (pos < m.size()) {
    std::size_t e = m.find("\r\n", pos);
    BOOST_TEST_REQUIRE(e != std::string::npos);
    BOOST_TEST(e - pos <= 998u);
    BOOST_TEST(m.substr(pos, e - pos).find_first_of("\r\n") == std::string::npos);
    pos = e + 2;
  }
  Message parsed = parse(m);
  for (const auto& p : parsed.parts)
    for (const auto& h : p.headers) {
      std::size_t start = 0;
      std::string_view raw = h.raw;
      while (start < raw.size()) {
        std::size_t e = raw.find("\r\n", start);
        if (e == std::string_view::npos) e = raw.size();
        if (e - start > 78) BOOST_ERROR("header line of " << e - start << " characters: " << raw.substr(start, e - start));
        start = e + 2;
      }
    }
}

struct Built {
  std::string message, expected_json;
};

// A message from the pools; the JSON is what Python's email must read from it.
Built make(std::size_t i, std::mt19937& rng, const BuildOptions& opt) {
  const std::string subject = kTexts[i % kTexts.size()];
  const auto& from = kPeople[i % kPeople.size()];
  const auto& to1 = kPeople[(i + 3) % kPeople.size()];
  const auto& to2 = kPeople[(i + 5) % kPeople.size()];
  const std::string body_text = kTexts[(i + 1) % kTexts.size()] + "\n\nline two\n" + kTexts[(i + 2) % kTexts.size()] + "\n";
  std::string binary;
  for (int k = 0; k < 300 + static_cast<int>(rng() % 2000); ++k) binary += static_cast<char>(rng() % 256);
  const std::string filename = i % 3 == 0 ? "report.pdf" : i % 3 == 1 ? "Prüfbericht März 2026 (final).pdf" : "年度報告書_2026年第一四半期_最終版_とても長いファイル名です.pdf";
  MessageBuilder b;
  b.date(make_date(1795000000 + static_cast<std::int64_t>(i) * 3600, 60))
      .from(make_mailbox(from.first, from.second))
      .to(make_mailbox(to1.first, to1.second))
      .to(make_mailbox(to2.first, to2.second))
      .subject(subject)
      .message_id(make_message_id("mail.example.org"))
      .header("Auto-Submitted", "auto-replied");
  std::ostringstream js;
  auto person = [&](const std::pair<std::string, std::string>& p) {
    Mailbox m = make_mailbox(p.first, p.second);
    std::string spec = m.address();
    return "[" + json_escape(p.first) + "," + json_escape(spec) + "]";
  };
  js << "{\"subject\":" << json_escape(subject) << ",\"from\":[" << person(from) << "],\"to\":[" << person(to1) << ","
     << person(to2) << "],\"parts\":[";
  switch (i % 4) {
    case 0:
      b.body(MimePart::text(body_text));
      js << "{\"type\":\"text/plain\",\"filename\":\"\",\"text\":" << json_escape(lf(body_text)) << "}";
      break;
    case 1:
      b.body(MimePart::multipart("mixed", {MimePart::text(body_text), MimePart::attachment(binary, "application/pdf", filename)}));
      js << "{\"type\":\"text/plain\",\"filename\":\"\",\"text\":" << json_escape(lf(body_text)) << "},"
         << "{\"type\":\"application/pdf\",\"filename\":" << json_escape(filename) << ",\"hex\":\"" << hex(binary) << "\"}";
      break;
    case 2: {
      MimePart alt = MimePart::multipart("alternative", {MimePart::text(body_text), MimePart::text("<p>" + body_text + "</p>", "html")});
      b.body(MimePart::multipart("mixed", {alt, MimePart::attachment(body_text, "text/plain", filename)}));
      js << "{\"type\":\"text/plain\",\"filename\":\"\",\"text\":" << json_escape(lf(body_text)) << "},"
         << "{\"type\":\"text/html\",\"filename\":\"\",\"text\":" << json_escape(lf("<p>" + body_text + "</p>")) << "},"
         << "{\"type\":\"text/plain\",\"filename\":" << json_escape(filename) << ",\"text\":" << json_escape(lf(body_text)) << "}";
      break;
    }
    default: {
      // A DSN (RFC 3464): multipart/report with a human part, delivery-status and the returned headers.
      std::string status = "Reporting-MTA: dns; mail.example.org\r\n\r\nFinal-Recipient: rfc822; " + to1.second +
                           "\r\nAction: failed\r\nStatus: 5.2.2\r\n";
      MimePart ds = MimePart::data(status, "message/delivery-status");
      MimePart returned = MimePart::data("Subject: original\r\nFrom: a@example.org\r\n", "text/rfc822-headers");
      b.body(MimePart::multipart("report", {MimePart::text(body_text), ds, returned}, {{"report-type", "delivery-status"}}));
      js << "{\"type\":\"text/plain\",\"filename\":\"\",\"text\":" << json_escape(lf(body_text)) << "},"
         // Python's email models message/delivery-status as one sub-part per header block (RFC 3464 §2.1).
         << "{\"type\":\"text/plain\",\"filename\":\"\",\"text\":\"\"},{\"type\":\"text/plain\",\"filename\":\"\",\"text\":\"\"},"
         << "{\"type\":\"text/rfc822-headers\",\"filename\":\"\",\"text\":" << json_escape(lf("Subject: original\r\nFrom: a@example.org\r\n")) << "}";
    }
  }
  js << "]}";
  return {b.build(opt), js.str()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(encoded_words_are_short_and_split_between_characters) {
  for (const auto& t : kTexts) {
    std::string enc = encode_words(t);
    std::istringstream words(enc);
    std::string w;
    while (words >> w) {
      BOOST_TEST(w.size() <= 75u);
      BOOST_TEST(w.rfind("=?utf-8?", 0) == 0u);
      // Each word decodes to valid UTF-8 on its own: no character is split across words.
      BOOST_TEST(valid_utf8(decode_encoded_words(w)));
    }
    BOOST_TEST(decode_encoded_words(enc) == t);
  }
}

BOOST_AUTO_TEST_CASE(folding_and_encoding_of_fields) {
  BOOST_TEST(format_unstructured_field("Subject", "Hello") == "Subject: Hello\r\n");
  std::string f = format_unstructured_field("Subject", kTexts[7]);
  BOOST_TEST(f.find("\r\n ") != std::string::npos);  // folded before a space
  BOOST_TEST(value_of(f) == " " + kTexts[7]);
  // A word longer than a line is encoded so that it can be folded.
  std::string longword = format_unstructured_field("Subject", std::string(2000, 'x'));
  check_lines(longword + "\r\n");
  BOOST_TEST(trim(decode_encoded_words(value_of(longword))) == std::string(2000, 'x'));
  // With SMTPUTF8 (RFC 6532) UTF-8 stays as it is.
  BOOST_TEST(format_unstructured_field("Subject", "Café", true) == "Subject: Café\r\n");
  BOOST_TEST(format_phrase("John Smith") == "John Smith");
  BOOST_TEST(format_phrase("Smith, John") == "\"Smith, John\"");
  BOOST_TEST(format_phrase("a \"b\" \\c") == "\"a \\\"b\\\" \\\\c\"");
  BOOST_TEST(format_mailbox(make_mailbox("", "\"a b\"@example.org")) == "\"a b\"@example.org");
  BOOST_TEST(format_mailbox(make_mailbox("Jürgen", "j@example.de")).rfind("=?utf-8?", 0) == 0u);
  BOOST_TEST(format_parameter("charset", "utf-8") == "; charset=utf-8");
  BOOST_TEST(format_parameter("filename", "a b.pdf") == "; filename=\"a b.pdf\"");
  BOOST_TEST(format_parameter("filename", "é.pdf") == "; filename*=utf-8''%C3%A9.pdf");
  // Found by fuzzing: a quoted value with "=?...?=" was read back as an encoded-word.
  BOOST_TEST(format_parameter("filename", "=?utf-8?q?x?=.txt") == "; filename*=utf-8''%3D%3Futf-8%3Fq%3Fx%3F%3D.txt");
  BOOST_TEST(parse_parameters(format_parameter("filename", "=?utf-8?q?x?=.txt"))[0].value == "=?utf-8?q?x?=.txt");
  std::string cont = format_parameter("filename", kTexts[4]);
  BOOST_TEST(cont.find("filename*0*=utf-8''") != std::string::npos);
  BOOST_TEST(cont.find("filename*1*=") != std::string::npos);
  Parameters ps = parse_parameters(cont);
  BOOST_TEST_REQUIRE(ps.size() == 1u);
  BOOST_TEST(ps[0].value == kTexts[4]);
  std::string id = make_message_id("mx.example.org");
  BOOST_TEST(id.size() == 32u + 2u + 1u + 14u);
  BOOST_TEST(id.front() == '<');
  BOOST_TEST(id != make_message_id("mx.example.org"));
  BOOST_TEST(make_date(0, 0) == "Thu, 1 Jan 1970 00:00:00 +0000");
  BOOST_TEST(make_date(1795000000, -300) == format_date_time(date_time_from_unix(1795000000, -300)));
}

BOOST_AUTO_TEST_CASE(transfer_encoding_follows_content) {
  auto cte = [](const MimePart& p, BuildOptions o = {}) {
    std::string e = p.build(o);
    Message m = parse(e);
    return m.root().transfer_encoding;
  };
  BOOST_TEST(cte(MimePart::text("plain ascii\n")) == "7bit");
  BOOST_TEST(cte(MimePart::text("un peu de français ici\n")) == "quoted-printable");
  BOOST_TEST(cte(MimePart::text("ничего кроме кириллицы\n")) == "base64");
  BOOST_TEST(cte(MimePart::text("un peu de français\n"), BuildOptions{true, false, 0}) == "8bit");
  BOOST_TEST(cte(MimePart::text(std::string(1500, 'a'))) == "quoted-printable");  // > 998 characters
  BOOST_TEST(cte(MimePart::data(std::string("\x00\x01\x02", 3), "application/octet-stream")) == "base64");
  BOOST_TEST(cte(MimePart::data("a,b\r\n1,2\r\n", "text/csv")) == "7bit");
  MimePart forced = MimePart::text("x");
  forced.encoding = TransferEncoding::base64;
  BOOST_TEST(cte(forced) == "base64");
  // A boundary never occurs in the content, even when the content tries.
  MimePart mp = MimePart::multipart("mixed", {MimePart::text("--=_tern_ lookalike\n")});
  std::string built = mp.build(BuildOptions{false, false, 42});
  Message m = parse(built);
  BOOST_TEST(m.defects.empty());
  BOOST_TEST(m.parts.size() == 2u);
}

BOOST_AUTO_TEST_CASE(built_messages_parse_back_with_tern) {
  std::mt19937 rng(5);
  for (std::size_t i = 0; i < 88; ++i) {
    Built b = make(i, rng, BuildOptions{i % 2 == 1, i % 5 == 4, 0});
    check_lines(b.message);
    Message m = parse(b.message);
    // Raw UTF-8 header fields (SMTPUTF8, RFC 6532) are reported as such, nothing else.
    for (const auto& d : m.defects)
      BOOST_TEST((i % 5 == 4 && d.kind == DefectKind::non_ascii_header), "defect " << to_string(d.kind) << " in message " << i);
    const Part& r = m.root();
    BOOST_TEST(trim(decode_encoded_words(r.header("Subject")->unfolded())) == kTexts[i % kTexts.size()]);
    AddressList from = parse_address_list(r.header("From")->unfolded());
    BOOST_TEST_REQUIRE(from.all_mailboxes().size() == 1u);
    const auto& want = kPeople[i % kPeople.size()];
    BOOST_TEST(from.all_mailboxes()[0].display_name == want.first);
    BOOST_TEST(from.all_mailboxes()[0].address() == make_mailbox("", want.second).address());
    BOOST_TEST(parse_address_list(r.header("To")->unfolded()).all_mailboxes().size() == 2u);
    for (const auto& p : m.parts) {
      if (p.is_multipart() || p.content_type.type == "multipart") continue;
      std::string content = decode_transfer_encoding(m.body(p), p.transfer_encoding).data;
      if (const std::string* fname = find_parameter(p.disposition.params, "filename")) {
        const std::string want_name = i % 3 == 0 ? "report.pdf" : i % 3 == 1 ? "Prüfbericht März 2026 (final).pdf" : "年度報告書_2026年第一四半期_最終版_とても長いファイル名です.pdf";
        BOOST_TEST(*fname == want_name);
        BOOST_TEST(*find_parameter(p.content_type.params, "name") == want_name);
      } else if (p.content_type.mime_type() == "text/plain") {
        const std::string body_text = kTexts[(i + 1) % kTexts.size()] + "\n\nline two\n" + kTexts[(i + 2) % kTexts.size()] + "\n";
        BOOST_TEST(lf(content) == body_text);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(built_messages_read_the_same_in_python_email) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tern-builder-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::mt19937 rng(9);
  for (std::size_t i = 0; i < 88; ++i) {
    Built b = make(i, rng, BuildOptions{i % 2 == 1, i % 5 == 4, 0});
    std::ofstream(dir / ("msg" + std::to_string(100 + i) + ".eml"), std::ios::binary) << b.message;
    std::ofstream(dir / ("msg" + std::to_string(100 + i) + ".json"), std::ios::binary) << b.expected_json;
  }
  std::string cmd = std::string("/usr/bin/python3 ") + TERN_MIME_TEST_DIR + "/builder_check.py " + dir.string();
  int rc = std::system(cmd.c_str());
  BOOST_TEST(rc == 0);
  if (rc == 0) fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(vacation_reply_and_forwarded_message) {
  const std::string original =
      "From: a@example.org\r\nSubject: Lunch?\r\nMessage-ID: <orig@example.org>\r\n\r\nAre you free?\r\n";
  MessageBuilder b;
  b.date(make_date(1795000000, 120))
      .from(make_mailbox("Zoë", "zoe@example.org"))
      .to(make_mailbox("", "a@example.org"))
      .subject("Auto: Lunch?")
      .message_id("reply@example.org")
      .in_reply_to("<orig@example.org>")
      .references("<orig@example.org>")
      .header("Auto-Submitted", "auto-replied")  // RFC 3834 §5
      .body(MimePart::multipart("mixed", {MimePart::text("I am away.\n"), MimePart::message(original)}));
  const std::string m = b.build(BuildOptions{false, true, 7});
  check_lines(m);
  BOOST_TEST(m.find("From: Zoë <zoe@example.org>\r\n") != std::string::npos);  // SMTPUTF8: raw UTF-8 (RFC 6532)
  BOOST_TEST(m.find("Message-ID: <reply@example.org>\r\n") != std::string::npos);
  BOOST_TEST(m.find("Date: Wed, 18 Nov 2026 13:06:40 +0200\r\n") == 0u);
  Message p = parse(m);
  BOOST_TEST_REQUIRE(p.defects.size() == 1u);
  BOOST_TEST((p.defects[0].kind == DefectKind::non_ascii_header));
  BOOST_TEST(p.root().header("In-Reply-To")->value == " <orig@example.org>");
  BOOST_TEST(p.root().header("Auto-Submitted")->value == " auto-replied");
  const Part* fwd = p.find("2");
  BOOST_TEST_REQUIRE(fwd != nullptr);
  BOOST_TEST(fwd->content_type.mime_type() == "message/rfc822");
  BOOST_TEST(fwd->transfer_encoding == "7bit");
  BOOST_TEST(p.body(*fwd) == original);  // never re-encoded
  BOOST_TEST_REQUIRE(fwd->children.size() == 1u);
  BOOST_TEST(p.parts[fwd->children[0]].header("Subject")->value == " Lunch?");
}
