// IMAP SEARCH / SORT / THREAD over 100,000 synthetic messages held in memory (the loaders copy the bytes,
// as a store read would, but no disk is involved): flags only, header SUBJECT, BODY text, and SORT
// SUBJECT / THREAD REFERENCES. Prints milliseconds; not a test.
//   ninja -C build bench/imap_search_bench && ./build/bench/imap_search_bench [N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "tern/imap/search.hpp"
#include "tern/imap/sort.hpp"
#include "tern/imap/thread.hpp"

using namespace tern::imap;

namespace {

std::string make_message(std::size_t i) {
  static const char* words[] = {"project", "meeting", "invoice", "holiday", "release", "report", "budget", "lunch"};
  std::string subject = std::string(i % 3 == 0 ? "Re: " : "") + words[i % 8] + " " + words[(i / 8) % 8] + " #" +
                        std::to_string(i / 3);
  if (i % 1000 == 7) subject += " needle";
  std::string body;
  for (int l = 0; l < 12; ++l) body += "Line " + std::to_string(l) + " of a fairly ordinary message body text.\r\n";
  if (i % 997 == 3) body += "the haystack hides a needle here\r\n";
  std::string mid = "<m" + std::to_string(i) + "@bench.test>";
  // threads of ten: each reply references the thread's first message and its predecessor
  std::string refs = i % 10 ? "References: <m" + std::to_string(i - i % 10) + "@bench.test> <m" + std::to_string(i - 1) +
                                  "@bench.test>\r\n"
                            : "";
  return "From: Sender " + std::to_string(i % 97) + " <s" + std::to_string(i % 97) + "@example.org>\r\n"
         "To: user@example.org\r\n"
         "Subject: " + subject + "\r\n"
         "Date: Mon, 1 Jan 2024 " + std::to_string(i % 24) + ":" + std::to_string(10 + i % 50) + ":00 +0000\r\n"
         "Message-ID: " + mid + "\r\n" + refs +
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n" + body;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  std::vector<std::string> raw(n);
  std::vector<tern::store::MessageInfo> info(n);
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    raw[i] = make_message(i);
    bytes += raw[i].size();
    info[i].uid = static_cast<std::uint32_t>(i + 1);
    info[i].size = raw[i].size();
    info[i].internal_date = 1704067200 + static_cast<std::int64_t>(i) * 60;
    info[i].flags.system = (i % 4 == 0 ? std::uint32_t{tern::store::flag_seen} : 0u) |
                           (i % 50 == 0 ? std::uint32_t{tern::store::flag_flagged} : 0u);
  }
  std::printf("messages: %zu (%.1f MB)\n", n, bytes / 1e6);
  SearchEnv env;
  env.message_count = static_cast<std::uint32_t>(n);
  env.largest_uid = static_cast<std::uint32_t>(n);
  std::size_t loads = 0;

  auto run = [&](const char* label, const SearchKey& key) {
    auto t0 = std::chrono::steady_clock::now();
    std::size_t hits = 0;
    loads = 0;
    for (std::size_t i = 0; i < n; ++i) {
      MessageView v(static_cast<std::uint32_t>(i + 1), info[i],
                    [&, i]() -> tern::Result<std::string> { ++loads; return raw[i]; },
                    [&, i]() -> tern::Result<std::string> {
                      ++loads;
                      return raw[i].substr(0, raw[i].find("\r\n\r\n") + 4);
                    });
      if (matches(key, v, env)) ++hits;
    }
    std::printf("SEARCH %-28s %8.1f ms  (%zu matches, %zu loads)\n", label, ms_since(t0), hits, loads);
  };
  SearchKey flags;
  flags.kind = SearchKeyKind::and_;
  flags.children.resize(2);
  flags.children[0].kind = SearchKeyKind::unseen;
  flags.children[1].kind = SearchKeyKind::flagged;
  run("UNSEEN FLAGGED", flags);
  SearchKey subject;
  subject.kind = SearchKeyKind::subject;
  subject.text = "needle";
  run("SUBJECT needle", subject);
  SearchKey body;
  body.kind = SearchKeyKind::body;
  body.text = "needle";
  run("BODY needle", body);

  std::deque<MessageView> views;
  std::vector<MessageView*> ptrs;
  for (std::size_t i = 0; i < n; ++i) {
    views.emplace_back(static_cast<std::uint32_t>(i + 1), info[i], raw[i]);
    ptrs.push_back(&views.back());
  }
  auto t0 = std::chrono::steady_clock::now();
  auto sorted = sort_messages(ptrs, {{SortKey::subject, false}});
  std::printf("SORT (SUBJECT)                      %8.1f ms  (%zu)\n", ms_since(t0), sorted.size());
  t0 = std::chrono::steady_clock::now();
  auto sorted2 = sort_messages(ptrs, {{SortKey::date, true}});
  std::printf("SORT (REVERSE DATE)                 %8.1f ms  (%zu, headers already parsed)\n", ms_since(t0),
              sorted2.size());
  t0 = std::chrono::steady_clock::now();
  auto threads = thread_messages(ptrs, ThreadAlgorithm::references);
  std::printf("THREAD REFERENCES                   %8.1f ms  (%zu threads)\n", ms_since(t0), threads.size());
  return 0;
}
