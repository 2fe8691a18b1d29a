// SEARCH evaluation: RFC 9051 §6.4.4 keys on hand-written messages.
#include <boost/test/unit_test.hpp>

#include "tern/imap/collation.hpp"
#include "tern/imap/search.hpp"

using namespace tern::imap;
using tern::store::MessageInfo;

namespace {

SearchKey key(SearchKeyKind k, std::string text = {}, std::string field = {}) {
  SearchKey s;
  s.kind = k;
  s.text = std::move(text);
  s.field = std::move(field);
  return s;
}
SearchKey date_key(SearchKeyKind k, int y, int m, int d) {
  SearchKey s;
  s.kind = k;
  s.date = {y, m, d};
  return s;
}
SearchKey num_key(SearchKeyKind k, std::uint64_t n) {
  SearchKey s;
  s.kind = k;
  s.number = n;
  return s;
}
SearchKey set_key(SearchKeyKind k, std::vector<SeqRange> r, bool saved = false) {
  SearchKey s;
  s.kind = k;
  s.set.ranges = std::move(r);
  s.set.saved = saved;
  return s;
}
SearchKey op(SearchKeyKind k, std::vector<SearchKey> c) {
  SearchKey s;
  s.kind = k;
  s.children = std::move(c);
  return s;
}

const std::string kMsg =
    "Date: Mon, 7 Feb 1994 23:30:00 -0800\r\n"
    "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
    "To: Team: alice@example.org, \"Bob B.\" <bob@example.net>;\r\n"
    "Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus\r\n"
    " =?iso-8859-1?q?K=F6ln?=\r\n"
    "X-Empty:\r\n"
    "Message-ID: <1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble not searched\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=E9 cr=E8me, soft=\r\n"
    "break\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PHA+SGVsbG8gPGI+V29ybGQ8L2I+PC9wPg==\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "binaryneedle\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner subject\r\n"
    "\r\n"
    "inner body text\r\n"
    "--b1--\r\n";

struct Fixture {
  MessageInfo info;
  SearchEnv env;
  Fixture() {
    info.uid = 42;
    info.size = kMsg.size();
    info.modseq = 17;
    info.internal_date = 760667400;  // 1994-02-08T00:30:00Z
    info.flags.system = tern::store::flag_seen | tern::store::flag_flagged;
    info.flags.keywords = {"$Forwarded", "Work"};
    env.message_count = 10;
    env.largest_uid = 50;
    env.now = 760667400 + 3600;
  }
  bool m(const SearchKey& k) {
    MessageView v(3, info, kMsg);
    return matches(k, v, env);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(search_eval, Fixture)

BOOST_AUTO_TEST_CASE(flags_and_keywords) {
  BOOST_TEST(m(key(SearchKeyKind::seen)));
  BOOST_TEST(m(key(SearchKeyKind::flagged)));
  BOOST_TEST(!m(key(SearchKeyKind::answered)));
  BOOST_TEST(m(key(SearchKeyKind::unanswered)));
  BOOST_TEST(!m(key(SearchKeyKind::unseen)));
  BOOST_TEST(m(key(SearchKeyKind::undeleted)));
  BOOST_TEST(m(key(SearchKeyKind::keyword, "work")));  // keywords compare case-insensitively
  BOOST_TEST(!m(key(SearchKeyKind::keyword, "$Junk")));
  BOOST_TEST(m(key(SearchKeyKind::unkeyword, "$Junk")));
  BOOST_TEST(!m(key(SearchKeyKind::recent)));
  BOOST_TEST(m(key(SearchKeyKind::old)));
  BOOST_TEST(!m(key(SearchKeyKind::new_)));
}

BOOST_AUTO_TEST_CASE(flag_search_reads_nothing) {
  int loads = 0;
  MessageView v(1, info, [&]() -> tern::Result<std::string> { ++loads; return kMsg; });
  SearchKey k = op(SearchKeyKind::and_, {key(SearchKeyKind::seen), num_key(SearchKeyKind::larger, 10),
                                         date_key(SearchKeyKind::since, 1994, 2, 1)});
  BOOST_TEST(matches(k, v, env));
  BOOST_TEST(loads == 0);
  BOOST_TEST(!v.header_loaded());
  BOOST_TEST((search_needs(k) == SearchNeeds::metadata));
  BOOST_TEST(matches(key(SearchKeyKind::subject, "köln"), v, env));
  BOOST_TEST(loads == 1);
  BOOST_TEST(matches(key(SearchKeyKind::from, "andré"), v, env));
  BOOST_TEST(loads == 1);  // parsed once, cached
}

BOOST_AUTO_TEST_CASE(header_loader_is_used_for_header_keys) {
  int full = 0, hdr = 0;
  MessageView v(1, info, [&]() -> tern::Result<std::string> { ++full; return kMsg; },
                [&]() -> tern::Result<std::string> { ++hdr; return kMsg.substr(0, kMsg.find("\r\n\r\n") + 4); });
  BOOST_TEST(matches(key(SearchKeyKind::subject, "GRÜSSE"), v, env) == false);  // ß is not SS in simple titlecase
  BOOST_TEST(matches(key(SearchKeyKind::subject, "grüße aus köln"), v, env));
  BOOST_TEST(hdr == 1);
  BOOST_TEST(full == 0);
  BOOST_TEST(matches(key(SearchKeyKind::body, "café"), v, env));
  BOOST_TEST(full == 1);
}

BOOST_AUTO_TEST_CASE(loader_failure_does_not_match) {
  MessageView v(1, info, []() -> tern::Result<std::string> { return tern::fail(tern::ErrorCategory::not_found, "gone"); });
  BOOST_TEST(!matches(key(SearchKeyKind::subject, ""), v, env));
  BOOST_TEST(!matches(key(SearchKeyKind::body, "x"), v, env));
  BOOST_TEST(matches(op(SearchKeyKind::not_, {key(SearchKeyKind::body, "x")}), v, env));
}

BOOST_AUTO_TEST_CASE(decoded_headers) {
  BOOST_TEST(m(key(SearchKeyKind::subject, "Grüße aus Köln")));  // encoded words joined across the fold
  BOOST_TEST(m(key(SearchKeyKind::subject, "KÖLN")));
  BOOST_TEST(!m(key(SearchKeyKind::subject, "=?UTF-8?")));
  BOOST_TEST(m(key(SearchKeyKind::from, "André Pirard")));
  BOOST_TEST(m(key(SearchKeyKind::from, "pirard@VM1")));
  BOOST_TEST(m(key(SearchKeyKind::to, "bob b.")));
  BOOST_TEST(m(key(SearchKeyKind::to, "alice@example.org")));
  BOOST_TEST(!m(key(SearchKeyKind::cc, "")));  // no Cc field
  BOOST_TEST(m(key(SearchKeyKind::header, "", "x-empty")));  // "" = the field exists
  BOOST_TEST(!m(key(SearchKeyKind::header, "", "X-Missing")));
  BOOST_TEST(m(key(SearchKeyKind::header, "1@EXAMPLE", "message-id")));
  BOOST_TEST(!m(key(SearchKeyKind::subject, "inner")));  // the embedded message's header is not ours
}

BOOST_AUTO_TEST_CASE(body_and_text) {
  BOOST_TEST(m(key(SearchKeyKind::body, "CAFÉ CRÈME")));      // QP + Latin-1 → UTF-8, case-folded
  BOOST_TEST(m(key(SearchKeyKind::body, "softbreak")));       // soft line break joined
  BOOST_TEST(m(key(SearchKeyKind::body, "<b>world</b>")));    // base64 HTML part, raw markup
  BOOST_TEST(m(key(SearchKeyKind::body, "inner body")));      // text inside message/rfc822
  BOOST_TEST(!m(key(SearchKeyKind::body, "binaryneedle")));   // application/* is not text
  BOOST_TEST(!m(key(SearchKeyKind::body, "preamble")));
  BOOST_TEST(!m(key(SearchKeyKind::body, "Köln")));           // BODY excludes the header
  BOOST_TEST(m(key(SearchKeyKind::text, "Köln")));            // TEXT includes it
  BOOST_TEST(m(key(SearchKeyKind::text, "café")));
}

BOOST_AUTO_TEST_CASE(dates) {
  // INTERNALDATE 1994-02-08 00:30 UTC; in a -0800 server zone that is still 7 Feb.
  BOOST_TEST(m(date_key(SearchKeyKind::on, 1994, 2, 8)));
  env.zone_minutes = -480;
  BOOST_TEST(m(date_key(SearchKeyKind::on, 1994, 2, 7)));
  BOOST_TEST(m(date_key(SearchKeyKind::before, 1994, 2, 8)));
  BOOST_TEST(!m(date_key(SearchKeyKind::since, 1994, 2, 8)));
  env.zone_minutes = 0;
  BOOST_TEST(m(date_key(SearchKeyKind::since, 1994, 2, 8)));
  BOOST_TEST(!m(date_key(SearchKeyKind::before, 1994, 2, 8)));
  // Date: 7 Feb 1994 23:30 -0800: the day in its own zone is the 7th (8th in UTC).
  BOOST_TEST(m(date_key(SearchKeyKind::senton, 1994, 2, 7)));
  BOOST_TEST(!m(date_key(SearchKeyKind::senton, 1994, 2, 8)));
  BOOST_TEST(m(date_key(SearchKeyKind::sentbefore, 1994, 2, 8)));
  BOOST_TEST(m(date_key(SearchKeyKind::sentsince, 1994, 2, 7)));
  BOOST_TEST(m(num_key(SearchKeyKind::younger, 3600)));
  BOOST_TEST(!m(num_key(SearchKeyKind::younger, 3599)));
  BOOST_TEST(m(num_key(SearchKeyKind::older, 3600)));
  BOOST_TEST(!m(num_key(SearchKeyKind::older, 3601)));
}

BOOST_AUTO_TEST_CASE(no_sent_date_is_the_epoch) {
  std::string raw = "Subject: no date\r\nDate: someday\r\n\r\nbody\r\n";
  MessageView v(1, info, raw);
  BOOST_TEST(!matches(date_key(SearchKeyKind::senton, 1994, 2, 8), v, env));
  BOOST_TEST(matches(date_key(SearchKeyKind::senton, 1970, 1, 1), v, env));
  BOOST_TEST(matches(date_key(SearchKeyKind::sentbefore, 2000, 1, 1), v, env));
}

BOOST_AUTO_TEST_CASE(sizes_modseq_savedate) {
  BOOST_TEST(m(num_key(SearchKeyKind::larger, kMsg.size() - 1)));
  BOOST_TEST(!m(num_key(SearchKeyKind::larger, kMsg.size())));
  BOOST_TEST(m(num_key(SearchKeyKind::smaller, kMsg.size() + 1)));
  BOOST_TEST(!m(num_key(SearchKeyKind::smaller, kMsg.size())));
  BOOST_TEST(m(num_key(SearchKeyKind::modseq, 17)));
  BOOST_TEST(!m(num_key(SearchKeyKind::modseq, 18)));
  BOOST_TEST(!m(key(SearchKeyKind::savedatesupported)));
  env.savedate_supported = true;
  BOOST_TEST(m(key(SearchKeyKind::savedatesupported)));
  MessageView v(3, info, kMsg);
  v.save_date = 760667400 + 86400;
  BOOST_TEST(matches(date_key(SearchKeyKind::savedon, 1994, 2, 9), v, env));
  BOOST_TEST(!matches(date_key(SearchKeyKind::savedbefore, 1994, 2, 9), v, env));
  BOOST_TEST(matches(date_key(SearchKeyKind::savedsince, 1994, 2, 9), v, env));
  // The view takes the store's save date; 0 there means unknown: the internal date (8 Feb) is compared.
  MessageInfo saved = info;
  saved.save_date = 760667400 + 2 * 86400;  // 10 Feb
  MessageView known(3, saved, kMsg), unknown(3, info, kMsg);
  BOOST_TEST(*known.save_date == saved.save_date);
  BOOST_TEST(!unknown.save_date);
  BOOST_TEST(matches(date_key(SearchKeyKind::savedon, 1994, 2, 10), known, env));
  BOOST_TEST(!matches(date_key(SearchKeyKind::savedon, 1994, 2, 8), known, env));
  BOOST_TEST(matches(date_key(SearchKeyKind::savedon, 1994, 2, 8), unknown, env));
  BOOST_TEST(!matches(date_key(SearchKeyKind::savedsince, 1994, 2, 9), unknown, env));
}

BOOST_AUTO_TEST_CASE(emailid_and_threadid) {
  // RFC 8474 §6: EMAILID compares the whole objectid (case-sensitive); THREADID matches nothing here (NIL).
  SearchKey e;
  e.kind = SearchKeyKind::emailid;
  e.text = "Eabc-42";
  BOOST_TEST(!m(e));  // no ids known
  env.email_id = [](std::uint32_t uid) { return "Eabc-" + std::to_string(uid); };
  BOOST_TEST(m(e));
  e.text = "Eabc-4";
  BOOST_TEST(!m(e));
  e.text = "EABC-42";
  BOOST_TEST(!m(e));
  SearchKey t;
  t.kind = SearchKeyKind::threadid;
  t.text = "Eabc-42";
  BOOST_TEST(!m(t));
}

BOOST_AUTO_TEST_CASE(sequence_sets) {
  BOOST_TEST(m(set_key(SearchKeyKind::sequence_set, {{1, 3}})));
  BOOST_TEST(!m(set_key(SearchKeyKind::sequence_set, {{4, SeqRange::kStar}})));
  BOOST_TEST(m(set_key(SearchKeyKind::sequence_set, {{SeqRange::kStar, 2}})));  // "*:2" = 2:10
  BOOST_TEST(!m(set_key(SearchKeyKind::sequence_set, {{SeqRange::kStar, SeqRange::kStar}})));
  BOOST_TEST(m(set_key(SearchKeyKind::uid, {{42, 42}})));
  BOOST_TEST(!m(set_key(SearchKeyKind::uid, {{43, SeqRange::kStar}})));
  BOOST_TEST(m(set_key(SearchKeyKind::uid, {{40, SeqRange::kStar}})));
  // "$": nothing saved matches nothing; saved UIDs match by UID for both forms.
  BOOST_TEST(!m(set_key(SearchKeyKind::sequence_set, {}, true)));
  std::vector<std::uint32_t> saved{7, 42, 99};
  env.saved_uids = &saved;
  BOOST_TEST(m(set_key(SearchKeyKind::sequence_set, {}, true)));
  BOOST_TEST(m(set_key(SearchKeyKind::uid, {}, true)));
  saved = {7, 99};
  BOOST_TEST(!m(set_key(SearchKeyKind::uid, {}, true)));
}

BOOST_AUTO_TEST_CASE(boolean_nesting) {
  auto t = key(SearchKeyKind::seen), f = key(SearchKeyKind::deleted);
  BOOST_TEST(m(op(SearchKeyKind::or_, {f, t})));
  BOOST_TEST(!m(op(SearchKeyKind::or_, {f, f})));
  BOOST_TEST(m(op(SearchKeyKind::not_, {f})));
  BOOST_TEST(!m(op(SearchKeyKind::and_, {t, f})));
  BOOST_TEST(m(op(SearchKeyKind::and_, {t, op(SearchKeyKind::not_, {op(SearchKeyKind::or_, {f, key(SearchKeyKind::draft)})})})));
  BOOST_TEST(m(op(SearchKeyKind::and_, {})));
  BOOST_TEST(uses_modseq(op(SearchKeyKind::or_, {f, op(SearchKeyKind::not_, {num_key(SearchKeyKind::modseq, 1)})})));
  BOOST_TEST(!uses_modseq(op(SearchKeyKind::or_, {f, t})));
  BOOST_TEST((search_needs(op(SearchKeyKind::or_, {f, key(SearchKeyKind::text, "x")})) == SearchNeeds::message));
  BOOST_TEST((search_needs(op(SearchKeyKind::not_, {key(SearchKeyKind::from, "x")})) == SearchNeeds::header));
}

BOOST_AUTO_TEST_CASE(responses) {
  BOOST_TEST(format_sequence_set({5, 1, 2, 3, 3, 7, 8}) == "1:3,5,7:8");
  BOOST_TEST(format_sequence_set({}) == "");
  BOOST_TEST(format_search_response({2, 5, 7}) == "* SEARCH 2 5 7");
  BOOST_TEST(format_search_response({}) == "* SEARCH");
  BOOST_TEST(format_search_response({2}, 9) == "* SEARCH 2 (MODSEQ 9)");
  BOOST_TEST(format_search_response({}, 9) == "* SEARCH");
  SearchReturn r;
  r.min = r.max = r.count = true;
  BOOST_TEST(format_esearch_response("A1", true, r, {7, 2, 5}) == "* ESEARCH (TAG \"A1\") UID MIN 2 MAX 7 COUNT 3");
  BOOST_TEST(format_esearch_response("A1", false, r, {}) == "* ESEARCH (TAG \"A1\") COUNT 0");
  BOOST_TEST(format_esearch_response("t", false, SearchReturn{}, {1, 2, 3, 5}) == "* ESEARCH (TAG \"t\") ALL 1:3,5");
  SearchReturn all;
  all.all = true;
  BOOST_TEST(format_esearch_response("t", true, all, {1, 2}, 12) == "* ESEARCH (TAG \"t\") UID ALL 1:2 MODSEQ 12");
  SearchReturn save;
  save.save = true;
  BOOST_TEST(format_esearch_response("t", false, save, {1}) == "* ESEARCH (TAG \"t\")");
  SearchReturn minsave;
  minsave.min = minsave.save = true;
  BOOST_TEST(saved_result(minsave, {9, 3, 5}) == std::vector<std::uint32_t>{3});
  BOOST_TEST(saved_result(save, {9, 3, 5}) == (std::vector<std::uint32_t>{3, 5, 9}));
  minsave.max = true;
  BOOST_TEST(saved_result(minsave, {9, 3, 5}) == (std::vector<std::uint32_t>{3, 9}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(collation)

BOOST_AUTO_TEST_CASE(unicode_casemap) {
  BOOST_TEST(casemap_fold("abc") == "ABC");
  BOOST_TEST(casemap_fold("\xc3\xbc \xc2\xb3") == "U\xcc\x88 3");  // ü ³ → U + U+0308, 3 (RFC 5051 §2)
  BOOST_TEST(casemap_fold("\xc7\x86") == "Dz\xcc\x8c");  // ǆ → titlecase ǅ → D ž → D z U+030C
  BOOST_TEST(casemap_fold("Ω") == casemap_fold("ω"));
  BOOST_TEST(casemap_fold("Жук") == casemap_fold("жУК"));
  BOOST_TEST(casemap_fold("한") == "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab");  // Hangul L V T
  BOOST_TEST(casemap_fold("a\xff" "b") == "A\xef\xbf\xbd" "B");        // invalid octet → U+FFFD
  BOOST_TEST(casemap_compare("apple", "Banana") < 0);
  BOOST_TEST(casemap_compare("Éclair", "éCLAIR") == 0);
  BOOST_TEST(casemap_compare("Éclair", "Eclair") > 0);  // E U+0301 sorts right after E
  BOOST_TEST(casemap_compare("Éclair", "F") < 0);
  BOOST_TEST(casemap_compare("zeta", "Éclair") > 0);
  BOOST_TEST(casemap_contains("Grüße aus KÖLN", "köln"));
  BOOST_TEST(!casemap_contains("Grüße", "grusse"));
  BOOST_TEST(casemap_contains("x", ""));
}

BOOST_AUTO_TEST_SUITE_END()
