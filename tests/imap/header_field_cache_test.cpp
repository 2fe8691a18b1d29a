// HeaderFieldCache::extract: over the whole MIME corpus, the cut header fields answer ENVELOPE,
// HEADER.FIELDS, the header SEARCH keys, SORT and THREAD exactly as the whole header does.
#include <boost/test/unit_test.hpp>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../../lib/imap/server/header_field_cache.hpp"
#include "tern/imap/section.hpp"
#include "tern/imap/sort.hpp"
#include "tern/imap/thread.hpp"
#include "tern/mime/imap_view.hpp"

using namespace tern::imap;

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string header_block(const std::string& raw) {
  auto m = tern::mime::parse(raw);
  return raw.substr(0, m.parts.empty() ? raw.size() : m.root().body_start);
}

SearchKey key(SearchKeyKind kind, std::string text, std::string field = {}) {
  SearchKey k;
  k.kind = kind;
  k.text = std::move(text);
  k.field = std::move(field);
  return k;
}

}  // namespace

BOOST_AUTO_TEST_CASE(cut_keeps_cached_fields_in_order_and_drops_others) {
  std::string h =
      "Received: from a\r\n by b\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nX-Spam: yes\r\nTo: a@x,\r\n b@y\r\n"
      "Date: Mon, 2 Jan 2023 10:00:00 +0000\r\nTO: c@z\r\n\r\n";
  BOOST_TEST(HeaderFieldCache::extract(h) ==
             "Subject: =?UTF-8?Q?caf=C3=A9?=\r\nTo: a@x,\r\n b@y\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\nTO: c@z\r\n\r\n");
  BOOST_TEST(HeaderFieldCache::extract("X-Only: 1\r\n\r\n") == "\r\n");
  // Field syntax defects: not cut, so the whole header is always read for these.
  BOOST_TEST(HeaderFieldCache::extract("Subject: a\r\nnot a field\r\nFrom: b@c\r\n\r\n") == "");
  BOOST_TEST(HeaderFieldCache::extract(" leading: continuation\r\nSubject: a\r\n\r\n") == "");
  BOOST_TEST(HeaderFieldCache::covers({"FROM", "subject", "Message-Id", "X-Priority"}));
  BOOST_TEST(!HeaderFieldCache::covers({"From", "X-Mailer"}));
}

BOOST_AUTO_TEST_CASE(corpus_answers_equal_with_cut_and_whole_header) {
  namespace fs = std::filesystem;
  std::deque<std::string> whole, cut;
  std::deque<tern::store::MessageInfo> infos;
  std::size_t files = 0, uncut = 0;
  const std::vector<std::string> thunderbird = {"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Priority",
                                                "X-Priority", "References", "Newsgroups", "In-Reply-To",
                                                "Content-Type", "Reply-To"};
  for (const auto& e : fs::recursive_directory_iterator(TERN_MIME_CORPUS)) {
    if (!e.is_regular_file() || e.path().extension() != ".eml") continue;
    ++files;
    std::string h = header_block(read(e.path()));
    std::string c = HeaderFieldCache::extract(h);
    if (c.empty()) {
      ++uncut;
      continue;
    }
    auto mh = tern::mime::parse(h), mc = tern::mime::parse(c);
    BOOST_TEST(tern::mime::to_imap(tern::mime::make_envelope(mh, mh.root())) ==
                   tern::mime::to_imap(tern::mime::make_envelope(mc, mc.root())),
               e.path());
    Section s;
    s.text = Section::Text::header_fields;
    s.fields = thunderbird;
    BOOST_TEST(fetch_section(mh, s) == fetch_section(mc, s), e.path());
    s.fields = {"subject"};
    BOOST_TEST(fetch_section(mh, s) == fetch_section(mc, s), e.path());
    whole.push_back(h);
    cut.push_back(c);
    tern::store::MessageInfo info;
    info.uid = static_cast<std::uint32_t>(whole.size());
    info.internal_date = 1000 + static_cast<std::int64_t>(whole.size());
    infos.push_back(info);
  }
  BOOST_TEST(files > 50u);
  // Most real headers are cut; the rest are the corpus's deliberately malformed ones.
  BOOST_TEST(uncut * 5 < files, uncut << " of " << files << " not cut");

  // The same messages seen through each form: header SEARCH keys, SORT and THREAD agree.
  auto views = [&](std::deque<std::string>& headers, std::deque<MessageView>& out, std::vector<MessageView*>& ptrs) {
    for (std::size_t i = 0; i < headers.size(); ++i) {
      const std::string* hp = &headers[i];
      out.emplace_back(
          static_cast<std::uint32_t>(i + 1), infos[i], [] { return tern::Result<std::string>(std::string()); },
          [hp] { return tern::Result<std::string>(*hp); });
      ptrs.push_back(&out.back());
    }
  };
  std::deque<MessageView> vw, vc;
  std::vector<MessageView*> pw, pc;
  views(whole, vw, pw);
  views(cut, vc, pc);
  SearchEnv env;
  env.message_count = static_cast<std::uint32_t>(whole.size());
  env.largest_uid = env.message_count;
  std::vector<SearchKey> keys = {key(SearchKeyKind::subject, "re"),       key(SearchKeyKind::from, "example"),
                                 key(SearchKeyKind::to, "@"),             key(SearchKeyKind::cc, "a"),
                                 key(SearchKeyKind::header, "", "References"),
                                 key(SearchKeyKind::header, "<", "Message-ID")};
  SearchKey sent;
  sent.kind = SearchKeyKind::sentsince;
  sent.date = {2000, 1, 1};
  keys.push_back(sent);
  for (const auto& k : keys) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < pw.size(); ++i) {
      bool a = matches(k, *pw[i], env), b = matches(k, *pc[i], env);
      BOOST_TEST(a == b, "key " << static_cast<int>(k.kind) << " message " << i + 1);
      hits += a;
    }
    BOOST_TEST(hits > 0u, "key " << static_cast<int>(k.kind) << " matches something");
  }
  for (auto sk : {SortKey::date, SortKey::subject, SortKey::from, SortKey::to, SortKey::cc, SortKey::displayfrom,
                  SortKey::displayto})
    BOOST_TEST(sort_messages(pw, {{sk, false}}) == sort_messages(pc, {{sk, false}}), static_cast<int>(sk));
  for (auto alg : {ThreadAlgorithm::orderedsubject, ThreadAlgorithm::references})
    BOOST_TEST(format_threads(thread_messages(pw, alg)) == format_threads(thread_messages(pc, alg)));
}
