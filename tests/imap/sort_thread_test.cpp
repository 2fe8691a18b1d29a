// SORT (RFC 5256 §3), base subject (RFC 5256 §2.1) and THREAD (RFC 5256 §3-4) on hand-written messages.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <deque>

#include "tern/imap/sort.hpp"
#include "tern/imap/thread.hpp"

using namespace tern::imap;
using tern::store::MessageInfo;

namespace {

struct Mailbox {
  std::deque<std::string> raw;
  std::deque<MessageInfo> infos;
  std::deque<MessageView> views;
  std::vector<MessageView*> ptrs;
  void add(std::string headers, std::int64_t internal_date = 1000, std::uint64_t size = 0) {
    raw.push_back(headers + "\r\nbody\r\n");
    MessageInfo i;
    i.uid = static_cast<std::uint32_t>(100 + infos.size() * 10);
    i.internal_date = internal_date;
    i.size = size ? size : raw.back().size();
    infos.push_back(i);
    views.emplace_back(static_cast<std::uint32_t>(views.size() + 1), infos.back(), raw.back());
    ptrs.push_back(&views.back());
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(sort_thread)

BOOST_AUTO_TEST_CASE(base_subjects) {
  BOOST_TEST(base_subject("Re: hello") == "hello");
  BOOST_TEST(base_subject("RE: Re[2]: FWD: hello (fwd)") == "hello");
  BOOST_TEST(base_subject("Fw: [tern-dev] Re: hello   world") == "hello world");
  BOOST_TEST(base_subject("[tern-dev] hello") == "hello");
  BOOST_TEST(base_subject("[tern-dev]") == "[tern-dev]");  // a blob is kept when nothing else remains
  BOOST_TEST(base_subject("[Fwd: Re: hello]") == "hello");
  BOOST_TEST(base_subject("  \t hello\r\n world  ") == "hello world");
  BOOST_TEST(base_subject("=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?=") == "Grüße");  // decoded before stripping
  BOOST_TEST(base_subject("Reply: hello") == "Reply: hello");
  BOOST_TEST(base_subject("") == "");
  BOOST_TEST(subject_is_reply_or_forward("Re: x"));
  BOOST_TEST(subject_is_reply_or_forward("x (fwd)"));
  BOOST_TEST(subject_is_reply_or_forward("[Fwd: x]"));
  BOOST_TEST(!subject_is_reply_or_forward("[list] x"));
  BOOST_TEST(!subject_is_reply_or_forward("x"));
}

BOOST_AUTO_TEST_CASE(sort_criteria) {
  Mailbox mb;
  mb.add("Subject: Re: banana\r\nFrom: Zed <a@x>\r\nTo: bob@x\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n", 300, 50);
  mb.add("Subject: apple\r\nFrom: \"Émile\" <zoe@x>\r\nCc: c@x\r\nDate: Tue, 2 Jan 2024 09:00:00 -0200\r\n", 100, 70);
  mb.add("Subject: [list] Banana\r\nFrom: mike@x\r\nDate: garbage\r\n", 200, 50);
  mb.add("Subject: Cherry\r\nTo: \"Al\" <zz@x>\r\n", 50, 10);
  auto s = [&](std::vector<SortCriterion> c, bool uid = false) { return sort_messages(mb.ptrs, c, uid); };
  using V = std::vector<std::uint32_t>;
  BOOST_TEST(s({{SortKey::arrival, false}}) == (V{4, 2, 3, 1}));
  BOOST_TEST(s({{SortKey::arrival, true}}) == (V{1, 3, 2, 4}));
  BOOST_TEST(s({{SortKey::arrival, false}}, true) == (V{130, 110, 120, 100}));
  // DATE: 1 = 10:00Z, 2 = 11:00Z; 3 and 4 fall back to INTERNALDATE (200, 50 s after the epoch)
  BOOST_TEST(s({{SortKey::date, false}}) == (V{4, 3, 1, 2}));
  // SUBJECT: apple, banana (1), banana (3), cherry; ties by sequence number
  BOOST_TEST(s({{SortKey::subject, false}}) == (V{2, 1, 3, 4}));
  BOOST_TEST(s({{SortKey::subject, true}}) == (V{4, 1, 3, 2}));  // REVERSE keeps ties ascending
  BOOST_TEST(s({{SortKey::subject, false}, {SortKey::arrival, false}}) == (V{2, 3, 1, 4}));
  BOOST_TEST(s({{SortKey::subject, false}, {SortKey::arrival, true}}) == (V{2, 1, 3, 4}));
  // FROM by local part: "" (4) < a < mike < zoe
  BOOST_TEST(s({{SortKey::from, false}}) == (V{4, 1, 3, 2}));
  // DISPLAYFROM: "" (4) < "Émile" ... É = E+U+0301 sorts after "mike@x"? no: E < M < Z
  BOOST_TEST(s({{SortKey::displayfrom, false}}) == (V{4, 2, 3, 1}));
  BOOST_TEST(s({{SortKey::to, false}}) == (V{2, 3, 1, 4}));
  BOOST_TEST(s({{SortKey::displayto, false}}) == (V{2, 3, 4, 1}));  // "Al" < "bob@x"
  BOOST_TEST(s({{SortKey::cc, true}}) == (V{2, 1, 3, 4}));
  BOOST_TEST(s({{SortKey::size, false}, {SortKey::subject, false}}) == (V{4, 1, 3, 2}));
  BOOST_TEST(s({}) == (V{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(thread_syntax) {
  std::vector<ThreadNode> t{{1, {{2, {}}}}, {3, {{4, {}}, {5, {{6, {}}}}}}, {0, {{7, {}}, {8, {}}}}};
  BOOST_TEST(format_threads(t) == "(1 2)(3 (4)(5 6))((7)(8))");
  BOOST_TEST(format_threads({}) == "");
  // RFC 5256 §4 example shape
  std::vector<ThreadNode> ex{{2, {}}, {3, {{6, {{4, {{23, {}}}}, {44, {{7, {{96, {}}}}}}}}}}};
  BOOST_TEST(format_threads(ex) == "(2)(3 6 (4 23)(44 7 96))");
}

BOOST_AUTO_TEST_CASE(message_ids) {
  auto ids = parse_message_ids(" <a@b> (comment <x@y>) junk <c@d>\r\n <no-at> <e@f");
  BOOST_TEST(ids.size() == 2u);
  BOOST_TEST(ids[0] == "<a@b>");
  BOOST_TEST(ids[1] == "<c@d>");
}

BOOST_AUTO_TEST_CASE(ordered_subject) {
  Mailbox mb;
  mb.add("Subject: b\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n");
  mb.add("Subject: a\r\nDate: Tue, 2 Jan 2024 11:00:00 +0000\r\n");
  mb.add("Subject: Re: b\r\nDate: Tue, 2 Jan 2024 12:00:00 +0000\r\n");
  mb.add("Subject: RE: a\r\nDate: Tue, 2 Jan 2024 09:00:00 +0000\r\n");
  mb.add("Subject: b\r\nDate: Tue, 2 Jan 2024 13:00:00 +0000\r\n");
  auto t = thread_messages(mb.ptrs, ThreadAlgorithm::orderedsubject);
  // "a": 4 (09:00) then 2; "b": 1, 3, 5; threads by first date: a (09:00) before b (10:00)
  BOOST_TEST(format_threads(t) == "(4 2)(1 (3)(5))");
  BOOST_TEST(format_threads(thread_messages(mb.ptrs, ThreadAlgorithm::orderedsubject, true)) == "(130 110)(100 (120)(140))");
}

BOOST_AUTO_TEST_CASE(references) {
  Mailbox mb;
  auto d = [](int h) { return "Date: Tue, 2 Jan 2024 " + std::to_string(h) + ":00:00 +0000\r\n"; };
  mb.add("Message-ID: <1@x>\r\nSubject: start\r\n" + d(10));                                       // 1
  mb.add("Message-ID: <2@x>\r\nSubject: Re: start\r\nIn-Reply-To: <1@x>\r\n" + d(11));             // 2
  mb.add("Message-ID: <3@x>\r\nSubject: Re: start\r\nReferences: <1@x> <2@x>\r\n" + d(12));        // 3
  mb.add("Message-ID: <4@x>\r\nSubject: Re: start\r\nReferences: <1@x>\r\n" + d(13));              // 4
  mb.add("Message-ID: <5@x>\r\nSubject: other\r\nReferences: <gone@x>\r\n" + d(9));                // 5: dummy parent pruned
  mb.add("Message-ID: <6@x>\r\nSubject: third\r\nReferences: <root@x>\r\n" + d(14));               // 6 and 7 share a
  mb.add("Message-ID: <7@x>\r\nSubject: Re: third\r\nReferences: <root@x>\r\n" + d(15));           //   missing parent
  mb.add("Message-ID: <8@x>\r\nSubject: Re: other\r\n" + d(16));                                    // 8: grouped by subject
  auto t = thread_messages(mb.ptrs, ThreadAlgorithm::references);
  BOOST_TEST(format_threads(t) == "(5 8)(1 (2 3)(4))((6)(7))");
}

BOOST_AUTO_TEST_CASE(references_loops_and_duplicates) {
  Mailbox mb;
  mb.add("Message-ID: <a@x>\r\nReferences: <b@x>\r\nSubject: x1\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n");
  mb.add("Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: x2\r\nDate: Tue, 2 Jan 2024 11:00:00 +0000\r\n");
  mb.add("Message-ID: <a@x>\r\nSubject: x3\r\nDate: Tue, 2 Jan 2024 12:00:00 +0000\r\n");  // duplicate id
  auto t = thread_messages(mb.ptrs, ThreadAlgorithm::references);
  // b is a's parent (a's own References); b's References would make a loop and is ignored.
  BOOST_TEST(format_threads(t) == "(2 1)(3)");
}

// RFC 5256 step 1B: the old parent link of a message is removed even when the new one would make a loop.
// a; b refs "a c" (so a > c > b); c refs b: c leaves a and, b being below it, becomes a root. Sent dates
// are missing, so internal dates order the threads (imaptest's "thread" script; Dovecot answers the same).
BOOST_AUTO_TEST_CASE(references_new_parent_would_loop) {
  Mailbox mb;
  mb.add("Message-ID: <a@b>\r\n", 3000);
  mb.add("Message-Id: <b@b>\r\nReferences: <a@b> <c@b>\r\n", 1000);
  mb.add("Message-Id: <c@b>\r\nReferences: <b@b>\r\n", 2000);
  BOOST_TEST(format_threads(thread_messages(mb.ptrs, ThreadAlgorithm::references)) == "(3 2)(1)");
  Mailbox rest;  // after expunging the first message
  rest.add("Message-Id: <b@b>\r\nReferences: <a@b> <c@b>\r\n", 1000);
  rest.add("Message-Id: <c@b>\r\nReferences: <b@b>\r\n", 2000);
  BOOST_TEST(format_threads(thread_messages(rest.ptrs, ThreadAlgorithm::references)) == "(2 1)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(thread_limits)

// One 5,000-message reply chain: every message stays in the result exactly once, the tree is at most
// 300 levels deep (deeper replies become siblings; links along chains longer than 1,000 are not made
// and the pieces are grouped by subject), and threading, formatting and destruction do not overflow.
namespace {
void collect(const ThreadNode& n, std::size_t depth, std::vector<std::uint32_t>& out, std::size_t& max_depth) {
  if (n.number) out.push_back(n.number);
  max_depth = std::max(max_depth, depth);
  for (const auto& c : n.children) collect(c, depth + 1, out, max_depth);
}
}  // namespace

BOOST_AUTO_TEST_CASE(very_deep_chain) {
  Mailbox mb;
  const int n = 5000;
  for (int i = 0; i < n; ++i) {
    std::string h = "Message-ID: <c" + std::to_string(i) + "@x>\r\nSubject: chain\r\n";
    if (i > 0) h += "In-Reply-To: <c" + std::to_string(i - 1) + "@x>\r\n";
    h += "Date: Tue, 2 Jan 2024 10:00:00 +0000\r\n";
    mb.add(h, 1000 + i);
  }
  auto t = thread_messages(mb.ptrs, ThreadAlgorithm::references);
  std::vector<std::uint32_t> seen;
  std::size_t max_depth = 0;
  for (const auto& root : t) collect(root, 0, seen, max_depth);
  std::sort(seen.begin(), seen.end());
  BOOST_TEST(seen.size() == static_cast<std::size_t>(n));
  BOOST_TEST((std::adjacent_find(seen.begin(), seen.end()) == seen.end()));
  BOOST_TEST(max_depth <= 301u);
  BOOST_TEST(max_depth >= 299u);
  std::string f = format_threads(t);
  BOOST_TEST(f.find("(1 2 3 4 5 ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
