// tern::queue::Queue — the durable outbound queue over a spool directory.
//
//   queue::Queue q(config, spool_dir, hostname, transport);
//   q.open();                                  // loads the spool (drops half-written temp files)
//   auto id = q.enqueue(envelope, message);    // BLOCKING: durable (fsync'd) before it returns
//   asio::co_spawn(io, q.run(), asio::detached);  // the runner: delivers due messages, retries, bounces
//
// Spool layout (docs/queue.md): <spool>/<id>.qf (the queue file: the envelope and per-recipient state as
// at arrival (spool_record.hpp), then the message, CRLF), <spool>/<id>.env (the side record: the current
// state once it differs from the queue file's, e.g. after a deferral), <spool>/tmp/ (temp files),
// <spool>/free/ (files of finished messages, rewritten for new ones: creating and deleting inodes costs more
// than the write; emptied by open()), <spool>/ctl/ (requests from ternctl while the owner runs),
// <spool>/lock (held with flock by the process that owns the spool). open() and read_spool() also read the
// earlier layout (<id>.msg, the message alone, with its record in <id>.env).
//
// Threads: enqueue, flush, hold, release, remove, list and show may be called from any thread; run() and
// run_once() run on one executor.
//
// Throughput (docs/queue.md): concurrent enqueues share one directory fsync (GroupCommit), and commit() waits
// for the disk on the queue's committer thread instead of a worker of the caller; a new message is
// handed to the runner in memory (ready queue), never found by scanning; deferred messages wait in a timer
// list ordered by due time; outcomes of finished deliveries are written to the spool in batches, each batch
// with one directory fsync, and reported (events) only once durable.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "tern/core/result.hpp"
#include "tern/net/worker_pool.hpp"
#include "tern/queue/dsn.hpp"
#include "tern/queue/group_commit.hpp"
#include "tern/queue/queue_config.hpp"
#include "tern/queue/spool_record.hpp"
#include "tern/queue/transport.hpp"
#include "tern/smtp/message_sink.hpp"

namespace tern::queue {

using Clock = std::function<std::chrono::system_clock::time_point()>;

// Mail for domains served here (bounces to local senders) bypasses the Transport.
struct LocalRoute {
  std::function<bool(std::string_view domain)> is_local;
  // BLOCKING: stores `message` (which already starts with Return-Path) for `address`.
  std::function<RecipientStatus(const std::string& address, std::string_view message)> deliver;
};

// What happened, reported after it is durable (for hooks and tests). kind: "queued", "delivered",
// "deferred", "failed", "expired", "bounced" (a DSN was queued for the message), "removed".
struct QueueEvent {
  std::string kind;
  std::string id;
  std::string recipient;  // "" for message-level events; queued: the return path "<...>"
  RecipientStatus status;
  int attempt = 0;                // queued: the number of recipients
  std::int64_t next_attempt = 0;  // deferred: unix seconds of the next try; queued: the size
  std::string detail;             // bounced: the DSN's queue id and kind ("failure", "delay", "success")
};
using EventObserver = std::function<void(const QueueEvent&)>;

class Queue {
 public:
  Queue(QueueConfig config, std::filesystem::path spool_dir, std::string hostname, Transport& transport);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  void set_clock(Clock clock);                 // default: system_clock::now
  void set_local_route(LocalRoute route);      // default: none (everything goes to the Transport)
  void set_workers(net::WorkerPool* workers);  // blocking file work of run() goes there; default: inline
  void set_observer(EventObserver observer);

  // Creates the spool if needed, takes its lock (ErrorCategory::exists if another process holds it)
  // and loads every record. Must be called once before anything else.
  Status open();

  // BLOCKING. Spools the message (bare LF becomes CRLF) with every recipient pending; returns its id once
  // its queue file (record and message) is fsync'd and renamed into place and the rename is durable.
  Result<std::string> enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message);

  // The same in two steps, so that no thread is held while the disk works (the SMTP session's path):
  //   auto p = co_await workers.run([&] { return q.prepare(envelope, message); });  // CPU + writes
  //   auto id = co_await q.commit(*p);  // durable: files and directory synced, like enqueue()
  // prepare() writes the record and the message into one spool file and starts its writeback without
  // waiting for it. commit() hands it to the queue's committer threads, which sync every message waiting
  // at that moment together (their files, their renames, one directory fsync) and resume each caller on
  // its own executor. A Prepared that is never committed is never acknowledged: its file is temporary
  // (free/) and dropped at the next open().
  struct Prepared {
    MessageRecord rec;
    int fd = -1;                      // the queue file, written, not yet synced
    std::filesystem::path tmp;        // its name until the commit renames it to <spool>/<id>.qf
    std::uint64_t body_offset = 0;    // where the message starts in it (after the record)
  };
  Result<Prepared> prepare(const smtp::QueuedEnvelope& envelope, std::string_view message);
  asio::awaitable<Result<std::string>> commit(const Prepared& prepared);
  // BLOCKING: the same commit, waited for on the calling thread (enqueue() is prepare + commit_blocking).
  Result<std::string> commit_blocking(Prepared prepared);

  // The runner: until stop(), starts deliveries that are due (respecting the caps), watches ctl/ requests,
  // sleeps until the next due time or a wake-up.
  asio::awaitable<void> run();
  // One pass for tests and tools: starts every due delivery, waits for all of them (and for deliveries
  // that became startable as others finished) and returns.
  asio::awaitable<void> run_once();
  // Ends run() and finishes the commits in flight (their callers are resumed before it returns).
  void stop();

  // BLOCKING (record rewrites). Every non-held, unfinished recipient becomes due now.
  void flush();
  Status hold(std::string_view id);
  Status release(std::string_view id);  // un-hold and make due now
  Status remove(std::string_view id);   // delete without DSN
  std::vector<MessageRecord> list() const;
  Result<MessageRecord> show(std::string_view id) const;
  const std::filesystem::path& spool_dir() const noexcept { return dir_; }

  // Reads the spool without taking its lock (ternctl list/show while the daemon runs).
  static Result<std::vector<MessageRecord>> read_spool(const std::filesystem::path& spool_dir);
  // The queued message `id` as it is sent (CRLF), from either spool layout, without taking the lock.
  static Result<std::string> read_message(const std::filesystem::path& spool_dir, std::string_view id);
  // Applies the requests in ctl/ (what run() does every control_poll); returns how many it handled.
  std::size_t process_control_requests();

  struct Entry;

 private:
  struct Job;
  struct Outcome;
  struct FreeFiles;
  struct Committer;
  using CommitDone = std::function<void(Result<std::string>)>;
  void submit_commit(Prepared prepared, CommitDone done);
  void commit_loop();
  void close_committer();
  void commit_now(Prepared& p, const CommitDone& done);
  Result<Prepared> prepare_files(const MessageRecord& base, std::string_view message);
  Status finish_files(Prepared& p);  // fdatasync, close, rename into place (not yet durable: dir_sync_)
  void discard(const Prepared& p, bool renamed);
  std::string admit(const Prepared& p);  // hands a durable message to the runner
  std::int64_t now_unix() const;
  std::vector<Job*> collect_due_locked(std::int64_t now);
  bool start_entry_locked(const std::shared_ptr<Entry>& e, std::int64_t now, std::vector<Job*>& jobs);
  void schedule_locked(const std::string& id, std::int64_t when);
  std::int64_t next_due_locked() const;
  bool idle_locked() const;
  asio::awaitable<void> deliver_job(Job* job);
  asio::awaitable<void> settle_outcomes();
  asio::awaitable<void> sleep_for(std::chrono::milliseconds d);
  Outcome apply_outcome(Job& job, const std::vector<RecipientStatus>& statuses);
  void settle(std::vector<Outcome>& batch);
  Result<std::string> spool(const MessageRecord& base, std::string_view message);
  void send_dsn(const Entry& e, const MessageRecord& rec, const std::vector<DsnRecipient>& recipients, std::int64_t now);
  std::filesystem::path message_path(const Entry& e) const;
  Status stage_record(const MessageRecord& rec);
  Status write_record(const MessageRecord& rec);
  void erase_files(Entry& e);
  Status change(std::string_view id, const std::function<Status(MessageRecord&)>& edit);
  void emit(const QueueEvent& ev);
  void wake();

  QueueConfig config_;
  std::filesystem::path dir_;
  std::string hostname_;
  Transport& transport_;
  Clock clock_;
  LocalRoute local_;
  net::WorkerPool* workers_ = nullptr;
  EventObserver observer_;
  int lock_fd_ = -1;

  // One directory fsync for every rename/unlink in the spool made before it started.
  GroupCommit dir_sync_;
  std::unique_ptr<FreeFiles> free_;
  std::unique_ptr<Committer> committer_;  // started by the first commit(); drained by stop()
  bool committer_closed_ = false;         // after stop(): commit() syncs on the caller's thread

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::map<std::string, int> active_per_domain_;
  int active_total_ = 0;
  // Scheduling without scans: ids that may have due recipients now (new, released, flushed, timer fired);
  // deferred ids by due time (stale entries are harmless: a message with nothing due is skipped);
  // ids that found their destination at its cap, released one per finished delivery to that destination.
  std::deque<std::string> ready_;
  std::multimap<std::int64_t, std::string> timers_;
  std::map<std::string, std::deque<std::string>> waiting_;
  // Outcomes known in memory but not yet durable: written (and their events emitted) by one settler.
  std::vector<Outcome> unsettled_;
  std::size_t settling_count_ = 0;  // outcomes taken by the settler, not yet durable
  bool settler_running_ = false;
  bool stopped_ = false;
  bool wake_pending_ = false;
  std::function<void()> waker_;  // set while run()/run_once() sleep
};

}  // namespace tern::queue
