// Crash-test helper: enqueues messages in a loop while the runner delivers them to a file-backed transport.
//   queue_crash_loop SPOOL DELIVERY_LOG ROUND START_ID   enqueue START_ID, START_ID+1, ... until killed
//   queue_crash_loop SPOOL DELIVERY_LOG ROUND drain      deliver what is queued, print "drained", exit
// stdout: "acked N" once enqueue(N) returned; "done N RCPT" once a delivery of N to RCPT is recorded.
// DELIVERY_LOG gets "ROUND N RCPT" (fsync'd) for every delivery the transport makes.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "tern/core/log.hpp"
#include "tern/queue/queue.hpp"

using namespace tern::queue;

namespace {

std::mutex out_mutex;

void say(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

long number_of(const std::string& message) {
  auto p = message.find("Message-ID: <");
  return p == std::string::npos ? -1 : std::atol(message.c_str() + p + 13);
}

struct FileTransport : Transport {
  int fd;
  std::string round;
  asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest& r) override {
    // The message starts at message_offset (its queue file begins with the record).
    std::FILE* f = std::fopen(r.message_file.c_str(), "rb");
    std::string head(200, '\0');
    head.resize(f && std::fseek(f, static_cast<long>(r.message_offset), SEEK_SET) == 0
                    ? std::fread(head.data(), 1, head.size(), f) : 0);
    if (f) std::fclose(f);
    long n = number_of(head);
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(n % 4));
    co_await t.async_wait(asio::use_awaitable);
    std::vector<RecipientStatus> out;
    for (const auto& rc : r.recipients) {
      // Every 5th message is greylisted by b.test on its first attempt in each process.
      if (n % 5 == 0 && rc.address.ends_with("@b.test") && seen_.insert(n).second) {
        out.push_back({RecipientOutcome::deferred, 451, "4.7.1", "greylisted", "mx.b.test"});
        continue;
      }
      std::string line = round + " " + std::to_string(n) + " " + rc.address + "\n";
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd) != 0) std::abort();
      out.push_back({RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx"});
    }
    co_return out;
  }
  std::set<long> seen_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  tern::log::configure({tern::log::Level::error, tern::log::Format::text});
  FileTransport transport;
  transport.fd = ::open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  transport.round = argv[3];
  if (transport.fd < 0) return 1;
  QueueConfig config;
  config.retry_schedule = {std::chrono::seconds(1)};
  config.control_poll = std::chrono::milliseconds(50);
  config.bounces = false;
  Queue q(config, argv[1], "crash.test", transport);
  std::map<std::string, long> numbers;  // queue id -> message number (filled before the id is acked)
  std::mutex numbers_mutex;
  q.set_observer([&](const QueueEvent& e) {
    if (e.kind != "delivered") return;
    std::lock_guard lock(numbers_mutex);
    say("done " + std::to_string(numbers[e.id]) + " " + e.recipient);
  });
  if (auto st = q.open(); !st) {
    std::fprintf(stderr, "open: %s\n", st.error().message.c_str());
    return 1;
  }
  // Queue ids of messages left by an earlier round: read their numbers from the spool.
  for (const auto& rec : q.list()) {
    auto message = Queue::read_message(q.spool_dir(), rec.id);
    numbers[rec.id] = message ? number_of(*message) : -1;
  }
  asio::io_context io;
  asio::co_spawn(io, q.run(), asio::detached);
  std::thread runner([&] { io.run(); });
  say("open");
  if (std::string(argv[4]) == "drain") {
    for (int i = 0; i < 600 && !q.list().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    say(q.list().empty() ? "drained" : "not drained");
    q.stop();
    runner.join();
    return 0;
  }
  for (long n = std::atol(argv[4]);; ++n) {
    std::string m = "Message-ID: <" + std::to_string(n) + "@crash>\r\nSubject: crash " + std::to_string(n) +
                    "\r\n\r\n" + std::string(static_cast<std::size_t>(100 + n % 2000), 'x') + "\r\n";
    tern::smtp::QueuedEnvelope env{"sender@crash.test", "", "", false, false,
                                   {{"r" + std::to_string(n) + "@a.test", "", ""}, {"r" + std::to_string(n) + "@b.test", "", ""}}};
    std::lock_guard lock(numbers_mutex);  // the observer may fire before enqueue returns
    auto id = q.enqueue(env, m);
    if (!id) return 1;
    numbers[*id] = n;
    say("acked " + std::to_string(n));
  }
}
