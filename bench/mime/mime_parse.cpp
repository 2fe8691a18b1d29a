// MIME parse benchmark (prints figures, asserts nothing): MB/s and allocations per message for the shared
// corpus, a synthetic 1,000-message mailbox and one large synthetic message, whole-buffer parse() versus
// MessageParser fed 64 KB chunks. Usage: mime_parse [CORPUS_DIR] [LARGE_MB]
#include <atomic>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include "tern/mime/message_parser.hpp"

namespace {
std::atomic<std::size_t> g_allocs{0};
}

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
using tern::mime::Message;
using tern::mime::MessageParser;

std::size_t g_sink = 0;

struct Figure {
  double mb_s;
  double allocs_per_msg;
};

template <class F>
Figure run(const std::vector<std::string>& msgs, int rounds, F parse_one) {
  std::size_t bytes = 0;
  for (const auto& m : msgs) bytes += m.size();
  for (const auto& m : msgs) g_sink += parse_one(m);  // warm up
  g_allocs = 0;
  // CPU time of this thread: the figure does not depend on what else the machine runs.
  const double t0 = cpu_seconds();
  for (int r = 0; r < rounds; ++r)
    for (const auto& m : msgs) g_sink += parse_one(m);
  double s = cpu_seconds() - t0;
  return {static_cast<double>(bytes) * rounds / s / 1e6, static_cast<double>(g_allocs) / (double(msgs.size()) * rounds)};
}

std::size_t whole(const std::string& m) { return tern::mime::parse(m).parts.size(); }

std::size_t streamed(const std::string& m) {
  MessageParser p;
  for (std::size_t i = 0; i < m.size(); i += 65536) p.feed(std::string_view(m).substr(i, 65536));
  return p.finish().parts.size();
}

void report(const char* what, const std::vector<std::string>& msgs, int rounds) {
  Figure w = run(msgs, rounds, whole);
  Figure s = run(msgs, rounds, streamed);
  std::printf("%-34s whole %8.0f MB/s %7.1f allocs/msg | streamed(64K) %8.0f MB/s %7.1f allocs/msg\n", what, w.mb_s,
              w.allocs_per_msg, s.mb_s, s.allocs_per_msg);
}

std::string synthetic(std::size_t i) {
  std::string m = "Return-Path: <s" + std::to_string(i) + "@example.org>\r\nReceived: from mx.example.org by mail.example.net;\r\n"
                  " Mon, 23 Nov 2026 04:00:00 +0000\r\nFrom: \"Sender " + std::to_string(i) + "\" <s@example.org>\r\n"
                  "To: r@example.net\r\nSubject: =?utf-8?q?message_" + std::to_string(i) + "?=\r\nDate: Mon, 23 Nov 2026 04:00:00 +0000\r\n"
                  "Message-ID: <" + std::to_string(i) + "@example.org>\r\nMIME-Version: 1.0\r\n";
  const std::string line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\r\n";
  const std::string b64 = std::string(76, 'A') + "\r\n";
  switch (i % 3) {
    case 0:
      m += "Content-Type: text/plain; charset=utf-8\r\n\r\n";
      for (std::size_t k = 0; k < 20 + i % 100; ++k) m += line;
      break;
    case 1:
      m += "Content-Type: multipart/alternative; boundary=\"alt" + std::to_string(i) + "\"\r\n\r\n--alt" + std::to_string(i) +
           "\r\nContent-Type: text/plain\r\n\r\n";
      for (std::size_t k = 0; k < 30; ++k) m += line;
      m += "--alt" + std::to_string(i) + "\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
      for (std::size_t k = 0; k < 40; ++k) m += line;
      m += "--alt" + std::to_string(i) + "--\r\n";
      break;
    default:
      m += "Content-Type: multipart/mixed; boundary=mix\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\n";
      for (std::size_t k = 0; k < 10; ++k) m += line;
      m += "--mix\r\nContent-Type: application/pdf; name=\"f.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"
           "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n";
      for (std::size_t k = 0; k < 200 + (i * 37) % 2000; ++k) m += b64;
      m += "--mix--\r\n";
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : TERN_MIME_CORPUS;
  std::size_t large_mb = argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 100;
  std::vector<std::string> corpus;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".eml") continue;
    std::ifstream f(e.path(), std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  std::size_t corpus_bytes = 0;
  for (const auto& m : corpus) corpus_bytes += m.size();
  std::printf("corpus: %zu messages, %zu bytes\n", corpus.size(), corpus_bytes);
  if (!corpus.empty()) report("corpus", corpus, 500);  // ~120 MB: long enough to time steadily

  std::vector<std::string> mailbox;
  std::size_t mailbox_bytes = 0;
  for (std::size_t i = 0; i < 1000; ++i) mailbox_bytes += mailbox.emplace_back(synthetic(i)).size();
  std::printf("synthetic mailbox: 1000 messages, %zu bytes\n", mailbox_bytes);
  report("synthetic 1,000-message mailbox", mailbox, 5);

  std::string large = "From: a@example.org\r\nSubject: large\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                      "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\n";
  const std::string b64 = std::string(76, 'Q') + "\r\n";
  large.reserve(large_mb * 1024 * 1024 + 1024);
  while (large.size() < large_mb * 1024 * 1024) large += b64;
  large += "--b--\r\n";
  std::printf("large message: %zu bytes\n", large.size());
  report("large message", {large}, 3);
  std::printf("(checksum %zu)\n", g_sink);
  return 0;
}
