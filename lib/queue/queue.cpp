#include "tern/queue/queue.hpp"

#include "tern/core/durable_file.hpp"
#include "tern/core/thread_name.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <random>
#include <thread>

#include <asio/async_result.hpp>
#include <asio/associated_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "tern/core/log.hpp"
#include "tern/core/text.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern::queue {

namespace fs = std::filesystem;

struct Queue::Entry {
  MessageRecord rec;
  std::vector<char> in_flight;  // per recipient
  bool deleted = false;
  // Where the message is (fixed once admitted): <id>.qf from body_offset on, or (legacy: the two-file
  // layout of earlier versions) all of <id>.msg.
  bool legacy = false;
  std::uint64_t body_offset = 0;
  bool side_record = false;  // <id>.env may hold the current record (always for legacy); under write_mutex
  std::mutex write_mutex;  // serialises record writes of this message (taken before Queue::mutex_)
};

// Files of finished messages, kept in <spool>/free/ and rewritten for new messages and records: on ext4
// (without a journal especially) allocating an inode scans the recently freed ones, and fsync of a new
// directory entry also syncs its directory; a rewritten old file costs neither. A file comes back here only
// once its removal from the spool is durable, so a reused file can never still be some message's record
// after a crash; open() empties free/ (a crash may leave a free name linked to a live message too).
struct Queue::FreeFiles {
  static constexpr std::size_t kKeep = 1024;
  fs::path dir;
  std::mutex mutex;
  std::vector<fs::path> names;
  std::uint64_t next = 0;

  fs::path take() {
    std::lock_guard lock(mutex);
    if (names.empty()) return dir / std::to_string(next++);  // created on first use
    fs::path p = std::move(names.back());
    names.pop_back();
    return p;
  }
  // A name for a file about to be parked here (rename target).
  fs::path fresh() {
    std::lock_guard lock(mutex);
    return dir / std::to_string(next++);
  }
  void give(std::vector<fs::path>& parked) {
    std::lock_guard lock(mutex);
    for (auto& p : parked) {
      if (names.size() < kKeep) {
        names.push_back(std::move(p));
      } else {
        std::error_code ec;
        fs::remove(p, ec);
      }
    }
    parked.clear();
  }
};

// The result of one delivery, applied in memory and waiting to be made durable by settle().
struct Queue::Outcome {
  std::shared_ptr<Entry> entry;
  MessageRecord snapshot;  // the record right after this outcome (what DSNs quote)
  std::int64_t now = 0;
  std::vector<DsnRecipient> failures, delays, successes;
  std::vector<QueueEvent> events;
};

struct Queue::Job {
  std::shared_ptr<Entry> entry;
  std::string domain;
  bool local = false;
  std::vector<std::size_t> index;  // recipients of entry->rec in this delivery
  DeliveryRequest request;
};

namespace {

// The canonical domain (A-labels, lower case) to route by (lib/mime).
std::string domain_of(std::string_view address) { return mime::address_domain(address); }

// RFC 3461 4.1: no NOTIFY means FAILURE (and, at the MTA's discretion, DELAY: we warn once).
bool wants(std::string_view notify, std::string_view kind) {
  std::string n = ascii_lower(notify);
  if (n.empty()) return kind != "success";
  if (n == "never") return false;
  return n.find(kind) != std::string::npos;
}

std::string new_id() {
  static std::atomic<std::uint32_t> counter{0};
  static const std::uint32_t salt = std::random_device{}();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
  std::uint32_t c = counter.fetch_add(1);
  return fmt::format("{:013X}-{:04X}{:04X}", static_cast<unsigned long long>(us), c & 0xffff,
                     (salt ^ (c >> 16) * 2654435761u) & 0xffff);
}

// Reads `p` from its start until the end of the file or until `done(text, from)` says the text holds what
// the caller needs (`from`: where the bytes of the last read begin); `size` gets the file's size.
template <class Done>
Result<std::string> read_head(const fs::path& p, std::size_t chunk, Done&& done, std::uint64_t* size = nullptr) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + p.string());
  struct stat st {};
  if (size && ::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail_errno("stat " + p.string(), err);
  }
  if (size) *size = static_cast<std::uint64_t>(st.st_size);
  std::string out;
  std::string buf(chunk, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail_errno("read " + p.string(), err);
    }
    if (n == 0) break;
    std::size_t from = out.size();
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (done(out, from)) break;
  }
  ::close(fd);
  return out;
}

Result<std::string> read_file(const fs::path& p, std::size_t max = SIZE_MAX) {
  auto text = read_head(p, 65536, [max](const std::string& t, std::size_t) { return t.size() > max; });
  if (text && text->size() > max) return fail(ErrorCategory::limit, p.string() + " is too large");
  return text;
}

fs::path queue_file(const fs::path& dir, std::string_view id) { return dir / (std::string(id) + ".qf"); }
fs::path side_record_file(const fs::path& dir, std::string_view id) { return dir / (std::string(id) + ".env"); }
fs::path legacy_message_file(const fs::path& dir, std::string_view id) { return dir / (std::string(id) + ".msg"); }

// `size` octets of `p` from `offset` on; a shorter file is an error (the message would go out cut).
Result<std::string> read_range(const fs::path& p, std::uint64_t offset, std::uint64_t size) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + p.string());
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail_errno("read " + p.string(), err);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != out.size())
    return fail(ErrorCategory::io, fmt::format("{} is shorter than its record says ({} of {} octets)", p.string(), got, size));
  return out;
}

// The record at the head of a queue file, with where its message starts; checked against the file's size.
// Most records are a few hundred octets: one read of 16 KiB usually holds the whole head.
Result<QueueFileHead> read_queue_file_head(const fs::path& p) {
  std::uint64_t size = 0;
  auto head = read_head(p, 16384, [](const std::string& t, std::size_t from) {
    // The end line may straddle two reads.
    return t.find("\nend\n", from < 4 ? 0 : from - 4) != std::string::npos || t.size() > kMaxRecordSize;
  }, &size);
  if (!head) return fail(head.error());
  return parse_queue_file_head(*head, size);
}

// Bare LF (and bare CR) become CRLF so the spooled file can be sent as is.
std::string to_crlf(std::string_view in, bool& eightbit) {
  std::string out;
  out.reserve(in.size() + in.size() / 32 + 2);
  eightbit = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (static_cast<unsigned char>(c) >= 0x80) eightbit = true;
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

// Writes `head` then `body` (one writev) to a new or reused (free/) file and starts its writeback, without
// waiting for it: the caller fsyncs later (the committer, for several messages at once). Returns the open
// descriptor. A reused file is overwritten in place and cut only if it was longer: O_TRUNC would free its
// blocks and allocate them again for the same bytes (ext4_truncate + ext4_free_blocks were 4% of the
// daemon's CPU under load).
Result<int> write_new_file(const fs::path& p, std::string_view head, std::string_view body = {}) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("create " + p.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail_errno("stat " + p.string(), err);
  }
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(body.data()), body.size()}};
  int first = 0;
  const std::size_t total = head.size() + body.size();
  while (first < 2) {
    ssize_t n = ::writev(fd, iov + first, 2 - first);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(p.c_str());
      return fail_errno("write " + p.string(), err);
    }
    auto left = static_cast<std::size_t>(n);
    while (first < 2 && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < 2) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  if (static_cast<std::uint64_t>(st.st_size) > total && ::ftruncate(fd, static_cast<off_t>(total)) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(p.c_str());
    return fail_errno("truncate " + p.string(), err);
  }
  (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // a hint: start the I/O now
  return fd;
}

// fdatasync: the data and whatever metadata reading it back needs (size, block map) are on disk when it
// returns (POSIX, fdatasync(2)); only the timestamps may not be. A reused file rewritten with the same
// size then costs one write, not two (the inode is not rewritten for its mtime).
Status fsync_and_close(int fd, const fs::path& p) {
  int rc = ::fdatasync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return fail_errno("fsync " + p.string(), err);
  return {};
}

template <class F>
asio::awaitable<std::invoke_result_t<F&>> run_blocking(net::WorkerPool* workers, F& fn) {
  if (workers) co_return co_await workers->run(fn);
  co_return fn();
}

}  // namespace

// ---- lifecycle -------------------------------------------------------------------------------------------

Queue::Queue(QueueConfig config, fs::path spool_dir, std::string hostname, Transport& transport)
    : config_(std::move(config)),
      dir_(std::move(spool_dir)),
      hostname_(std::move(hostname)),
      transport_(transport),
      dir_sync_([this] { return fsync_directory(dir_); }),
      free_(std::make_unique<FreeFiles>()) {
  free_->dir = dir_ / "free";
  if (config_.retry_schedule.empty()) config_.retry_schedule = QueueConfig{}.retry_schedule;
  if (config_.per_destination < 1) config_.per_destination = 1;
  if (config_.max_connections < 1) config_.max_connections = 1;
  if (config_.recipients_per_delivery < 1) config_.recipients_per_delivery = 1;
}

Queue::~Queue() {
  close_committer();  // what was submitted is finished first
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Queue::set_clock(Clock clock) { clock_ = std::move(clock); }
void Queue::set_local_route(LocalRoute route) { local_ = std::move(route); }
void Queue::set_workers(net::WorkerPool* workers) { workers_ = workers; }
void Queue::set_observer(EventObserver observer) { observer_ = std::move(observer); }

std::int64_t Queue::now_unix() const {
  auto t = clock_ ? clock_() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Status Queue::open() {
  std::error_code ec;
  for (const auto& d : {dir_, dir_ / "tmp", dir_ / "ctl", dir_ / "free"}) {
    fs::create_directories(d, ec);
    if (ec) return fail(ErrorCategory::io, fmt::format("create {}: {}", d.string(), ec.message()));
  }
  fs::path lock = dir_ / "lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return fail_errno("open " + lock.string());
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    return fail(ErrorCategory::exists,
                fmt::format("the queue spool {} is in use by another process (is tern-maild running?)", dir_.string()));
  }
  // Half-written temp files: their enqueue never returned, nothing was acknowledged.
  for (const auto& f : fs::directory_iterator(dir_ / "tmp", ec)) fs::remove(f.path(), ec);
  for (const auto& f : fs::directory_iterator(dir_ / "free", ec)) fs::remove(f.path(), ec);
  std::set<std::string> queue_files, messages, records;  // <id>.qf, <id>.msg (legacy), <id>.env
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    auto name = f.path().filename().string();
    auto stem = [&](std::size_t ext) { return name.substr(0, name.size() - ext); };
    if (name.size() > 3 && name.ends_with(".qf")) queue_files.insert(stem(3));
    if (name.size() > 4 && name.ends_with(".msg")) messages.insert(stem(4));
    if (name.size() > 4 && name.ends_with(".env")) records.insert(stem(4));
  }
  if (ec) return fail(ErrorCategory::io, fmt::format("read {}: {}", dir_.string(), ec.message()));
  std::set<std::string> ids = queue_files;
  ids.insert(records.begin(), records.end());
  std::size_t loaded = 0;
  std::vector<std::pair<std::string, fs::path>> leftovers;  // finished messages whose removal a crash cut short
  for (const auto& id : ids) {
    // The side record, when there is one, is the current state (the queue file keeps the state of arrival).
    std::optional<MessageRecord> side;
    if (records.count(id)) {
      auto text = read_file(side_record_file(dir_, id), kMaxRecordSize + 1);
      if (!text) return fail(text.error());
      auto rec = parse_record(*text);
      if (!rec || rec->id != id) {
        log::error("queue.record_invalid", {{"id", id},
                                            {"file", side_record_file(dir_, id).string()},
                                            {"error", rec ? std::string("id does not match the file name") : rec.error().message}});
        continue;  // left in place for the operator; never deleted silently
      }
      side = std::move(*rec);
    }
    auto e = std::make_shared<Entry>();
    if (queue_files.count(id)) {
      auto head = read_queue_file_head(queue_file(dir_, id));
      if (head && head->rec.id != id) head = fail(ErrorCategory::invalid_argument, "id does not match the file name");
      if (head && side && side->size != head->rec.size)
        head = fail(ErrorCategory::invalid_argument, "its side record (.env) gives another message size");
      if (!head) {
        log::error("queue.file_invalid", {{"id", id}, {"file", queue_file(dir_, id).string()}, {"error", head.error().message}});
        continue;  // left in place for the operator; never deleted silently
      }
      e->body_offset = head->body_offset;
      e->side_record = side.has_value();
      e->rec = side ? std::move(*side) : std::move(head->rec);
      if (e->rec.finished()) {
        leftovers.emplace_back(id, queue_file(dir_, id));
        continue;
      }
    } else if (messages.count(id)) {
      e->legacy = e->side_record = true;  // the two-file layout of earlier versions: <id>.msg + <id>.env
      e->rec = std::move(*side);
      // That layout sent the whole file, whatever the record said: so do we.
      auto size = fs::file_size(legacy_message_file(dir_, id), ec);
      if (!ec && size != e->rec.size) {
        log::warn("queue.size_mismatch", {{"id", id}, {"record", e->rec.size}, {"file", size}});
        e->rec.size = size;
      }
      if (e->rec.finished()) {
        leftovers.emplace_back(id, legacy_message_file(dir_, id));
        continue;
      }
    } else if (side->finished()) {
      // The message file of a finished message goes before its side record, which says so first.
      leftovers.emplace_back(id, fs::path());
      continue;
    } else {
      log::error("queue.message_missing", {{"id", id}, {"file", queue_file(dir_, id).string()}});
      continue;  // the record is kept: it names the sender and recipients of a message lost on disk
    }
    e->in_flight.assign(e->rec.recipients.size(), 0);
    std::int64_t due = INT64_MAX;
    for (const auto& r : e->rec.recipients)
      if (r.state == RecipientState::pending || r.state == RecipientState::deferred) due = std::min(due, r.next_attempt);
    if (due != INT64_MAX) timers_.emplace(due, id);
    entries_[id] = std::move(e);
    ++loaded;
  }
  // A legacy message without a record: its enqueue crashed before the record was committed (never
  // acknowledged). (A queue file is its own record: it is committed once it has its name.)
  for (const auto& id : messages)
    if (!records.count(id) && !queue_files.count(id)) fs::remove(legacy_message_file(dir_, id), ec);
  // Finished messages: the message file first, durably, then the side record that says they are finished.
  if (!leftovers.empty()) {
    for (const auto& [id, file] : leftovers)
      if (!file.empty()) fs::remove(file, ec);
    if (auto st = fsync_directory(dir_); !st) return st;
    for (const auto& [id, file] : leftovers) {
      fs::remove(side_record_file(dir_, id), ec);
      log::info("queue.finished_removed", {{"id", id}});
    }
  }
  log::info("queue.opened", {{"spool", dir_.string()}, {"messages", loaded}});
  return {};
}

void Queue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake();
  close_committer();
}

void Queue::wake() {
  std::function<void()> w;
  {
    std::lock_guard lock(mutex_);
    if (waker_) w = waker_;
    else wake_pending_ = true;
  }
  if (w) w();
}

void Queue::emit(const QueueEvent& ev) {
  std::string event = "queue." + ev.kind;
  if (ev.kind == "queued") {
    log::info(event, {{"id", ev.id}, {"from", ev.recipient}, {"recipients", ev.attempt}, {"size", ev.next_attempt}});
  } else if (ev.kind == "removed") {
    log::info(event, {{"id", ev.id}, {"detail", ev.detail}});
  } else if (ev.kind == "bounced" || ev.kind == "bounce_dropped") {
    log::info(event, {{"id", ev.id}, {"to", ev.recipient}, {"dsn", ev.detail}});
  } else if (ev.kind == "deferred") {
    log::info(event, {{"id", ev.id}, {"rcpt", ev.recipient}, {"attempt", ev.attempt}, {"code", ev.status.code},
                      {"status", ev.status.enhanced}, {"reply", ev.status.text}, {"remote", ev.status.remote_mta},
                      {"next", ev.next_attempt}});
  } else {
    log::info(event, {{"id", ev.id}, {"rcpt", ev.recipient}, {"attempt", ev.attempt}, {"code", ev.status.code},
                      {"status", ev.status.enhanced}, {"reply", ev.status.text}, {"remote", ev.status.remote_mta}});
  }
  if (observer_) observer_(ev);
}

// ---- spooling --------------------------------------------------------------------------------------------

Result<std::string> Queue::enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message) {
  auto p = prepare(envelope, message);
  if (!p) return fail(p.error());
  return commit_blocking(std::move(*p));
}

Result<std::string> Queue::commit_blocking(Prepared p) {
  if (auto st = finish_files(p); !st) {
    discard(p, true);
    return fail(st.error());
  }
  if (auto st = dir_sync_.commit(); !st) {
    discard(p, true);
    return fail(st.error());
  }
  return admit(p);
}

Result<Queue::Prepared> Queue::prepare(const smtp::QueuedEnvelope& envelope, std::string_view message) {
  if (envelope.recipients.empty()) return fail(ErrorCategory::invalid_argument, "a queued message needs a recipient");
  MessageRecord rec;
  rec.arrival = now_unix();
  rec.return_path = envelope.return_path;
  rec.envid = envelope.envid;
  rec.ret = envelope.ret;
  if (rec.ret != "FULL" && rec.ret != "HDRS") rec.ret.clear();
  rec.requiretls = envelope.requiretls;
  rec.smtputf8 = envelope.smtputf8;
  for (const auto& r : envelope.recipients) {
    if (r.address.empty()) return fail(ErrorCategory::invalid_argument, "a queued recipient has no address");
    RecipientRecord p;
    p.address = r.address;
    p.notify = r.notify;
    p.orcpt = r.orcpt;
    p.next_attempt = rec.arrival;
    rec.recipients.push_back(std::move(p));
  }
  return prepare_files(rec, message);
}

// One file per message, as Postfix's queue file: the record, then the message. It is written into a file
// reused from free/ and its writeback started; finish_files() waits for it (fdatasync) and renames it to
// <id>.qf — the commit point: open() loads every queue file, and a temp file was never acknowledged. The
// directory fsync that makes the name durable is shared with every other enqueue and outcome in flight
// (GroupCommit). Only then is the message acknowledged (admit()).
Result<Queue::Prepared> Queue::prepare_files(const MessageRecord& base, std::string_view message) {
  Prepared p;
  p.rec = base;
  auto& rec = p.rec;
  if (rec.id.empty()) rec.id = new_id();
  bool eight = false;
  std::string body = to_crlf(message, eight);
  rec.eightbit = eight;
  rec.size = body.size();
  std::string head = serialize_record(rec);
  p.body_offset = head.size();
  p.tmp = free_->take();
  auto fd = write_new_file(p.tmp, head, body);
  if (!fd) {
    discard(p, false);
    return fail(fd.error());
  }
  p.fd = *fd;
  return p;
}

Status Queue::finish_files(Prepared& p) {
  auto st = fsync_and_close(p.fd, p.tmp);
  p.fd = -1;
  if (!st) return st;
  if (::rename(p.tmp.c_str(), queue_file(dir_, p.rec.id).c_str()) != 0) return fail_errno("rename " + p.tmp.string());
  return {};
}

// Not acknowledged: take it back so it is not delivered either (a crash now may leave it: harmless, the
// sender retries and at worst the message goes twice, which RFC 5321 6.1 accepts).
void Queue::discard(const Prepared& p, bool renamed) {
  if (p.fd >= 0) ::close(p.fd);
  std::error_code ec;
  if (renamed) fs::remove(queue_file(dir_, p.rec.id), ec);
  if (!p.tmp.empty()) fs::remove(p.tmp, ec);
}

std::string Queue::admit(const Prepared& p) {
  const auto& rec = p.rec;
  auto e = std::make_shared<Entry>();
  e->rec = rec;
  e->body_offset = p.body_offset;
  e->in_flight.assign(rec.recipients.size(), 0);
  {
    std::lock_guard lock(mutex_);
    entries_[rec.id] = std::move(e);
    ready_.push_back(rec.id);  // handed to the runner now, not found by a later scan
  }
  QueueEvent ev{"queued", rec.id, "<" + rec.return_path + ">", {}};
  ev.attempt = static_cast<int>(rec.recipients.size());
  ev.next_attempt = static_cast<std::int64_t>(rec.size);
  emit(ev);
  wake();
  return rec.id;
}

Result<std::string> Queue::spool(const MessageRecord& base, std::string_view message) {
  auto p = prepare_files(base, message);
  if (!p) return fail(p.error());
  return commit_blocking(std::move(*p));
}

// ---- asynchronous commit ---------------------------------------------------------------------------------

// Threads that wait for the disk on behalf of every commit(): one takes all the prepared messages that
// are waiting, syncs their files (their writeback began in prepare(), so the waits overlap), renames them,
// makes the renames durable with one directory fsync, and completes each caller. SMTP sessions waiting for
// their 250 hold no worker thread meanwhile, so the number of commits in one group is not capped by the
// worker pool (it was: 4 workers, 4 messages per directory fsync).
//
// A few such threads: each takes what is waiting when it wakes, so a group whose files are still being
// written does not hold up the messages that arrive meanwhile (one thread alone left the CPU idle: a group
// took the sum of its files' sync waits); their directory fsyncs are shared through GroupCommit. One per core
// (2 to 8): every thread woken for a small group costs context switches, and 8 on 2 cores cost ~8% more CPU
// per relayed message than 2 for the same rate (bench/smtp/relay.py).
struct Queue::Committer {
  static int threads_wanted() { return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 2u, 8u)); }
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  std::vector<std::pair<Prepared, CommitDone>> pending;
  std::vector<std::thread> threads;
};

void Queue::commit_now(Prepared& p, const CommitDone& done) { done(commit_blocking(std::move(p))); }

void Queue::submit_commit(Prepared prepared, CommitDone done) {
  {
    std::unique_lock lock(mutex_);
    if (committer_closed_) {  // stopping: no thread to hand it to
      lock.unlock();
      commit_now(prepared, done);
      return;
    }
    if (!committer_) {
      committer_ = std::make_unique<Committer>();
      for (int i = 0, n = Committer::threads_wanted(); i < n; ++i)
        committer_->threads.emplace_back([this] { commit_loop(); });
    }
  }
  {
    std::lock_guard lock(committer_->mutex);
    committer_->pending.emplace_back(std::move(prepared), std::move(done));
  }
  committer_->cv.notify_one();
}

void Queue::commit_loop() {
  set_thread_name("tern-commit");
  auto& c = *committer_;
  std::unique_lock lock(c.mutex);
  for (;;) {
    c.cv.wait(lock, [&] { return c.stop || !c.pending.empty(); });
    if (c.pending.empty()) return;  // stopping, nothing left (pending work is always finished first)
    std::vector<std::pair<Prepared, CommitDone>> batch;
    batch.swap(c.pending);
    lock.unlock();
    std::vector<Status> st(batch.size());
    bool any = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      st[i] = finish_files(batch[i].first);
      any = any || static_cast<bool>(st[i]);
    }
    Status synced = any ? dir_sync_.commit() : Status{};
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& [p, done] = batch[i];
      if (st[i] && !synced) st[i] = fail(synced.error());
      if (!st[i]) {
        discard(p, true);
        done(fail(st[i].error()));
      } else {
        done(admit(p));
      }
    }
    lock.lock();
  }
}

// Every commit handed over so far is finished (its caller resumed) when this returns.
void Queue::close_committer() {
  Committer* c = nullptr;
  {
    std::lock_guard lock(mutex_);
    committer_closed_ = true;
    c = committer_.get();
  }
  if (!c) return;
  {
    std::lock_guard lock(c->mutex);
    c->stop = true;
  }
  c->cv.notify_all();
  for (auto& t : c->threads)
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
}

asio::awaitable<Result<std::string>> Queue::commit(const Prepared& prepared) {
  // The job crosses use_awaitable's initiation as a plain pointer (GCC 12, see net/worker_pool.hpp).
  auto* job = new Prepared(prepared);
  auto initiate = [this](auto handler, Prepared* raw) {
    std::unique_ptr<Prepared> p(raw);
    using Handler = decltype(handler);
    auto home = asio::get_associated_executor(handler);
    struct Waiter {
      Handler handler;
      decltype(asio::make_work_guard(home)) guard;
    };
    auto w = std::make_shared<Waiter>(Waiter{std::move(handler), asio::make_work_guard(home)});
    submit_commit(std::move(*p), [w](Result<std::string> r) {
      auto ex = w->guard.get_executor();
      asio::post(ex, [w, r = std::move(r)]() mutable { std::move(w->handler)(std::move(r)); });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Result<std::string>)>(
      initiate, asio::use_awaitable, job);
}

// The new record is complete on disk under its final name; durable once dir_sync_ commits after it.
Status Queue::stage_record(const MessageRecord& rec) {
  const fs::path tmp = free_->take();
  auto fd = write_new_file(tmp, serialize_record(rec));
  if (!fd) return fail(fd.error());
  if (auto st = fsync_and_close(*fd, tmp); !st) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), side_record_file(dir_, rec.id).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno("rename " + tmp.string(), err);
  }
  return {};
}

Status Queue::write_record(const MessageRecord& rec) {
  if (auto st = stage_record(rec); !st) return st;
  return dir_sync_.commit();
}

// Called with e.write_mutex held. The file that makes the message deliverable goes first, durably.
void Queue::erase_files(Entry& e) {
  const std::string& id = e.rec.id;
  std::error_code ec;
  if (e.legacy) {
    fs::remove(side_record_file(dir_, id), ec);
    (void)dir_sync_.commit();  // the record is gone for good before the message goes
    fs::remove(legacy_message_file(dir_, id), ec);
    return;
  }
  fs::remove(queue_file(dir_, id), ec);
  (void)dir_sync_.commit();
  // A crash before this removal is durable leaves a side record without its message: open() reports it
  // (queue.message_missing) and leaves it for the operator.
  if (e.side_record) fs::remove(side_record_file(dir_, id), ec);
}

fs::path Queue::message_path(const Entry& e) const {
  return e.legacy ? legacy_message_file(dir_, e.rec.id) : queue_file(dir_, e.rec.id);
}

// ---- scheduling ------------------------------------------------------------------------------------------

void Queue::schedule_locked(const std::string& id, std::int64_t when) { timers_.emplace(when, id); }

std::vector<Queue::Job*> Queue::collect_due_locked(std::int64_t now) {
  // Timers that are due make their messages ready; then ready messages start while the caps allow.
  while (!timers_.empty() && timers_.begin()->first <= now) {
    ready_.push_back(std::move(timers_.begin()->second));
    timers_.erase(timers_.begin());
  }
  std::vector<Job*> jobs;
  for (;;) {
    while (!ready_.empty() && active_total_ < config_.max_connections) {
      std::string id = std::move(ready_.front());
      ready_.pop_front();
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;  // delivered, removed: a stale hand-off
      if (!start_entry_locked(it->second, now, jobs)) {
        ready_.push_front(std::move(id));  // the global cap stopped it half-way: first in line next time
        break;
      }
    }
    // Parked messages of destinations with a free slot become ready (as many as there are slots; again if
    // some of them had nothing left to send). Only destinations with parked mail are looked at.
    bool moved = false;
    for (auto it = waiting_.begin(); it != waiting_.end() && active_total_ < config_.max_connections;) {
      auto a = active_per_domain_.find(it->first);
      int active = a == active_per_domain_.end() ? 0 : a->second;
      for (; active < config_.per_destination && !it->second.empty(); ++active) {
        ready_.push_back(std::move(it->second.front()));
        it->second.pop_front();
        moved = true;
      }
      it = it->second.empty() ? waiting_.erase(it) : std::next(it);
    }
    if (!moved) return jobs;
  }
}

// Starts the due recipients of one message, grouped by destination. A destination at its cap parks the
// message in waiting_ (released when a delivery to that destination ends). Returns false when the global
// cap stopped it before every group started.
bool Queue::start_entry_locked(const std::shared_ptr<Entry>& e, std::int64_t now, std::vector<Job*>& jobs) {
  if (e->deleted || e->rec.held) return true;  // release() hands it over again
  std::map<std::string, std::vector<std::size_t>> by_domain;
  for (std::size_t i = 0; i < e->rec.recipients.size(); ++i) {
    const auto& r = e->rec.recipients[i];
    if ((r.state == RecipientState::pending || r.state == RecipientState::deferred) && !e->in_flight[i] &&
        r.next_attempt <= now)
      by_domain[domain_of(r.address)].push_back(i);
  }
  auto chunk = static_cast<std::size_t>(config_.recipients_per_delivery);
  for (auto& [domain, all] : by_domain) {
    for (std::size_t k = 0; k < all.size(); k += chunk) {
      if (active_total_ >= config_.max_connections) return false;
      int& active = active_per_domain_[domain];
      if (active >= config_.per_destination) {
        waiting_[domain].push_back(e->rec.id);
        break;
      }
      ++active;
      ++active_total_;
      auto* job = new Job;
      job->entry = e;
      job->domain = domain;
      job->index.assign(all.begin() + static_cast<std::ptrdiff_t>(k),
                        all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), k + chunk)));
      auto& q = job->request;
      q.queue_id = e->rec.id;
      q.return_path = e->rec.return_path;
      q.envid = e->rec.envid;
      q.ret = e->rec.ret;
      q.requiretls = e->rec.requiretls;
      q.smtputf8 = e->rec.smtputf8;
      q.eightbit = e->rec.eightbit;
      q.domain = domain;
      q.message_file = message_path(*e);
      q.message_offset = e->body_offset;
      q.message_size = e->rec.size;
      for (auto i : job->index) {
        const auto& r = e->rec.recipients[i];
        q.recipients.push_back({r.address, r.notify, r.orcpt});
        e->in_flight[i] = 1;
      }
      jobs.push_back(job);
    }
  }
  return true;
}

std::int64_t Queue::next_due_locked() const {
  if (!ready_.empty()) return 0;
  return timers_.empty() ? INT64_MAX : timers_.begin()->first;
}

// Nothing running, nothing waiting to be made durable.
bool Queue::idle_locked() const {
  return active_total_ == 0 && unsettled_.empty() && settling_count_ == 0 && !settler_running_;
}

asio::awaitable<void> Queue::sleep_for(std::chrono::milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex);
  timer->expires_after(d);
  {
    std::lock_guard lock(mutex_);
    if (wake_pending_ || stopped_) {
      wake_pending_ = false;
      co_return;
    }
    // The waker never owns the timer: the frame (and the timer) may be destroyed with its io_context.
    std::weak_ptr<asio::steady_timer> weak = timer;
    waker_ = [ex, weak] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
  }
  // Clears the waker however this frame ends (resumed, or destroyed by a stopping io_context).
  struct Clear {
    Queue* q;
    ~Clear() {
      std::lock_guard lock(q->mutex_);
      q->waker_ = nullptr;
      q->wake_pending_ = false;
    }
  } clear{this};
  asio::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Queue::run() {
  auto ex = co_await asio::this_coro::executor;
  auto last_ctl = std::chrono::steady_clock::now() - config_.control_poll;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) break;
    }
    if (std::chrono::steady_clock::now() - last_ctl >= config_.control_poll) {
      auto fn = [&]() -> Result<std::size_t> { return process_control_requests(); };
      (void)co_await run_blocking(workers_, fn);
      last_ctl = std::chrono::steady_clock::now();
    }
    std::vector<Job*> jobs;
    std::int64_t next = INT64_MAX, now = now_unix();
    {
      std::lock_guard lock(mutex_);
      jobs = collect_due_locked(now);
      next = next_due_locked();
    }
    for (auto* j : jobs) asio::co_spawn(ex, deliver_job(j), asio::detached);
    auto wait = config_.control_poll;
    if (next != INT64_MAX && next > now) wait = std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(next - now));
    // Ready work held back only by the caps: a finishing delivery wakes us.
    co_await sleep_for(wait);
  }
}

asio::awaitable<void> Queue::run_once() {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    std::vector<Job*> jobs;
    bool idle = false;
    {
      std::lock_guard lock(mutex_);
      jobs = collect_due_locked(now_unix());
      idle = jobs.empty() && idle_locked();
    }
    if (idle) break;
    for (auto* j : jobs) asio::co_spawn(ex, deliver_job(j), asio::detached);
    co_await sleep_for(std::chrono::seconds(1));
  }
}

asio::awaitable<void> Queue::deliver_job(Job* raw) {
  std::unique_ptr<Job> job(raw);
  std::vector<RecipientStatus> statuses;
  std::string error;
  job->local = local_.is_local && local_.deliver && local_.is_local(job->domain);  // outside the queue lock
  if (job->local) {
    auto fn = [&]() -> Result<std::vector<RecipientStatus>> {
      const auto& rq = job->request;
      auto msg = read_range(rq.message_file, rq.message_offset, rq.message_size);
      if (!msg) return fail(msg.error());
      std::string copy = "Return-Path: <" + job->request.return_path + ">\r\n" + *msg;
      std::vector<RecipientStatus> out;
      for (const auto& r : job->request.recipients) out.push_back(local_.deliver(r.address, copy));
      return out;
    };
    auto r = co_await run_blocking(workers_, fn);  // a saturated pool fails fast: all deferred below
    if (r) statuses = std::move(*r);
    else error = r.error().message;
  } else {
    try {
      statuses = co_await transport_.deliver(job->request);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (statuses.size() != job->index.size()) {
    if (error.empty()) error = "the transport returned a wrong number of statuses";
    statuses.assign(job->index.size(), RecipientStatus{RecipientOutcome::deferred, 451, "4.3.0",
                                                      "Local error in delivery: " + error, ""});
  }
  // The outcome is applied in memory at once (so nothing is sent twice and the connection slot is free for
  // the next message), and made durable by the settler together with the outcomes that finish meanwhile.
  bool lead = false;
  {
    auto outcome = apply_outcome(*job, statuses);
    std::lock_guard lock(mutex_);
    unsettled_.push_back(std::move(outcome));
    if (--active_per_domain_[job->domain] <= 0) active_per_domain_.erase(job->domain);
    --active_total_;  // a message parked for this destination may start now (collect_due_locked)
    if (!settler_running_) lead = settler_running_ = true;
  }
  wake();
  if (lead) co_await settle_outcomes();
}

// The settler: writes what finished deliveries changed, a batch at a time (one directory fsync each), and
// reports their events once durable. Runs until no outcome is left; deliver_job starts it when needed.
asio::awaitable<void> Queue::settle_outcomes() {
  for (;;) {
    std::vector<Outcome> batch;
    {
      std::lock_guard lock(mutex_);
      if (unsettled_.empty()) {
        settler_running_ = false;
        break;
      }
      batch.swap(unsettled_);
      settling_count_ = batch.size();
    }
    bool done = false;
    auto fn = [&]() -> Status {
      settle(batch);
      done = true;
      return {};
    };
    (void)co_await run_blocking(workers_, fn);
    if (!done) fn();  // the worker pool refused the job (saturated): record the outcome here, never drop it
    {
      std::lock_guard lock(mutex_);
      settling_count_ = 0;
    }
    wake();
  }
}

Queue::Outcome Queue::apply_outcome(Job& job, const std::vector<RecipientStatus>& statuses) {
  auto& e = *job.entry;
  Outcome out;
  out.entry = job.entry;
  std::int64_t now = out.now = now_unix();
  auto& failures = out.failures;
  auto& delays = out.delays;
  auto& successes = out.successes;
  auto& events = out.events;
  std::lock_guard lock(mutex_);
  auto& rec = e.rec;
  std::int64_t expiry = rec.arrival + config_.max_age.count();
  std::int64_t retry_at = INT64_MAX;
  for (std::size_t k = 0; k < job.index.size(); ++k) {
    std::size_t i = job.index[k];
    auto& r = rec.recipients[i];
    const auto& st = statuses[k];
    e.in_flight[i] = 0;
    ++r.attempts;
    r.last_code = st.code;
    r.last_enhanced = st.enhanced;
    r.last_remote_mta = st.remote_mta;
    r.last_text = st.text;
    QueueEvent ev{"", rec.id, r.address, st};
    ev.attempt = r.attempts;
    std::string said = st.enhanced.empty() ? st.text : st.enhanced + " " + st.text;
    DsnRecipient d{r.address, r.orcpt, DsnAction::failed, st.enhanced, st.remote_mta, st.code, said, now, 0};
    if (st.outcome == RecipientOutcome::delivered) {
      r.state = RecipientState::delivered;
      ev.kind = "delivered";
      d.action = job.local ? DsnAction::delivered : DsnAction::relayed;
      if (d.status.empty() || d.status[0] != '2') d.status = "2.0.0";
      if (wants(r.notify, "success")) successes.push_back(d);
    } else if (st.outcome == RecipientOutcome::failed) {
      r.state = RecipientState::failed;
      ev.kind = "failed";
      if (d.status.empty() || d.status[0] != '5') d.status = "5.0.0";
      if (wants(r.notify, "failure")) failures.push_back(d);
    } else if (now >= expiry) {
      r.state = RecipientState::failed;  // RFC 3463 4.4.7: delivery time expired
      ev.kind = "expired";
      d.status = "4.4.7";
      if (d.diagnostic.empty()) d.diagnostic = "delivery time expired";
      if (wants(r.notify, "failure")) failures.push_back(d);
    } else {
      r.state = RecipientState::deferred;
      const auto& s = config_.retry_schedule;
      auto delay = s[std::min<std::size_t>(static_cast<std::size_t>(r.attempts) - 1, s.size() - 1)].count();
      r.next_attempt = std::min(now + delay, expiry);  // one last try at the expiry time
      retry_at = std::min(retry_at, r.next_attempt);
      ev.kind = "deferred";
      ev.next_attempt = r.next_attempt;
    }
    events.push_back(std::move(ev));
  }
  if (retry_at != INT64_MAX && !e.deleted) schedule_locked(rec.id, retry_at);
  // One delay warning per message (RFC 3461 4.1 DELAY), for everyone still waiting.
  if (config_.delay_warning.count() > 0 && !rec.delay_warned && now - rec.arrival >= config_.delay_warning.count()) {
    bool any_deferred = false;
    for (const auto& r : rec.recipients) {
      if (r.state != RecipientState::deferred) continue;
      any_deferred = true;
      if (!wants(r.notify, "delay")) continue;
      delays.push_back({r.address, r.orcpt, DsnAction::delayed, r.last_enhanced.empty() ? "4.0.0" : r.last_enhanced,
                        r.last_remote_mta, r.last_code,
                        r.last_enhanced.empty() ? r.last_text : r.last_enhanced + " " + r.last_text, now, expiry});
      if (delays.back().status[0] != '4') delays.back().status = "4.0.0";
    }
    if (any_deferred) rec.delay_warned = true;
  }
  if (!failures.empty() || !delays.empty() || !successes.empty()) out.snapshot = rec;
  return out;
}

// BLOCKING. Makes a batch of outcomes durable: DSNs are spooled first (each its own commit, as any enqueue),
// then every touched record is rewritten or, once finished, removed — all renames and unlinks of the batch
// made durable by one directory fsync — and only then are the events reported. A crash before that
// repeats the attempts of the batch (RFC 5321 6.1 allows a duplicate, never a loss).
void Queue::settle(std::vector<Outcome>& batch) {
  std::vector<char> removed(batch.size(), 0);  // by the operator while in flight: no DSN, no event
  for (std::size_t k = 0; k < batch.size(); ++k) {
    auto& o = batch[k];
    {
      std::lock_guard lock(mutex_);
      removed[k] = o.entry->deleted;
    }
    if (removed[k]) continue;
    if (config_.bounces) {
      send_dsn(*o.entry, o.snapshot, o.failures, o.now);
      send_dsn(*o.entry, o.snapshot, o.delays, o.now);
      send_dsn(*o.entry, o.snapshot, o.successes, o.now);
    } else if (!o.failures.empty()) {
      log::info("queue.bounce_disabled", {{"id", o.entry->rec.id}, {"recipients", o.failures.size()}});
    }
  }
  // Each message once, in its latest state (several outcomes of one message may be in the batch).
  std::vector<std::shared_ptr<Entry>> touched;
  for (auto& o : batch)
    if (std::find(touched.begin(), touched.end(), o.entry) == touched.end()) touched.push_back(o.entry);
  std::vector<std::unique_lock<std::mutex>> held;  // write locks, kept until the batch is durable
  std::vector<std::string> finished;
  std::vector<fs::path> parked_files;  // renamed into free/: reusable once their removal is durable
  std::vector<std::string> legacy_done, side_done;
  auto park = [&](const fs::path& file) {
    fs::path parked = free_->fresh();
    if (::rename(file.c_str(), parked.c_str()) == 0) parked_files.push_back(parked);
  };
  for (auto& e : touched) {
    held.emplace_back(e->write_mutex);
    MessageRecord snapshot;
    {
      std::lock_guard lock(mutex_);
      if (e->deleted) continue;
      snapshot = e->rec;
    }
    const auto& id = snapshot.id;
    if (snapshot.finished()) {
      // Removed from the spool by a rename into free/: the file is rewritten for a later message.
      finished.push_back(id);
      if (e->legacy) {
        park(side_record_file(dir_, id));  // the record first: a .msg without it is dropped by open()
        legacy_done.push_back(id);
      } else if (!e->side_record) {
        park(queue_file(dir_, id));  // the common case: delivered at the first attempt, one rename
      } else {
        // The queue file still holds the state of arrival: it must go before its side record (alone, it
        // would be delivered again), and a side record that a crash leaves behind must say "finished", so
        // that open() tells it from a lost message. So: the final record, then (durably) the queue file.
        if (auto st = stage_record(snapshot); !st)
          log::error("queue.record_write_failed", {{"id", id}, {"error", st.error().message}});
        side_done.push_back(id);
      }
    } else {
      e->side_record = true;  // from now on <id>.env holds the current record
      if (auto st = stage_record(snapshot); !st)
        log::error("queue.record_write_failed", {{"id", id}, {"error", st.error().message}});
    }
  }
  auto synced = dir_sync_.commit();
  if (!synced) log::error("queue.record_write_failed", {{"error", synced.error().message}});
  // Their records are gone for good: a message file left by a crash now is dropped by open().
  for (const auto& id : legacy_done) park(legacy_message_file(dir_, id));
  if (!side_done.empty() && synced) {
    for (const auto& id : side_done) park(queue_file(dir_, id));
    synced = dir_sync_.commit();
    if (!synced) log::error("queue.record_write_failed", {{"error", synced.error().message}});
    // Not reused: until its removal is durable this name may come back after a crash (open() removes a
    // finished side record), and it must not then hold another message's bytes.
    std::error_code ec;
    if (synced)
      for (const auto& id : side_done) fs::remove(side_record_file(dir_, id), ec);
  }
  // Reusable once their removal from the spool is durable (the .msg renames need no sync: see above).
  if (synced) free_->give(parked_files);
  for (const auto& p : parked_files) {
    std::error_code ec;
    fs::remove(p, ec);
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : finished) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      it->second->deleted = true;
      entries_.erase(it);
    }
  }
  held.clear();
  // Reported once the outcome is durable: a crash before this point may repeat the attempt (RFC 5321 6.1).
  for (std::size_t k = 0; k < batch.size(); ++k)
    if (!removed[k])
      for (const auto& ev : batch[k].events) emit(ev);
}

void Queue::send_dsn(const Entry& e, const MessageRecord& rec, const std::vector<DsnRecipient>& recipients,
                     std::int64_t now) {
  if (recipients.empty()) return;
  bool failure = recipients.front().action == DsnAction::failed;
  std::string_view kind = failure ? "failure" : recipients.front().action == DsnAction::delayed ? "delay" : "success";
  std::vector<std::string> to;
  if (rec.return_path.empty()) {
    // Never bounce a bounce (RFC 3461 6.2, RFC 5321 6.1): log, and give the postmaster a copy of failures.
    QueueEvent ev{"bounce_dropped", rec.id, "<>", {}};
    ev.detail = std::string(kind);
    emit(ev);
    if (failure && !config_.postmaster_copy.empty()) to.push_back(config_.postmaster_copy);
  } else {
    to.push_back(rec.return_path);
    if (failure && !config_.postmaster_copy.empty() && ascii_lower(config_.postmaster_copy) != ascii_lower(rec.return_path))
      to.push_back(config_.postmaster_copy);
  }
  if (to.empty()) return;
  auto original = read_range(message_path(e), e.body_offset, rec.size);
  if (!original) {
    log::error("queue.dsn_failed", {{"id", rec.id}, {"error", original.error().message}});
    return;
  }
  for (const auto& rcpt : to) {
    MessageRecord dsn;
    dsn.id = new_id();
    dsn.arrival = now;
    dsn.smtputf8 = rec.smtputf8;
    RecipientRecord p;
    p.address = rcpt;
    p.next_attempt = now;
    dsn.recipients.push_back(p);
    DsnInput in;
    in.reporting_mta = hostname_;
    in.recipient = rcpt;
    in.queue_id = rec.id;
    in.envid = rec.envid;
    in.ret = rec.ret;
    in.smtputf8 = rec.smtputf8;
    in.arrival = rec.arrival;
    in.now = now;
    in.message_id = dsn.id + "@" + hostname_;
    in.recipients = recipients;
    in.original = *original;
    auto id = spool(dsn, compose_dsn(in));
    if (!id) {
      log::error("queue.dsn_failed", {{"id", rec.id}, {"to", rcpt}, {"error", id.error().message}});
      continue;
    }
    QueueEvent ev{"bounced", rec.id, rcpt, {}};
    ev.detail = fmt::format("{} {}", *id, kind);
    emit(ev);
  }
}

// ---- administration --------------------------------------------------------------------------------------

Status Queue::change(std::string_view id, const std::function<Status(MessageRecord&)>& edit) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(std::string(id));
    if (it == entries_.end()) return fail(ErrorCategory::not_found, fmt::format("no queued message {}", id));
    e = it->second;
  }
  std::lock_guard write_lock(e->write_mutex);
  MessageRecord snapshot;
  {
    std::lock_guard lock(mutex_);
    if (e->deleted) return fail(ErrorCategory::not_found, fmt::format("no queued message {}", id));
    if (auto st = edit(e->rec); !st) return st;
    snapshot = e->rec;
  }
  e->side_record = true;  // from now on <id>.env holds the current record
  auto st = write_record(snapshot);
  wake();
  return st;
}

Status Queue::hold(std::string_view id) {
  auto st = change(id, [](MessageRecord& r) -> Status {
    r.held = true;
    return {};
  });
  if (st) log::info("queue.held", {{"id", id}});
  return st;
}

Status Queue::release(std::string_view id) {
  std::int64_t now = now_unix();
  auto st = change(id, [now](MessageRecord& r) -> Status {
    r.held = false;
    for (auto& p : r.recipients)
      if (p.state == RecipientState::pending || p.state == RecipientState::deferred) p.next_attempt = std::min(p.next_attempt, now);
    return {};
  });
  if (st) {
    {
      std::lock_guard lock(mutex_);
      ready_.emplace_back(id);
    }
    wake();
    log::info("queue.released", {{"id", id}});
  }
  return st;
}

Status Queue::remove(std::string_view id) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(std::string(id));
    if (it == entries_.end()) return fail(ErrorCategory::not_found, fmt::format("no queued message {}", id));
    e = it->second;
    e->deleted = true;
    entries_.erase(it);
  }
  std::lock_guard write_lock(e->write_mutex);
  erase_files(*e);
  QueueEvent ev{"removed", std::string(id), "", {}};
  ev.detail = "deleted by the operator";
  emit(ev);
  return {};
}

void Queue::flush() {
  std::int64_t now = now_unix();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, e] : entries_) {
      if (e->rec.held) continue;
      for (auto& p : e->rec.recipients)
        if ((p.state == RecipientState::pending || p.state == RecipientState::deferred) && p.next_attempt > now) {
          ids.push_back(id);
          break;
        }
    }
  }
  // Written through, so a flush of a stopped queue takes effect when it starts.
  for (const auto& id : ids)
    (void)change(id, [now](MessageRecord& r) -> Status {
      for (auto& p : r.recipients)
        if ((p.state == RecipientState::pending || p.state == RecipientState::deferred) && p.next_attempt > now)
          p.next_attempt = now;
      return {};
    });
  {
    std::lock_guard lock(mutex_);
    ready_.insert(ready_.end(), ids.begin(), ids.end());
  }
  log::info("queue.flush", {{"messages", ids.size()}});
  wake();
}

std::vector<MessageRecord> Queue::list() const {
  std::lock_guard lock(mutex_);
  std::vector<MessageRecord> out;
  for (const auto& [id, e] : entries_) out.push_back(e->rec);
  return out;
}

Result<MessageRecord> Queue::show(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::string(id));
  if (it == entries_.end()) return fail(ErrorCategory::not_found, fmt::format("no queued message {}", id));
  return it->second->rec;
}

Result<std::vector<MessageRecord>> Queue::read_spool(const fs::path& spool_dir) {
  std::error_code ec;
  std::vector<MessageRecord> out;
  if (!fs::exists(spool_dir, ec)) return out;
  std::set<std::string> queue_files, messages, records;
  for (const auto& f : fs::directory_iterator(spool_dir, ec)) {
    auto name = f.path().filename().string();
    if (name.size() > 3 && name.ends_with(".qf")) queue_files.insert(name.substr(0, name.size() - 3));
    if (name.size() > 4 && name.ends_with(".msg")) messages.insert(name.substr(0, name.size() - 4));
    if (name.size() > 4 && name.ends_with(".env")) records.insert(name.substr(0, name.size() - 4));
  }
  if (ec) return fail(ErrorCategory::io, fmt::format("read {}: {}", spool_dir.string(), ec.message()));
  // Queued: every queue file, and every legacy message with its record. The side record, when there is
  // one, is the current state; files may go away meanwhile (the owner is running): those are skipped.
  std::set<std::string> ids = queue_files;
  for (const auto& id : messages)
    if (records.count(id)) ids.insert(id);
  for (const auto& id : ids) {
    if (records.count(id)) {
      auto text = read_file(side_record_file(spool_dir, id), kMaxRecordSize + 1);
      if (text) {
        auto rec = parse_record(*text);
        if (rec && rec->id == id && !rec->finished()) out.push_back(std::move(*rec));
        continue;
      }
    }
    if (!queue_files.count(id)) continue;
    auto head = read_queue_file_head(queue_file(spool_dir, id));
    if (head && head->rec.id == id) out.push_back(std::move(head->rec));
  }
  return out;
}

Result<std::string> Queue::read_message(const fs::path& spool_dir, std::string_view id) {
  if (!valid_queue_id(id)) return fail(ErrorCategory::invalid_argument, "invalid queue id");
  auto head = read_queue_file_head(queue_file(spool_dir, id));
  if (head) return read_range(queue_file(spool_dir, id), head->body_offset, head->rec.size);
  std::error_code ec;
  if (fs::exists(queue_file(spool_dir, id), ec)) return fail(head.error());
  if (fs::exists(side_record_file(spool_dir, id), ec)) return read_file(legacy_message_file(spool_dir, id));
  return fail(ErrorCategory::not_found, fmt::format("no queued message {}", id));
}

std::size_t Queue::process_control_requests() {
  std::error_code ec;
  std::vector<fs::path> requests;
  for (const auto& f : fs::directory_iterator(dir_ / "ctl", ec))
    if (f.path().extension() == ".req") requests.push_back(f.path());
  std::sort(requests.begin(), requests.end());
  for (const auto& p : requests) {
    auto text = read_file(p, 4096);
    std::string answer = "ok\n";
    if (!text) {
      answer = "error: " + text.error().message + "\n";
    } else {
      std::string line = *text;
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      auto sp = line.find(' ');
      std::string op = line.substr(0, sp), id = sp == std::string::npos ? "" : line.substr(sp + 1);
      Status st;
      if (op == "flush" && id.empty()) flush();
      else if (!valid_queue_id(id)) st = fail(ErrorCategory::invalid_argument, "invalid queue id");
      else if (op == "hold") st = hold(id);
      else if (op == "release") st = release(id);
      else if (op == "delete") st = remove(id);
      else st = fail(ErrorCategory::invalid_argument, "unknown request '" + op + "'");
      if (!st) answer = "error: " + st.error().message + "\n";
    }
    fs::path res = p;
    res.replace_extension(".res");
    (void)write_file_durably(res, answer, 0600, dir_ / "tmp" / res.filename());
    fs::remove(p, ec);
  }
  return requests.size();
}

}  // namespace tern::queue
