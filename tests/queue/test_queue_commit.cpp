// Group commit of spool writes, the in-memory hand-off of new and parked messages to the runner, and
// outcomes reported only once they are on disk.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "tern/queue/group_commit.hpp"
#include "tern/queue/queue.hpp"

using namespace tern;
using namespace tern::queue;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct CommitDir {
  fs::path path;
  CommitDir() {
    char tmpl[] = "/tmp/tern-queue-commit-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~CommitDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Every delivery takes `delay`; records how many run at once and in which order ids arrive.
struct SlowTransport : Transport {
  std::chrono::milliseconds delay{5};
  std::mutex m;
  int active = 0, max_active = 0;
  std::vector<std::string> ids;
  asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest& r) override {
    {
      std::lock_guard lock(m);
      ids.push_back(r.queue_id);
      max_active = std::max(max_active, ++active);
    }
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(delay);
    co_await t.async_wait(asio::use_awaitable);
    {
      std::lock_guard lock(m);
      --active;
    }
    co_return std::vector<RecipientStatus>(
        r.recipients.size(), RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx.remote.test"});
  }
};

const std::string kBody = "From: a@local.test\r\nTo: b@remote.test\r\nSubject: s\r\n\r\nbody\r\n";

smtp::QueuedEnvelope to(const std::string& rcpt) { return {"a@local.test", "", "", false, false, {{rcpt, "", ""}}}; }

}  // namespace

BOOST_AUTO_TEST_CASE(group_commit_shares_one_sync_among_concurrent_callers) {
  // The sync is slow (like an fsync) and records, for every caller, whether a sync began after its call.
  std::atomic<int> running{0};
  std::mutex m;
  std::uint64_t started = 0;
  GroupCommit gc([&]() -> Status {
    {
      std::lock_guard lock(m);
      ++started;
    }
    BOOST_TEST(running.fetch_add(1) == 0);  // never two syncs at once
    std::this_thread::sleep_for(5ms);
    running.fetch_sub(1);
    return {};
  });
  constexpr int kThreads = 16, kEach = 10;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        std::uint64_t before;
        {
          std::lock_guard lock(m);
          before = started;
        }
        if (!gc.commit()) ++bad;
        std::lock_guard lock(m);
        if (started <= before) ++bad;  // returned without a sync that started after the call
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(bad.load() == 0);
  // 160 commits, far fewer syncs: callers arriving during a sync share the next one.
  BOOST_TEST(gc.syncs() < static_cast<std::uint64_t>(kThreads * kEach / 2));
  BOOST_TEST(gc.syncs() >= static_cast<std::uint64_t>(kEach));
}

BOOST_AUTO_TEST_CASE(group_commit_failure_reaches_every_caller_it_covered_and_stays) {
  bool fail_next = true;
  GroupCommit gc([&]() -> Status {
    if (fail_next) {
      fail_next = false;
      errno = EIO;
      return fail_errno("fsync spool");
    }
    return {};
  });
  auto first = gc.commit();
  BOOST_TEST(!first);
  BOOST_TEST(first.error().message.find("fsync spool") != std::string::npos);
  BOOST_TEST(static_cast<bool>(gc.commit()));  // a later commit (later writes) can succeed
  BOOST_TEST(gc.syncs() == 2u);
}

BOOST_AUTO_TEST_CASE(parked_messages_start_as_deliveries_end_without_polling) {
  CommitDir dir;
  SlowTransport transport;
  QueueConfig config;
  config.per_destination = 2;
  config.control_poll = 30s;  // a poll would be far too late: only hand-offs can make this quick
  Queue q(config, dir.path / "queue", "mx.local.test", transport);
  BOOST_REQUIRE(static_cast<bool>(q.open()));
  std::mutex m;
  std::condition_variable cv;
  std::set<std::string> delivered;
  q.set_observer([&](const QueueEvent& e) {
    if (e.kind != "delivered") return;
    // Reported only once durable: a finished message's queue file is already gone from the spool.
    BOOST_TEST(!fs::exists(dir.path / "queue" / (e.id + ".qf")));
    std::lock_guard lock(m);
    delivered.insert(e.id);
    cv.notify_all();
  });
  transport.delay = 20ms;
  // Queued before the runner starts: handed over in memory, two start, the rest park behind the cap.
  // One more message to another domain shows the cap of remote.test does not hold it back.
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(*q.enqueue(to("u" + std::to_string(i) + "@remote.test"), kBody));
  auto other = q.enqueue(to("x@other.test"), kBody);
  BOOST_REQUIRE(static_cast<bool>(other));
  asio::io_context io;
  asio::co_spawn(io, q.run(), asio::detached);
  std::thread runner([&] { io.run(); });
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(transport.m);
      if (!transport.ids.empty()) break;
    }
    std::this_thread::sleep_for(1ms);
  }
  // Removed while parked: its stale hand-off must not stall the rest.
  BOOST_TEST(static_cast<bool>(q.remove(ids[30])));
  auto t0 = std::chrono::steady_clock::now();
  {
    std::unique_lock lock(m);
    cv.wait_for(lock, 10s, [&] { return delivered.size() >= 40; });
  }
  auto took = std::chrono::steady_clock::now() - t0;
  q.stop();
  runner.join();
  BOOST_TEST(delivered.size() == 40u);  // 39 of remote.test + other.test
  BOOST_TEST(delivered.count(*other) == 1u);
  BOOST_TEST(delivered.count(ids[30]) == 0u);
  BOOST_TEST(transport.max_active <= 3);  // 2 for remote.test + 1 for other.test
  BOOST_TEST(static_cast<bool>(took < 5s));
  BOOST_TEST(q.list().empty());
  // Nothing left behind in the spool but its directories and lock.
  for (const auto& f : fs::directory_iterator(dir.path / "queue"))
    BOOST_TEST((f.is_directory() || f.path().filename() == "lock"), f.path().string());
}

BOOST_AUTO_TEST_CASE(concurrent_enqueues_share_directory_syncs_and_all_survive_reopen) {
  CommitDir dir;
  SlowTransport transport;
  QueueConfig config;
  std::vector<std::string> ids;
  {
    Queue q(config, dir.path / "queue", "mx.local.test", transport);
    BOOST_REQUIRE(static_cast<bool>(q.open()));
    std::mutex m;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          auto id = q.enqueue(to("u" + std::to_string(t * 100 + i) + "@remote.test"), kBody);
          BOOST_REQUIRE(static_cast<bool>(id));
          std::lock_guard lock(m);
          ids.push_back(*id);
        }
      });
    for (auto& t : threads) t.join();
  }
  // Every acknowledged message is back after a reopen, with its body.
  Queue again(config, dir.path / "queue", "mx.local.test", transport);
  BOOST_REQUIRE(static_cast<bool>(again.open()));
  auto list = again.list();
  BOOST_TEST(list.size() == ids.size());
  for (const auto& id : ids) BOOST_TEST(Queue::read_message(dir.path / "queue", id).value_or("") == kBody);
  asio::io_context io;
  asio::co_spawn(io, again.run_once(), asio::detached);
  io.run();
  BOOST_TEST(transport.ids.size() == ids.size());
  BOOST_TEST(again.list().empty());
}

BOOST_AUTO_TEST_CASE(awaited_commits_are_durable_and_resume_their_callers_on_their_executor) {
  CommitDir dir;
  SlowTransport transport;
  QueueConfig config;
  const auto spool = dir.path / "queue";
  std::vector<std::string> ids;
  {
    Queue q(config, spool, "mx.local.test", transport);
    BOOST_REQUIRE(static_cast<bool>(q.open()));
    std::vector<std::string> events;
    std::mutex events_mutex;  // the committer threads report concurrently
    q.set_observer([&](const QueueEvent& e) {
      std::lock_guard lock(events_mutex);
      if (e.kind == "queued") events.push_back(e.id);
    });
    asio::io_context io;
    const auto io_thread = std::this_thread::get_id();
    int wrong_thread = 0, failed = 0, not_on_disk = 0;
    constexpr int kSessions = 30;
    // Many sessions at once, as SMTP sessions awaiting their 250: none blocks the io_context meanwhile.
    for (int i = 0; i < kSessions; ++i)
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        auto envelope = to("u" + std::to_string(i) + "@remote.test");
        auto prepared = q.prepare(envelope, kBody);
        if (!prepared) {
          ++failed;
          co_return;
        }
        // Not acknowledged yet: nothing under a spool name.
        if (fs::exists(spool / (prepared->rec.id + ".qf"))) ++not_on_disk;
        auto id = co_await q.commit(*prepared);
        if (std::this_thread::get_id() != io_thread) ++wrong_thread;
        if (!id) {
          ++failed;
          co_return;
        }
        // Acknowledged: its queue file under its name (the commit point), with the whole message.
        if (Queue::read_message(spool, *id).value_or("") != kBody) ++not_on_disk;
        ids.push_back(*id);
      }, asio::detached);
    io.run();
    BOOST_TEST(failed == 0);
    BOOST_TEST(wrong_thread == 0);
    BOOST_TEST(not_on_disk == 0);
    BOOST_TEST(ids.size() == static_cast<std::size_t>(kSessions));
    BOOST_TEST(events.size() == ids.size());  // "queued" reported for each, once durable
    BOOST_TEST(q.list().size() == ids.size());
    // Prepared but never committed (the session died before its 250): never acknowledged, never sent.
    auto orphan = q.prepare(to("lost@remote.test"), kBody);
    BOOST_REQUIRE(static_cast<bool>(orphan));
    ::close(orphan->fd);
    q.stop();
    // After stop() a commit still completes (on the caller's thread).
    asio::io_context late;
    Result<std::string> last = fail(ErrorCategory::internal, "not run");
    asio::co_spawn(late, [&]() -> asio::awaitable<void> {
      auto p = q.prepare(to("late@remote.test"), kBody);
      if (p) last = co_await q.commit(*p);
    }, asio::detached);
    late.run();
    BOOST_REQUIRE(static_cast<bool>(last));
    ids.push_back(*last);
  }
  Queue again(config, spool, "mx.local.test", transport);
  BOOST_REQUIRE(static_cast<bool>(again.open()));
  BOOST_TEST(again.list().size() == ids.size());
  for (const auto& r : again.list()) BOOST_TEST(r.recipients.front().address != "lost@remote.test");
  BOOST_TEST(fs::is_empty(spool / "free"));
}
