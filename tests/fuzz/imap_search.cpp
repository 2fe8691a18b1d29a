// Fuzz target for lib/imap/search: the input's first line selects a section path ("2.1.3"), the rest is
// a message. Runs every BODY[] section form, BINARY/BINARY.SIZE, text/date/address SEARCH keys, SORT
// and both THREAD algorithms over it; checks the invariants that must hold for any input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/imap/collation.hpp"
#include "tern/imap/search.hpp"
#include "tern/imap/section.hpp"
#include "tern/imap/sort.hpp"
#include "tern/imap/thread.hpp"

using namespace tern::imap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t nl = in.find('\n');
  std::string_view path = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  std::string_view raw = nl == std::string_view::npos ? in : in.substr(nl + 1);
  Section s;
  for (std::size_t i = 0; i < path.size() && s.part.size() < 8;) {
    std::uint32_t n = 0;
    while (i < path.size() && path[i] >= '0' && path[i] <= '9' && n < 100000) n = n * 10 + (path[i++] - '0');
    s.part.push_back(n);
    while (i < path.size() && (path[i] < '0' || path[i] > '9')) ++i;
  }
  auto m = tern::mime::parse(raw);
  for (auto text : {Section::Text::full, Section::Text::header, Section::Text::text, Section::Text::mime,
                    Section::Text::header_fields, Section::Text::header_fields_not}) {
    s.text = text;
    s.fields = {"Subject", "from", "X-Unknown"};
    std::string out = fetch_section(m, s);
    if (text == Section::Text::full && s.part.empty() && out != raw) std::abort();
    if ((text == Section::Text::header_fields || text == Section::Text::header_fields_not) &&
        !out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0))
      std::abort();
    auto part = apply_partial(out, Partial{3, 7});
    if (part.size() > 7) std::abort();
  }
  s.text = Section::Text::full;
  auto bin = fetch_binary(m, s);
  auto bsize = fetch_binary_size(m, s);
  if (bool(bin) != bool(bsize) || (bin && *bsize != bin->size())) std::abort();

  tern::store::MessageInfo info;
  info.uid = 7;
  info.size = raw.size();
  MessageView v(1, info, raw);
  SearchEnv env;
  env.message_count = 1;
  env.largest_uid = 7;
  for (auto kind : {SearchKeyKind::subject, SearchKeyKind::from, SearchKeyKind::to, SearchKeyKind::body,
                    SearchKeyKind::text, SearchKeyKind::senton, SearchKeyKind::header}) {
    SearchKey k;
    k.kind = kind;
    k.field = "Subject";
    k.text = std::string(path.substr(0, 8));
    SearchKey negated;
    negated.kind = SearchKeyKind::not_;
    negated.children.push_back(k);
    if (matches(k, v, env) == matches(negated, v, env)) std::abort();
  }
  (void)casemap_fold(raw.substr(0, 256));
  (void)base_subject(raw.substr(0, 256));
  MessageView* views[] = {&v};
  if (sort_messages(views, {{SortKey::subject, false}, {SortKey::date, true}, {SortKey::displayfrom, false}}).size() != 1)
    std::abort();
  for (auto alg : {ThreadAlgorithm::references, ThreadAlgorithm::orderedsubject})
    if (format_threads(thread_messages(views, alg)) != "(1)") std::abort();
  return 0;
}
