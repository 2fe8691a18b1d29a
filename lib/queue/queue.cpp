#include "tern/queue/queue.hpp"

#include "tern/core/durable_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <random>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "tern/core/log.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern::queue {

namespace fs = std::filesystem;

struct Queue::Entry {
  MessageRecord rec;
  std::vector<char> in_flight;  // per recipient
  bool deleted = false;
  std::mutex write_mutex;  // serialises record writes of this message (taken before Queue::mutex_)
};

struct Queue::Job {
  std::shared_ptr<Entry> entry;
  std::string domain;
  bool local = false;
  std::vector<std::size_t> index;  // recipients of entry->rec in this delivery
  DeliveryRequest request;
};

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The canonical domain (A-labels, lower case) to route by (lib/mime).
std::string domain_of(std::string_view address) { return mime::address_domain(address); }

// RFC 3461 4.1: no NOTIFY means FAILURE (and, at the MTA's discretion, DELAY: we warn once).
bool wants(std::string_view notify, std::string_view kind) {
  std::string n = lower(notify);
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

Result<std::string> read_file(const fs::path& p, std::size_t max = SIZE_MAX) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + p.string());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail_errno("read " + p.string(), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max) {
      ::close(fd);
      return fail(ErrorCategory::limit, p.string() + " is too large");
    }
  }
  ::close(fd);
  return out;
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

template <class F>
asio::awaitable<std::invoke_result_t<F&>> run_blocking(net::WorkerPool* workers, F& fn) {
  if (workers) co_return co_await workers->run(fn);
  co_return fn();
}

}  // namespace

// ---- lifecycle -------------------------------------------------------------------------------------------

Queue::Queue(QueueConfig config, fs::path spool_dir, std::string hostname, Transport& transport)
    : config_(std::move(config)), dir_(std::move(spool_dir)), hostname_(std::move(hostname)), transport_(transport) {
  if (config_.retry_schedule.empty()) config_.retry_schedule = QueueConfig{}.retry_schedule;
  if (config_.per_destination < 1) config_.per_destination = 1;
  if (config_.max_connections < 1) config_.max_connections = 1;
  if (config_.recipients_per_delivery < 1) config_.recipients_per_delivery = 1;
}

Queue::~Queue() {
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
  for (const auto& d : {dir_, dir_ / "tmp", dir_ / "ctl"}) {
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
  std::set<std::string> messages, records;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    auto name = f.path().filename().string();
    if (name.size() > 4 && name.ends_with(".msg")) messages.insert(name.substr(0, name.size() - 4));
    if (name.size() > 4 && name.ends_with(".env")) records.insert(name.substr(0, name.size() - 4));
  }
  if (ec) return fail(ErrorCategory::io, fmt::format("read {}: {}", dir_.string(), ec.message()));
  std::size_t loaded = 0;
  for (const auto& id : records) {
    auto text = read_file(dir_ / (id + ".env"), kMaxRecordSize + 1);
    if (!text) return fail(text.error());
    auto rec = parse_record(*text);
    if (!rec || rec->id != id) {
      log::error("queue.record_invalid",
                 {{"id", id}, {"error", rec ? std::string("id does not match the file name") : rec.error().message}});
      continue;  // left in place for the operator; never deleted silently
    }
    if (!messages.count(id)) {
      log::error("queue.message_missing", {{"id", id}, {"file", (dir_ / (id + ".msg")).string()}});
      continue;
    }
    auto e = std::make_shared<Entry>();
    e->rec = std::move(*rec);
    e->in_flight.assign(e->rec.recipients.size(), 0);
    entries_[id] = std::move(e);
    ++loaded;
  }
  // A message without a record: its enqueue crashed before the record was committed (never acknowledged).
  for (const auto& id : messages)
    if (!records.count(id)) fs::remove(dir_ / (id + ".msg"), ec);
  log::info("queue.opened", {{"spool", dir_.string()}, {"messages", loaded}});
  return {};
}

void Queue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake();
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
  return spool(rec, message);
}

Result<std::string> Queue::spool(const MessageRecord& base, std::string_view message) {
  MessageRecord rec = base;
  if (rec.id.empty()) rec.id = new_id();
  bool eight = false;
  std::string body = to_crlf(message, eight);
  rec.eightbit = eight;
  rec.size = body.size();
  // The message first, then the record: the record is the commit point (open() drops a message without one).
  if (auto st = write_file_durably(dir_ / (rec.id + ".msg"), body, 0600, dir_ / "tmp" / (rec.id + ".msg")); !st)
    return fail(st.error());
  if (auto st = write_record(rec); !st) {
    std::error_code ec;
    fs::remove(dir_ / (rec.id + ".msg"), ec);
    return fail(st.error());
  }
  auto e = std::make_shared<Entry>();
  e->rec = rec;
  e->in_flight.assign(rec.recipients.size(), 0);
  {
    std::lock_guard lock(mutex_);
    entries_[rec.id] = std::move(e);
  }
  QueueEvent ev{"queued", rec.id, "<" + rec.return_path + ">", {}};
  ev.attempt = static_cast<int>(rec.recipients.size());
  ev.next_attempt = static_cast<std::int64_t>(rec.size);
  emit(ev);
  wake();
  return rec.id;
}

Status Queue::write_record(const MessageRecord& rec) {
  return write_file_durably(dir_ / (rec.id + ".env"), serialize_record(rec), 0600, dir_ / "tmp" / (rec.id + ".env"));
}

void Queue::erase_files(const std::string& id) {
  std::error_code ec;
  fs::remove(dir_ / (id + ".env"), ec);
  (void)fsync_directory(dir_);  // the record is gone for good before the message goes
  fs::remove(dir_ / (id + ".msg"), ec);
}

// ---- scheduling ------------------------------------------------------------------------------------------

std::vector<Queue::Job*> Queue::collect_due_locked(std::int64_t now) {
  std::vector<Job*> jobs;
  for (auto& [id, e] : entries_) {
    if (e->deleted || e->rec.held) continue;
    std::map<std::string, std::vector<std::size_t>> by_domain;
    for (std::size_t i = 0; i < e->rec.recipients.size(); ++i) {
      const auto& r = e->rec.recipients[i];
      if ((r.state == RecipientState::pending || r.state == RecipientState::deferred) && !e->in_flight[i] &&
          r.next_attempt <= now)
        by_domain[domain_of(r.address)].push_back(i);
    }
    std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
    auto chunk = static_cast<std::size_t>(config_.recipients_per_delivery);
    for (auto& [domain, all] : by_domain)
      for (std::size_t k = 0; k < all.size(); k += chunk)
        groups.emplace_back(domain, std::vector<std::size_t>(all.begin() + static_cast<std::ptrdiff_t>(k),
                                                             all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), k + chunk))));
    for (auto& [domain, index] : groups) {
      if (active_total_ >= config_.max_connections) return jobs;
      int& active = active_per_domain_[domain];
      if (active >= config_.per_destination) continue;
      ++active;
      ++active_total_;
      auto* job = new Job;
      job->entry = e;
      job->domain = domain;
      job->index = index;
      auto& q = job->request;
      q.queue_id = e->rec.id;
      q.return_path = e->rec.return_path;
      q.envid = e->rec.envid;
      q.ret = e->rec.ret;
      q.requiretls = e->rec.requiretls;
      q.smtputf8 = e->rec.smtputf8;
      q.eightbit = e->rec.eightbit;
      q.domain = domain;
      q.message_file = dir_ / (e->rec.id + ".msg");
      q.message_size = e->rec.size;
      for (auto i : index) {
        const auto& r = e->rec.recipients[i];
        q.recipients.push_back({r.address, r.notify, r.orcpt});
        e->in_flight[i] = 1;
      }
      jobs.push_back(job);
    }
  }
  return jobs;
}

std::int64_t Queue::next_due_locked() const {
  std::int64_t next = INT64_MAX;
  for (const auto& [id, e] : entries_) {
    if (e->deleted || e->rec.held) continue;
    for (std::size_t i = 0; i < e->rec.recipients.size(); ++i) {
      const auto& r = e->rec.recipients[i];
      if ((r.state == RecipientState::pending || r.state == RecipientState::deferred) && !e->in_flight[i])
        next = std::min(next, r.next_attempt);
    }
  }
  return next;
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
      idle = jobs.empty() && active_total_ == 0;
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
      auto msg = read_file(job->request.message_file);
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
  bool finished = false;
  auto fn = [&]() -> Status {
    finish_job(*job, statuses);
    finished = true;
    return {};
  };
  (void)co_await run_blocking(workers_, fn);
  if (!finished) fn();  // the worker pool refused the job (saturated): record the outcome here, never drop it
  {
    std::lock_guard lock(mutex_);
    if (--active_per_domain_[job->domain] <= 0) active_per_domain_.erase(job->domain);
    --active_total_;
  }
  wake();
}

void Queue::finish_job(Job& job, const std::vector<RecipientStatus>& statuses) {
  auto& e = *job.entry;
  std::lock_guard write_lock(e.write_mutex);
  std::int64_t now = now_unix();
  std::vector<DsnRecipient> failures, delays, successes;
  std::vector<QueueEvent> events;
  MessageRecord snapshot;
  bool deleted = false;
  {
    std::lock_guard lock(mutex_);
    auto& rec = e.rec;
    std::int64_t expiry = rec.arrival + config_.max_age.count();
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
        ev.kind = "deferred";
        ev.next_attempt = r.next_attempt;
      }
      events.push_back(std::move(ev));
    }
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
    snapshot = rec;
    deleted = e.deleted;
  }
  if (deleted) return;
  if (config_.bounces) {
    send_dsn(snapshot, failures, now);
    send_dsn(snapshot, delays, now);
    send_dsn(snapshot, successes, now);
  } else if (!failures.empty()) {
    log::info("queue.bounce_disabled", {{"id", snapshot.id}, {"recipients", failures.size()}});
  }
  if (snapshot.finished()) {
    erase_files(snapshot.id);
    std::lock_guard lock(mutex_);
    e.deleted = true;
    entries_.erase(snapshot.id);
  } else if (auto st = write_record(snapshot); !st) {
    log::error("queue.record_write_failed", {{"id", snapshot.id}, {"error", st.error().message}});
  }
  // Reported once the outcome is durable: a crash before this point may repeat the attempt (RFC 5321 6.1).
  for (const auto& ev : events) emit(ev);
}

void Queue::send_dsn(const MessageRecord& rec, const std::vector<DsnRecipient>& recipients, std::int64_t now) {
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
    if (failure && !config_.postmaster_copy.empty() && lower(config_.postmaster_copy) != lower(rec.return_path))
      to.push_back(config_.postmaster_copy);
  }
  if (to.empty()) return;
  auto original = read_file(dir_ / (rec.id + ".msg"));
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
  if (st) log::info("queue.released", {{"id", id}});
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
  erase_files(std::string(id));
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
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(spool_dir, ec)) {
    auto name = f.path().filename().string();
    if (name.size() > 4 && name.ends_with(".env")) names.push_back(name);
  }
  if (ec) return fail(ErrorCategory::io, fmt::format("read {}: {}", spool_dir.string(), ec.message()));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto text = read_file(spool_dir / n, kMaxRecordSize + 1);
    if (!text) continue;  // removed meanwhile
    auto rec = parse_record(*text);
    if (rec) out.push_back(std::move(*rec));
  }
  return out;
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
