// Store benchmark (prints figures, asserts nothing): durable deliveries/s with 1, 10, 50 writers (2 KB, 100 KB),
// open of a 100,000-message mailbox, FETCH of 10,000 cached envelopes, memory used.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tern/store/maildir_store.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  fs::path base = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "tern-store-bench";
  int open_count = argc > 2 ? std::atoi(argv[2]) : 100000;
  std::string only = argc > 3 ? argv[3] : "";  // "deliver", "open" or "open-keep": one part only
  if (only != "open-keep") fs::remove_all(base);
  if (only.rfind("open", 0) != 0)
  for (std::size_t size : {std::size_t{2048}, std::size_t{100 * 1024}}) {
    for (int writers : {1, 10, 50}) {
      fs::remove_all(base);
      tern::store::MaildirStore store(base);
      auto u = *store.open_user("bench@example.org");
      std::string msg = "Subject: bench\r\n\r\n" + std::string(size, 'x');
      int per = std::max(1, 400 / writers);
      auto t0 = Clock::now();
      std::vector<std::thread> ts;
      for (int w = 0; w < writers; ++w)
        ts.emplace_back([&] {
          for (int i = 0; i < per; ++i)
            if (!u->append_message("INBOX", msg)) std::fprintf(stderr, "append failed\n");
        });
      for (auto& t : ts) t.join();
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("durable delivery %3zu KB, %2d writers: %8.0f msg/s (%d messages)\n", size / 1024, writers, writers * per / s, writers * per);
    }
  }
  if (only == "deliver") return 0;
  // Open a big mailbox: files and uidlist written directly, then the store opens it. `open-keep` reuses (and
  // keeps) a mailbox built by an earlier run in DIR.
  fs::path root = base / "mail/example.org/big";
  bool keep = only == "open-keep";
  if (!keep || !fs::exists(root / "dovecot-uidlist")) {
  fs::remove_all(base);
  {
    tern::store::MaildirStore store(base);
    (void)store.open_user("big@example.org");
  }
  std::string uidlist = "3 V1700000000 N" + std::to_string(open_count + 1) + " G0123456789abcdef0123456789abcdef\n";
  for (int i = 1; i <= open_count; ++i) {
    std::string b = "1700000000.M" + std::to_string(i) + "P1.bench,S=100";
    FILE* f = std::fopen((root / "cur" / (b + ":2,S")).c_str(), "w");
    std::fputs(std::string(100, 'x').c_str(), f);
    std::fclose(f);
    uidlist += std::to_string(i) + " :" + b + "\n";
  }
  FILE* f = std::fopen((root / "dovecot-uidlist").c_str(), "w");
  std::fputs(uidlist.c_str(), f);
  std::fclose(f);
  }
  // Round 0 builds the index (or reuses it), round 1 reads the rows and packs the snapshot, round 2 reads it.
  // Opens the big mailbox with a new store object (what a new IMAP login does) and prints the time it took.
  // CPU time too: on a shared machine the wall clock includes waiting for a core.
  auto timed_open = [&](tern::store::MaildirStore& store, const std::string& what) {
    auto t0 = Clock::now();
    double c0 = cpu_ms();
    auto u = *store.open_user("big@example.org");
    auto st = u->status("INBOX");
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::printf("open %d-message mailbox %s: %.1f ms wall, %.1f ms CPU, %u messages\n", open_count, what.c_str(), ms,
                cpu_ms() - c0, st ? st->messages : 0);
    return u;
  };
  for (int round = 0; round < 3; ++round) {
    tern::store::MaildirStore store(base);
    auto u = timed_open(store, round == 2 ? "(index warm with snapshot, new store object)"
                               : round == 1 ? "(index warm, rows read and snapshot written, new store object)"
                               : keep ? "(index from an earlier run, new store object)"
                                      : "(first open: index built from the Maildir)");
    // What IMAP SELECT needs next: every UID with its flags and MODSEQ.
    auto t0 = Clock::now();
    auto all = u->messages("INBOX");
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::printf("  then list UIDs/flags/MODSEQ of all: %.1f ms, %zu messages\n", ms, all ? all->size() : std::size_t{0});
  }
  // FETCH of 10,000 cached envelopes: the header fields the IMAP header field cache keeps per message
  // ("imap.header-fields.v1": the raw lines of Date, Subject, From, To, Message-ID, ... then CRLF), filled
  // once through UserMailbox::cache, then read warm by a new store object in the IMAP reader's batches of 256
  // UIDs (lib/imap/server/header_field_cache.cpp) and in one call.
  {
    const std::string field = "imap.header-fields.v1";
    const std::uint32_t n = std::min<std::uint32_t>(10000, static_cast<std::uint32_t>(open_count));
    {
      tern::store::MaildirStore store(base);
      auto u = *store.open_user("big@example.org");
      std::vector<tern::store::UserMailbox::CacheEntry> batch;
      for (std::uint32_t uid = 1; uid <= n; ++uid) {
        std::string id = std::to_string(uid);
        batch.push_back({uid, "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nSubject: Re: the quarterly figures, message " + id +
                                  "\r\nFrom: Alice Example <alice@example.org>\r\nTo: Bob Example <bob@example.net>, "
                                  "carol@example.com\r\nCc: list@lists.example.org\r\nMessage-ID: <" + id +
                                  ".1700000000@mx.example.org>\r\nIn-Reply-To: <" + id + ".1699999999@mx.example.net>\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n\r\n"});
        if (batch.size() == 256 || uid == n) {
          u->cache("INBOX", field, batch);
          batch.clear();
        }
      }
    }
    for (int round = 0; round < 3; ++round) {
      tern::store::MaildirStore store(base);
      auto u = *store.open_user("big@example.org");
      (void)u->status("INBOX");  // the folder open is measured above
      auto t0 = Clock::now();
      double c0 = cpu_ms();
      std::size_t found = 0, bytes = 0;
      std::vector<std::uint32_t> uids;
      for (std::uint32_t uid = 1; uid <= n; ++uid) {
        uids.push_back(uid);
        if (uids.size() == 256 || uid == n) {
          for (auto& v : u->cached("INBOX", uids, field))
            if (v) ++found, bytes += v->size();
          uids.clear();
        }
      }
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      std::printf("FETCH %u cached envelopes (batches of 256, new store object): %.1f ms wall, %.1f ms CPU, %zu found, %zu KB\n", n,
                  ms, cpu_ms() - c0, found, bytes / 1024);
    }
    tern::store::MaildirStore store(base);
    auto u = *store.open_user("big@example.org");
    (void)u->status("INBOX");
    std::vector<std::uint32_t> uids;
    for (std::uint32_t uid = 1; uid <= n; ++uid) uids.push_back(uid);
    auto t0 = Clock::now();
    double c0 = cpu_ms();
    auto vs = u->cached("INBOX", uids, field);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::printf("FETCH %u cached envelopes (one call): %.1f ms wall, %.1f ms CPU, %zu found\n", n, ms, cpu_ms() - c0,
                static_cast<std::size_t>(std::count_if(vs.begin(), vs.end(), [](auto& v) { return v.has_value(); })));
  }
  // A delivery into the big folder: the first one after an open builds the base-name map (and lists the UIDs it
  // changed in the snapshot's delta, as every later one does).
  {
    tern::store::MaildirStore store(base);
    auto u = *store.open_user("big@example.org");
    (void)u->status("INBOX");
    std::string msg = "Subject: bench\r\n\r\n" + std::string(2048, 'x');
    for (int i = 0; i < 3; ++i) {
      auto t0 = Clock::now();
      double c0 = cpu_ms();
      (void)u->append_message("INBOX", msg);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      std::printf("durable delivery into the %d-message mailbox, %s: %.1f ms wall, %.1f ms CPU\n", open_count,
                  i ? "next" : "first (builds the base-name map)", ms, cpu_ms() - c0);
    }
  }
  // Opens after changes: the deliveries above, then flags set on 100 and 5,000 more messages. The snapshot
  // stays; the open merges the changed rows (its delta), up to a sixteenth of the folder.
  for (std::uint32_t flagged : {0u, 100u, 5000u}) {
    if (flagged) {
      tern::store::MaildirStore store(base);
      auto u = *store.open_user("big@example.org");
      std::vector<std::uint32_t> uids;
      for (std::uint32_t uid = 1; uid <= flagged && uid <= static_cast<std::uint32_t>(open_count); ++uid) uids.push_back(uid * 7 % open_count + 1);
      std::sort(uids.begin(), uids.end());
      uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
      (void)u->change_flags("INBOX", uids,
                            tern::store::FlagChange{tern::store::FlagChange::Mode::add, {tern::store::flag_flagged, {}}, std::nullopt});
    }
    for (int round = 0; round < 2; ++round) {
      tern::store::MaildirStore store(base);
      (void)timed_open(store, std::string("after 3 deliveries") +
                                  (flagged == 0 ? "" : flagged == 100 ? " and 100 flag changes" : " and 5,100 flag changes") +
                                  ", new store object");
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("max resident memory: %ld KB\n", ru.ru_maxrss);
  if (!keep) fs::remove_all(base);
}
