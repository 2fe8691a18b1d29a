// MaildirStore: Dovecot-compatible Maildir++ (see include/tern/store/maildir_store.hpp).
#include "tern/store/maildir_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "tern/core/log.hpp"

namespace fs = std::filesystem;

namespace tern::store {

std::string_view to_string(SpecialUse u) noexcept {
  switch (u) {
    case SpecialUse::sent: return "\\Sent";
    case SpecialUse::drafts: return "\\Drafts";
    case SpecialUse::junk: return "\\Junk";
    case SpecialUse::trash: return "\\Trash";
    case SpecialUse::archive: return "\\Archive";
    default: return "";
  }
}

Result<std::uint32_t> UserMailbox::append_message(std::string_view mailbox, std::string_view raw, AppendRequest r) {
  auto s = append(mailbox, std::move(r));
  if (!s) return fail(s.error());
  if (auto w = (*s)->write(raw); !w) {
    (*s)->abort();
    return fail(w.error());
  }
  return (*s)->commit();
}

std::string maildir_flag_letters(std::uint32_t system, const std::vector<int>& kw) {
  // Maildir spec: flags in ASCII order; Dovecot keeps uppercase system flags then keyword letters.
  std::string out;
  if (system & flag_draft) out += 'D';
  if (system & flag_flagged) out += 'F';
  if (system & flag_answered) out += 'R';
  if (system & flag_seen) out += 'S';
  if (system & flag_deleted) out += 'T';
  std::string k;
  for (int i : kw)
    if (i >= 0 && i < 26) k += static_cast<char>('a' + i);
  std::sort(k.begin(), k.end());
  k.erase(std::unique(k.begin(), k.end()), k.end());
  return out + k;
}

namespace {

// ---- small POSIX helpers ---------------------------------------------------------------------

Status fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + p.string());
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return fail_errno("fsync " + p.string(), e);
  return {};
}

// Writes `contents` to `path` durably via a temporary file and rename.
Status write_file_durably(const fs::path& path, const std::string& contents) {
  fs::path tmp = path;
  tmp += ".tern-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("open " + tmp.string());
  std::size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return fail_errno("write " + tmp.string(), e);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return fail_errno("fsync " + tmp.string(), e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail_errno("rename " + path.string());
  return fsync_path(path.parent_path(), true);
}

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> list_dir(const fs::path& p) {
  std::vector<std::string> out;
  DIR* d = ::opendir(p.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

// Group commit for directory fsyncs: callers that arrive while an fsync runs share the next one.
class DirSyncer {
 public:
  Status sync(const fs::path& dir) {
    std::unique_lock lk(m_);
    std::uint64_t ticket = ++requested_;
    while (true) {
      if (done_ >= ticket) return last_;
      if (!running_) {
        running_ = true;
        std::uint64_t covers = requested_;
        lk.unlock();
        Status st = fsync_path(dir, true);
        lk.lock();
        running_ = false;
        done_ = covers;
        last_ = st;
        cv_.notify_all();
        if (done_ >= ticket) return st;
      } else {
        cv_.wait(lk);
      }
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::uint64_t requested_ = 0, done_ = 0;
  bool running_ = false;
  Status last_;
};

// Dovecot-compatible dotlock `<file>.lock` (O_EXCL create; stale after 2 minutes untouched).
class DotLock {
 public:
  static Result<DotLock> acquire(const fs::path& target) {
    fs::path lock = target;
    lock += ".lock";
    for (int attempt = 0;; ++attempt) {
      int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) {
        // Tern holders also hold a POSIX lock on the dotlock, so a crashed Tern holder is recognised
        // quickly; a Dovecot holder is recognised by Dovecot's own 2-minute stale rule.
        struct flock fl {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        (void)::fcntl(fd, F_SETLK, &fl);
        return DotLock(lock, fd);
      }
      if (errno != EEXIST) return fail_errno("create " + lock.string());
      struct stat st {};
      if (::stat(lock.c_str(), &st) == 0) {
        auto age = std::time(nullptr) - st.st_mtime;
        bool stale = age > 120;
        if (!stale && age >= 5) {
          int probe = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
          if (probe >= 0) {
            struct flock fl {};
            fl.l_type = F_WRLCK;
            fl.l_whence = SEEK_SET;
            struct stat pst {};
            // Nobody holds its POSIX lock and it is still the same file: its holder died.
            stale = ::fcntl(probe, F_SETLK, &fl) == 0 && ::fstat(probe, &pst) == 0 && pst.st_ino == st.st_ino;
            ::close(probe);
          }
        }
        if (stale) {
          log::warn("store.stale_lock_removed", {{"path", lock.string()}});
          ::unlink(lock.c_str());
          continue;
        }
      }
      if (attempt > 30000) return fail(ErrorCategory::temporary, "mailbox is locked: " + lock.string());
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 100 ? 1 : 10));
    }
  }
  DotLock(DotLock&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }
  DotLock& operator=(DotLock&&) = delete;
  ~DotLock() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(path_.c_str());
    }
  }
  // Writes the new contents into the lock file and renames it over the target (Dovecot's way).
  Status commit(const fs::path& target, const std::string& contents) {
    std::size_t off = 0;
    while (off < contents.size()) {
      ssize_t n = ::write(fd_, contents.data() + off, contents.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno("write " + path_.string());
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd_) != 0) return fail_errno("fsync " + path_.string());
    if (::rename(path_.c_str(), target.c_str()) != 0) return fail_errno("rename " + target.string());
    ::close(fd_);
    fd_ = -1;
    return {};
  }

 private:
  DotLock(fs::path p, int fd) : path_(std::move(p)), fd_(fd) {}
  fs::path path_;
  int fd_ = -1;
};

// ---- file names ------------------------------------------------------------------------------

std::string base_of(const std::string& filename) {
  auto c = filename.find(':');
  return c == std::string::npos ? filename : filename.substr(0, c);
}

struct ParsedName {
  std::uint32_t system = 0;
  std::string keyword_letters;
  std::optional<std::uint64_t> size;
};

ParsedName parse_name(const std::string& filename) {
  ParsedName p;
  auto c = filename.find(":2,");
  if (c != std::string::npos) {
    for (char ch : filename.substr(c + 3)) {
      switch (ch) {
        case 'D': p.system |= flag_draft; break;
        case 'F': p.system |= flag_flagged; break;
        case 'R': p.system |= flag_answered; break;
        case 'S': p.system |= flag_seen; break;
        case 'T': p.system |= flag_deleted; break;
        default:
          if (ch >= 'a' && ch <= 'z') p.keyword_letters += ch;
      }
    }
  }
  auto s = filename.find(",S=");
  if (s != std::string::npos) {
    std::uint64_t v = 0;
    std::size_t i = s + 3;
    bool any = false;
    while (i < filename.size() && filename[i] >= '0' && filename[i] <= '9') v = v * 10 + (filename[i++] - '0'), any = true;
    if (any) p.size = v;
  }
  return p;
}

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  std::string h(buf);
  for (char& c : h)
    if (c == '/' || c == ':') c = '_';
  return h.empty() ? "localhost" : h;
}

std::atomic<std::uint64_t> g_counter{0};

std::string unique_base() {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(::getpid()) + "Q" +
         std::to_string(++g_counter) + "." + hostname();
}

bool valid_mailbox_name(std::string_view n) {
  if (n.empty() || n.size() > 255) return false;
  if (n.front() == '/' || n.back() == '/') return false;
  if (n.find("//") != std::string_view::npos) return false;
  for (unsigned char c : n)
    if (c < 0x20 || c == 0x7f || c == '.' || c == '%' || c == '*') return false;
  return true;
}

// ---- one Maildir folder -------------------------------------------------------------------

struct Entry {
  std::uint32_t uid = 0;
  std::string base;
  std::string filename;  // current name, in `dir`
  bool in_new = false;
};

struct Folder {
  fs::path path;
  std::uint32_t uid_validity = 0;
  std::uint32_t uid_next = 1;
  std::string guid;
  std::vector<Entry> entries;  // UID order
  std::uint64_t highest_modseq = 1;
  std::unordered_map<std::uint32_t, std::uint64_t> modseq;  // per UID; absent means 1
  DirSyncer new_syncer, cur_syncer;
};

}  // namespace

// ---- the user ----------------------------------------------------------------------------

class MaildirUser final : public UserMailbox, public std::enable_shared_from_this<MaildirUser> {
 public:
  MaildirUser(fs::path root, std::string user, QuotaLimits limits) : root_(std::move(root)), user_(std::move(user)), limits_(limits) {}

  Status init() {
    std::lock_guard lk(m_);
    if (auto s = ensure_maildir(root_); !s) return s;
    static const std::pair<const char*, SpecialUse> specials[] = {{"Sent", SpecialUse::sent}, {"Drafts", SpecialUse::drafts},
                                                                  {"Junk", SpecialUse::junk}, {"Trash", SpecialUse::trash},
                                                                  {"Archive", SpecialUse::archive}};
    bool created = false;
    for (auto& [n, u] : specials) {
      if (!fs::exists(folder_path(n))) {
        if (auto s = ensure_maildir(folder_path(n)); !s) return s;
        subscriptions_add(n);
        created = true;
      }
    }
    if (created) {
      if (auto s = write_subscriptions(); !s) return s;
    }
    if (auto s = load_keywords(); !s) return s;
    return recalc_quota_locked();
  }

  Result<std::vector<MailboxInfo>> list() override {
    std::lock_guard lk(m_);
    auto subs = read_subscriptions();
    std::vector<MailboxInfo> out;
    out.push_back({"INBOX", SpecialUse::none, subs.count("INBOX") > 0});
    for (auto& n : list_dir_all(root_)) {
      if (n.size() < 2 || n[0] != '.' || n == "..") continue;
      std::string name = n.substr(1);
      std::replace(name.begin(), name.end(), '.', '/');
      if (!fs::is_directory(root_ / n / "cur")) continue;
      out.push_back({name, special_of(name), subs.count(name) > 0});
    }
    std::sort(out.begin() + 1, out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
  }

  Status create(std::string_view name, SpecialUse) override {
    std::unique_lock lk(m_);
    if (!valid_mailbox_name(name) || is_inbox(name)) return fail(ErrorCategory::invalid_argument, "invalid mailbox name: " + std::string(name));
    auto p = folder_path(name);
    if (fs::exists(p)) return fail(ErrorCategory::exists, "mailbox exists: " + std::string(name));
    if (auto s = ensure_maildir(p); !s) return s;
    lk.unlock();
    notify({ChangeEvent::Kind::mailbox_list_changed, std::string(name), {}, 0});
    return {};
  }

  Status rename(std::string_view from, std::string_view to) override {
    std::unique_lock lk(m_);
    if (is_inbox(from) || is_inbox(to) || !valid_mailbox_name(to)) return fail(ErrorCategory::invalid_argument, "cannot rename to or from INBOX or to an invalid name");
    auto a = folder_path(from), b = folder_path(to);
    if (!fs::exists(a)) return fail(ErrorCategory::not_found, "no such mailbox: " + std::string(from));
    if (fs::exists(b)) return fail(ErrorCategory::exists, "mailbox exists: " + std::string(to));
    // Children move with their parent (".A.x" -> ".B.x").
    std::string pa = a.filename().string() + ".", pb = b.filename().string() + ".";
    for (auto& n : list_dir_all(root_))
      if (n.rfind(pa, 0) == 0)
        if (::rename((root_ / n).c_str(), (root_ / (pb + n.substr(pa.size()))).c_str()) != 0) return fail_errno("rename " + n);
    if (::rename(a.c_str(), b.c_str()) != 0) return fail_errno("rename " + a.string());
    folders_.erase(std::string(from));
    if (auto s = fsync_path(root_, true); !s) return s;
    lk.unlock();
    notify({ChangeEvent::Kind::mailbox_list_changed, std::string(to), {}, 0});
    return {};
  }

  Status remove(std::string_view name) override {
    std::unique_lock lk(m_);
    if (is_inbox(name)) return fail(ErrorCategory::invalid_argument, "INBOX cannot be deleted");
    auto p = folder_path(name);
    if (!fs::exists(p)) return fail(ErrorCategory::not_found, "no such mailbox: " + std::string(name));
    // Rename away first so a crash never leaves a half-deleted, still-visible folder.
    fs::path gone = root_ / (".tern-deleted-" + unique_base());
    if (::rename(p.c_str(), gone.c_str()) != 0) return fail_errno("rename " + p.string());
    std::error_code ec;
    fs::remove_all(gone, ec);
    folders_.erase(std::string(name));
    subscriptions_.erase(std::string(name));
    (void)write_subscriptions();
    (void)recalc_quota_locked();
    lk.unlock();
    notify({ChangeEvent::Kind::mailbox_list_changed, std::string(name), {}, 0});
    return {};
  }

  Status subscribe(std::string_view name, bool on) override {
    std::lock_guard lk(m_);
    read_subscriptions();
    if (on) subscriptions_add(std::string(name));
    else subscriptions_.erase(std::string(name));
    return write_subscriptions();
  }

  Result<MailboxStatus> status(std::string_view mailbox) override {
    std::lock_guard lk(m_);
    auto f = sync(mailbox);
    if (!f) return fail(f.error());
    MailboxStatus st;
    st.uid_validity = (*f)->uid_validity;
    st.uid_next = (*f)->uid_next;
    st.highest_modseq = (*f)->highest_modseq;
    for (auto& e : (*f)->entries) {
      ++st.messages;
      auto pn = parse_name(e.filename);
      if (!(pn.system & flag_seen)) ++st.unseen;
      if (e.in_new) ++st.recent;
      st.size += size_of(**f, e, pn);
    }
    return st;
  }

  class Stream final : public AppendStream {
   public:
    Stream(std::shared_ptr<MaildirUser> u, std::string mailbox, AppendRequest r, fs::path tmp, int fd)
        : u_(std::move(u)), mailbox_(std::move(mailbox)), req_(std::move(r)), tmp_(std::move(tmp)), fd_(fd) {}
    ~Stream() override { abort(); }
    Status write(std::string_view b) override {
      if (fd_ < 0) return fail(ErrorCategory::internal, "append stream is closed");
      while (!b.empty()) {
        ssize_t n = ::write(fd_, b.data(), b.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return fail_errno("write " + tmp_.string());
        }
        b.remove_prefix(static_cast<std::size_t>(n));
        size_ += static_cast<std::uint64_t>(n);
      }
      return {};
    }
    Result<std::uint32_t> commit() override {
      if (fd_ < 0) return fail(ErrorCategory::internal, "append stream is closed");
      if (::fsync(fd_) != 0) return fail_errno("fsync " + tmp_.string());
      ::close(fd_);
      fd_ = -1;
      auto r = u_->finish_append(mailbox_, req_, tmp_, size_);
      tmp_.clear();
      return r;
    }
    void abort() override {
      if (fd_ >= 0) ::close(fd_), fd_ = -1;
      if (!tmp_.empty()) ::unlink(tmp_.c_str()), tmp_.clear();
    }

   private:
    std::shared_ptr<MaildirUser> u_;
    std::string mailbox_;
    AppendRequest req_;
    fs::path tmp_;
    int fd_;
    std::uint64_t size_ = 0;
  };

  Result<std::unique_ptr<AppendStream>> append(std::string_view mailbox, AppendRequest r) override {
    fs::path dir;
    {
      std::lock_guard lk(m_);
      dir = folder_path(mailbox);
      if (!is_inbox(mailbox) && !fs::exists(dir)) {
        if (special_of(std::string(mailbox)) == SpecialUse::none)
          return fail(ErrorCategory::not_found, "no such mailbox: " + std::string(mailbox));
        if (auto s = ensure_maildir(dir); !s) return fail(s.error());
      }
    }
    fs::path tmp = dir / "tmp" / unique_base();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno("create " + tmp.string());
    return std::unique_ptr<AppendStream>(new Stream(shared_from_this(), std::string(mailbox), std::move(r), tmp, fd));
  }

  Result<std::uint32_t> finish_append(const std::string& mailbox, const AppendRequest& req, const fs::path& tmp, std::uint64_t size) {
    // RFC 3463 5.2.2: mailbox full (permanent).
    if (!req.bypass_quota) {
      std::lock_guard lk(m_);
      if ((limits_.bytes && usage_bytes_ + size > limits_.bytes) || (limits_.messages && usage_msgs_ + 1 > limits_.messages)) {
        ::unlink(tmp.c_str());
        return fail(ErrorCategory::limit, "5.2.2 Mailbox full: " + user_ + " is over quota", 552);
      }
    }
    std::int64_t when = req.internal_date ? req.internal_date : static_cast<std::int64_t>(std::time(nullptr));
    timeval tv[2] = {{static_cast<time_t>(when), 0}, {static_cast<time_t>(when), 0}};
    ::utimes(tmp.c_str(), tv);
    fs::path dir = tmp.parent_path().parent_path();
    std::string base = tmp.filename().string() + ",S=" + std::to_string(size);
    bool to_cur = req.flags.system != 0 || !req.flags.keywords.empty();
    std::string name;
    {
      std::lock_guard lk(m_);
      name = base + (to_cur ? ":2," + maildir_flag_letters(req.flags.system, keyword_indexes(req.flags.keywords, true)) : "");
      if (to_cur) (void)save_keywords();
    }
    fs::path target = dir / (to_cur ? "cur" : "new") / name;
    if (::rename(tmp.c_str(), target.c_str()) != 0) return fail_errno("rename into " + target.string());
    // Durability: the directory entry is fsynced (shared across concurrent deliveries) before the UID is returned.
    Folder* fsyncer = nullptr;
    {
      std::lock_guard lk(m_);
      auto f = folder(mailbox);
      if (!f) return fail(f.error());
      fsyncer = *f;
    }
    if (auto s = (to_cur ? fsyncer->cur_syncer : fsyncer->new_syncer).sync(target.parent_path()); !s) return fail(s.error());
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    bool warn80 = false, warn95 = false;
    {
      std::lock_guard lk(m_);
      auto f = sync(mailbox);
      if (!f) return fail(f.error());
      for (auto it = (*f)->entries.rbegin(); it != (*f)->entries.rend(); ++it)
        if (it->base == base) { uid = it->uid; break; }
      if (uid == 0) return fail(ErrorCategory::internal, "appended message was not found in " + mailbox);
      modseq = ++(*f)->highest_modseq;
      (*f)->modseq[uid] = modseq;
      std::uint64_t before = usage_bytes_;
      usage_bytes_ += size;
      usage_msgs_ += 1;
      (void)append_maildirsize(static_cast<std::int64_t>(size), 1);
      if (limits_.bytes && !req.bypass_quota) {
        warn80 = before * 100 < limits_.bytes * 80 && usage_bytes_ * 100 >= limits_.bytes * 80;
        warn95 = before * 100 < limits_.bytes * 95 && usage_bytes_ * 100 >= limits_.bytes * 95;
      }
    }
    notify({ChangeEvent::Kind::message_added, mailbox, {uid}, modseq});
    if (warn80 || warn95) quota_warning(warn95 ? 95 : 80);
    return uid;
  }

  void quota_warning(int percent) {
    std::ostringstream m;
    char date[64];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    m << "From: Mail System <postmaster@localhost>\r\nTo: <" << user_ << ">\r\nSubject: Your mailbox is " << percent
      << "% full\r\nDate: " << date << "\r\nMessage-ID: <quota-" << unique_base() << "@localhost>\r\nMIME-Version: 1.0\r\n"
      << "Content-Type: text/plain; charset=utf-8\r\n\r\nYour mailbox has reached " << percent
      << "% of its quota. Please delete or archive some messages; when it is full, new mail is refused.\r\n";
    AppendRequest r;
    r.bypass_quota = true;
    (void)append_message("INBOX", m.str(), r);
    log::info("store.quota_warning", {{"user", user_}, {"percent", percent}});
  }

  Result<std::vector<MessageInfo>> messages(std::string_view mailbox) override {
    std::lock_guard lk(m_);
    auto f = sync(mailbox);
    if (!f) return fail(f.error());
    std::vector<MessageInfo> out;
    out.reserve((*f)->entries.size());
    for (auto& e : (*f)->entries) out.push_back(make_info(**f, e));
    return out;
  }

  Result<MessageInfo> info(std::string_view mailbox, std::uint32_t uid) override {
    std::lock_guard lk(m_);
    auto f = sync(mailbox);
    if (!f) return fail(f.error());
    auto e = find(**f, uid);
    if (!e) return fail(ErrorCategory::not_found, "no message with UID " + std::to_string(uid));
    return make_info(**f, *e);
  }

  Result<std::string> fetch(std::string_view mailbox, std::uint32_t uid) override {
    for (int attempt = 0; attempt < 3; ++attempt) {
      fs::path p;
      {
        std::lock_guard lk(m_);
        auto f = attempt ? sync(mailbox) : folder(mailbox);
        if (!f) return fail(f.error());
        if (!attempt && (*f)->entries.empty()) { f = sync(mailbox); if (!f) return fail(f.error()); }
        auto e = find(**f, uid);
        if (!e) {
          if (attempt) return fail(ErrorCategory::not_found, "no message with UID " + std::to_string(uid));
          continue;
        }
        p = (*f)->path / (e->in_new ? "new" : "cur") / e->filename;
      }
      if (auto s = read_file(p)) return *s;  // renamed by another process: resync and retry
    }
    return fail(ErrorCategory::not_found, "message with UID " + std::to_string(uid) + " vanished");
  }

  Result<std::string> fetch_header(std::string_view mailbox, std::uint32_t uid) override {
    auto m = fetch(mailbox, uid);
    if (!m) return m;
    auto p = m->find("\r\n\r\n");
    std::size_t end = p != std::string::npos ? p + 4 : std::string::npos;
    auto q = m->find("\n\n");
    if (q != std::string::npos && (end == std::string::npos || q + 2 < end)) end = q + 2;
    return end == std::string::npos ? *m : m->substr(0, end);
  }

  Result<std::string> fetch_structure(std::string_view mailbox, std::uint32_t uid) override {
    std::shared_ptr<StructureParser> parser;
    {
      std::lock_guard lk(m_);
      parser = parser_;
    }
    if (!parser) return fail(ErrorCategory::unsupported, "no message-structure parser is connected to the store");
    auto m = fetch(mailbox, uid);
    if (!m) return fail(m.error());
    return parser->parse(*m);
  }

  Result<FlagChangeResult> change_flags(std::string_view mailbox, const std::vector<std::uint32_t>& uids, const FlagChange& ch) override {
    FlagChangeResult res;
    std::uint64_t modseq = 0;
    {
      std::lock_guard lk(m_);
      auto f = sync(mailbox);
      if (!f) return fail(f.error());
      Folder& fo = **f;
      auto kw = keyword_indexes(ch.flags.keywords, ch.mode != FlagChange::Mode::remove);
      if (ch.mode != FlagChange::Mode::remove) (void)save_keywords();
      bool touched_cur = false;
      for (auto uid : uids) {
        auto e = find(fo, uid);
        if (!e) continue;
        auto cur = make_info(fo, *e);
        if (ch.unchanged_since && cur.modseq > *ch.unchanged_since) {
          res.modified.push_back(uid);
          continue;
        }
        auto pn = parse_name(e->filename);
        std::uint32_t sys = pn.system;
        std::set<char> letters(pn.keyword_letters.begin(), pn.keyword_letters.end());
        std::set<char> given;
        for (int i : kw)
          if (i >= 0 && i < 26) given.insert(static_cast<char>('a' + i));
        if (ch.mode == FlagChange::Mode::set) sys = ch.flags.system, letters = given;
        else if (ch.mode == FlagChange::Mode::add) sys |= ch.flags.system, letters.insert(given.begin(), given.end());
        else {
          sys &= ~ch.flags.system;
          for (char c : given) letters.erase(c);
        }
        std::vector<int> idx;
        for (char c : letters) idx.push_back(c - 'a');
        std::string nn = e->base + ":2," + maildir_flag_letters(sys, idx);
        if (nn == e->filename && !e->in_new) continue;
        fs::path from = fo.path / (e->in_new ? "new" : "cur") / e->filename, to = fo.path / "cur" / nn;
        if (::rename(from.c_str(), to.c_str()) != 0) {
          if (errno == ENOENT) continue;  // expunged meanwhile
          return fail_errno("rename " + from.string());
        }
        if (e->in_new) (void)fsync_path(fo.path / "new", true);
        e->filename = nn;
        e->in_new = false;
        touched_cur = true;
        if (!modseq) modseq = ++fo.highest_modseq;
        fo.modseq[uid] = modseq;
        res.changed.push_back(make_info(fo, *e));
      }
      if (touched_cur) (void)fsync_path(fo.path / "cur", true);
    }
    if (!res.changed.empty()) {
      std::vector<std::uint32_t> u;
      for (auto& i : res.changed) u.push_back(i.uid);
      notify({ChangeEvent::Kind::flags_changed, std::string(mailbox), u, modseq});
    }
    return res;
  }

  Result<ExpungeResult> expunge(std::string_view mailbox, const std::vector<std::uint32_t>& uids) override {
    ExpungeResult res;
    {
      std::lock_guard lk(m_);
      auto f = sync(mailbox);
      if (!f) return fail(f.error());
      Folder& fo = **f;
      std::set<std::uint32_t> want(uids.begin(), uids.end());
      std::int64_t freed = 0;
      for (auto& e : fo.entries) {
        auto pn = parse_name(e.filename);
        if (uids.empty() ? !(pn.system & flag_deleted) : !want.count(e.uid)) continue;
        fs::path p = fo.path / (e.in_new ? "new" : "cur") / e.filename;
        auto sz = size_of(fo, e, pn);
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink " + p.string());
        res.uids.push_back(e.uid);
        freed += static_cast<std::int64_t>(sz);
      }
      if (res.uids.empty()) return res;
      (void)fsync_path(fo.path / "cur", true);
      (void)fsync_path(fo.path / "new", true);
      res.modseq = ++fo.highest_modseq;
      if (auto s = sync(mailbox); !s) return fail(s.error());
      usage_bytes_ -= std::min<std::uint64_t>(usage_bytes_, static_cast<std::uint64_t>(freed));
      usage_msgs_ -= std::min<std::uint64_t>(usage_msgs_, res.uids.size());
      (void)append_maildirsize(-freed, -static_cast<std::int64_t>(res.uids.size()));
    }
    notify({ChangeEvent::Kind::expunged, std::string(mailbox), res.uids, res.modseq});
    return res;
  }

  Result<CopyResult> copy(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to) override {
    return transfer(from, uids, to, false);
  }
  Result<CopyResult> move(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to) override {
    return transfer(from, uids, to, true);
  }

  Result<QuotaUsage> quota() override {
    std::lock_guard lk(m_);
    return QuotaUsage{usage_bytes_, usage_msgs_, limits_};
  }
  void set_quota(QuotaLimits l) override {
    std::lock_guard lk(m_);
    limits_ = l;
    (void)write_maildirsize();
  }

  class Sub final : public ChangeSubscription {
   public:
    Sub(std::weak_ptr<MaildirUser> u, std::uint64_t id) : u_(std::move(u)), id_(id) {}
    ~Sub() override { cancel(); }
    void cancel() override {
      if (auto u = u_.lock()) u->unsubscribe(id_);
      u_.reset();
    }

   private:
    std::weak_ptr<MaildirUser> u_;
    std::uint64_t id_;
  };

  std::unique_ptr<ChangeSubscription> subscribe_changes(ChangeCallback cb) override {
    std::lock_guard lk(subs_m_);
    auto id = ++next_sub_;
    subs_[id] = std::make_shared<ChangeCallback>(std::move(cb));
    return std::make_unique<Sub>(weak_from_this(), id);
  }
  void unsubscribe(std::uint64_t id) {
    std::lock_guard lk(subs_m_);
    subs_.erase(id);
  }

  void set_structure_parser(std::shared_ptr<StructureParser> p) {
    std::lock_guard lk(m_);
    parser_ = std::move(p);
  }

 private:
  // ---- paths -------------------------------------------------------------------------------
  static bool is_inbox(std::string_view n) {
    if (n.size() != 5) return false;
    for (int i = 0; i < 5; ++i)
      if (std::toupper(static_cast<unsigned char>(n[i])) != "INBOX"[i]) return false;
    return true;
  }
  fs::path folder_path(std::string_view name) const {
    if (is_inbox(name)) return root_;
    std::string n(name);
    std::replace(n.begin(), n.end(), '/', '.');
    return root_ / ("." + n);
  }
  static SpecialUse special_of(const std::string& n) {
    if (n == "Sent") return SpecialUse::sent;
    if (n == "Drafts") return SpecialUse::drafts;
    if (n == "Junk") return SpecialUse::junk;
    if (n == "Trash") return SpecialUse::trash;
    if (n == "Archive") return SpecialUse::archive;
    return SpecialUse::none;
  }
  static std::vector<std::string> list_dir_all(const fs::path& p) {
    std::vector<std::string> out;
    DIR* d = ::opendir(p.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) out.emplace_back(e->d_name);
    ::closedir(d);
    return out;
  }
  Status ensure_maildir(const fs::path& p) {
    std::error_code ec;
    for (auto sub : {"cur", "new", "tmp"}) {
      fs::create_directories(p / sub, ec);
      if (ec) return fail(ErrorCategory::io, "create " + (p / sub).string() + ": " + ec.message(), ec.value());
    }
    if (p != root_) {
      // Maildir++ marks folders with an empty maildirfolder file.
      int fd = ::open((p / "maildirfolder").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd >= 0) ::close(fd);
    }
    (void)fsync_path(p, true);
    return fsync_path(p.parent_path(), true);
  }

  // ---- subscriptions (Dovecot: one name per line, '/' separated in v2 files; we write plain names) ----
  std::set<std::string> read_subscriptions() {
    subscriptions_.clear();
    if (auto s = read_file(root_ / "subscriptions")) {
      std::istringstream in(*s);
      std::string line;
      bool first = true;
      while (std::getline(in, line)) {
        if (first && line.rfind("V\t", 0) == 0) { first = false; continue; }
        first = false;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        std::replace(line.begin(), line.end(), '\t', '/');  // Dovecot v2 format uses TAB as separator
        subscriptions_.insert(line);
      }
    }
    return subscriptions_;
  }
  void subscriptions_add(const std::string& n) {
    if (subscriptions_.empty()) read_subscriptions();
    subscriptions_.insert(n);
  }
  Status write_subscriptions() {
    std::string s;
    for (auto& n : subscriptions_) s += n + "\n";
    return write_file_durably(root_ / "subscriptions", s);
  }

  // ---- keywords (dovecot-keywords: "<index> <name>" lines) ------------------------------------
  Status load_keywords() {
    keywords_.assign(26, "");
    if (auto s = read_file(root_ / "dovecot-keywords")) {
      std::istringstream in(*s);
      std::string line;
      while (std::getline(in, line)) {
        auto sp = line.find(' ');
        if (sp == std::string::npos) continue;
        int i = std::atoi(line.substr(0, sp).c_str());
        if (i >= 0 && i < 26) keywords_[i] = line.substr(sp + 1);
      }
    }
    return {};
  }
  std::vector<int> keyword_indexes(const std::vector<std::string>& kws, bool create) {
    std::vector<int> out;
    for (auto& k : kws) {
      int found = -1;
      for (int i = 0; i < 26; ++i)
        if (keywords_[i] == k) { found = i; break; }
      if (found < 0 && create)
        for (int i = 0; i < 26; ++i)
          if (keywords_[i].empty()) { keywords_[i] = k; found = i; keywords_dirty_ = true; break; }
      if (found >= 0) out.push_back(found);
    }
    return out;
  }
  Status save_keywords() {
    if (!keywords_dirty_) return {};
    std::string s;
    for (int i = 0; i < 26; ++i)
      if (!keywords_[i].empty()) s += std::to_string(i) + " " + keywords_[i] + "\n";
    keywords_dirty_ = false;
    return write_file_durably(root_ / "dovecot-keywords", s);
  }

  // ---- maildirsize (Maildir++ quota) ----------------------------------------------------
  Status write_maildirsize() {
    std::string s = std::to_string(limits_.bytes) + "S," + std::to_string(limits_.messages) + "C\n" +
                    std::to_string(usage_bytes_) + " " + std::to_string(usage_msgs_) + "\n";
    return write_file_durably(root_ / "maildirsize", s);
  }
  Status append_maildirsize(std::int64_t bytes, std::int64_t count) {
    int fd = ::open((root_ / "maildirsize").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return write_maildirsize();
    std::string line = std::to_string(bytes) + " " + std::to_string(count) + "\n";
    ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size())) return write_maildirsize();
    return {};
  }
  Status recalc_quota_locked() {
    usage_bytes_ = usage_msgs_ = 0;
    std::vector<fs::path> dirs{root_};
    for (auto& n : list_dir_all(root_))
      if (n.size() > 1 && n[0] == '.' && n != ".." && fs::is_directory(root_ / n / "cur")) dirs.push_back(root_ / n);
    for (auto& d : dirs)
      for (auto sub : {"cur", "new"})
        for (auto& n : list_dir(d / sub)) {
          auto pn = parse_name(n);
          std::uint64_t sz = 0;
          if (pn.size) sz = *pn.size;
          else {
            struct stat st {};
            if (::stat((d / sub / n).c_str(), &st) == 0) sz = static_cast<std::uint64_t>(st.st_size);
          }
          usage_bytes_ += sz;
          ++usage_msgs_;
        }
    return write_maildirsize();
  }

  // ---- folders and dovecot-uidlist ------------------------------------------------------
  Result<Folder*> folder(std::string_view name) {
    std::string key = is_inbox(name) ? "INBOX" : std::string(name);
    auto it = folders_.find(key);
    if (it != folders_.end()) return it->second.get();
    fs::path p = folder_path(name);
    if (!fs::is_directory(p / "cur")) {
      if (special_of(key) == SpecialUse::none) return fail(ErrorCategory::not_found, "no such mailbox: " + key);
      if (auto s = ensure_maildir(p); !s) return fail(s.error());
    }
    auto f = std::make_unique<Folder>();
    f->path = p;
    auto* raw = f.get();
    folders_[key] = std::move(f);
    return raw;
  }

  static std::uint64_t size_of(const Folder& f, const Entry& e, const ParsedName& pn) {
    if (pn.size) return *pn.size;
    struct stat st {};
    if (::stat((f.path / (e.in_new ? "new" : "cur") / e.filename).c_str(), &st) == 0) return static_cast<std::uint64_t>(st.st_size);
    return 0;
  }

  MessageInfo make_info(const Folder& f, const Entry& e) {
    MessageInfo mi;
    mi.uid = e.uid;
    auto pn = parse_name(e.filename);
    mi.flags.system = pn.system;
    for (char c : pn.keyword_letters)
      if (!keywords_[c - 'a'].empty()) mi.flags.keywords.push_back(keywords_[c - 'a']);
    std::sort(mi.flags.keywords.begin(), mi.flags.keywords.end());
    auto it = f.modseq.find(e.uid);
    mi.modseq = it == f.modseq.end() ? 1 : it->second;
    mi.size = size_of(f, e, pn);
    struct stat st {};
    if (::stat((f.path / (e.in_new ? "new" : "cur") / e.filename).c_str(), &st) == 0) mi.internal_date = st.st_mtime;
    return mi;
  }

  static Entry* find(Folder& f, std::uint32_t uid) {
    auto it = std::lower_bound(f.entries.begin(), f.entries.end(), uid, [](const Entry& e, std::uint32_t u) { return e.uid < u; });
    return it != f.entries.end() && it->uid == uid ? &*it : nullptr;
  }

  // Reads dovecot-uidlist, scans new/ and cur/, assigns UIDs to unknown files and rewrites the uidlist
  // under its dotlock. Format (Dovecot v3): "3 V<uidvalidity> N<uidnext> G<guid>" then "<uid> [ext...] :<basename>".
  Result<Folder*> sync(std::string_view name) {
    auto fr = folder(name);
    if (!fr) return fr;
    Folder& f = **fr;
    fs::path ul = f.path / "dovecot-uidlist";
    auto lock = DotLock::acquire(ul);
    if (!lock) return fail(lock.error());
    std::vector<std::pair<std::uint32_t, std::string>> known;
    std::uint32_t validity = 0, next = 1;
    std::string guid;
    std::string header_rest;
    if (auto s = read_file(ul)) {
      std::istringstream in(*s);
      std::string line;
      bool header = true;
      while (std::getline(in, line)) {
        if (header) {
          header = false;
          std::istringstream h(line);
          std::string tok;
          h >> tok;
          if (tok != "3" && tok != "1") {
            log::warn("store.uidlist_unknown_version", {{"path", ul.string()}, {"version", tok}});
          }
          if (tok == "1") {  // v1: "1 <uidvalidity> <nextuid>"
            h >> validity >> next;
            continue;
          }
          while (h >> tok) {
            if (tok.size() < 2) continue;
            if (tok[0] == 'V') validity = static_cast<std::uint32_t>(std::strtoul(tok.c_str() + 1, nullptr, 10));
            else if (tok[0] == 'N') next = static_cast<std::uint32_t>(std::strtoul(tok.c_str() + 1, nullptr, 10));
            else if (tok[0] == 'G') guid = tok.substr(1);
          }
          continue;
        }
        if (line.empty()) continue;
        char* end = nullptr;
        unsigned long uid = std::strtoul(line.c_str(), &end, 10);
        if (!uid || end == line.c_str()) continue;
        auto c = line.find(" :");
        std::string fname;
        if (c != std::string::npos) fname = line.substr(c + 2);
        else {  // v1 lines "<uid> <filename>"
          auto sp = line.find(' ');
          if (sp != std::string::npos) fname = line.substr(sp + 1);
        }
        if (fname.empty()) continue;
        known.emplace_back(static_cast<std::uint32_t>(uid), base_of(fname));
      }
    }
    bool dirty = false;
    if (!validity) {
      validity = static_cast<std::uint32_t>(std::time(nullptr));
      dirty = true;
    }
    if (guid.empty()) {
      char buf[33];
      std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", validity, static_cast<unsigned>(::getpid()), static_cast<unsigned>(++g_counter),
                    static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
      guid = buf;
      dirty = true;
    }
    // Files on disk, by base name.
    std::unordered_map<std::string, std::pair<std::string, bool>> disk;  // base -> (filename, in_new)
    std::vector<std::string> fresh_order;
    for (auto& n : list_dir(f.path / "cur")) disk[base_of(n)] = {n, false};
    for (auto& n : list_dir(f.path / "new")) disk.emplace(base_of(n), std::make_pair(n, true));
    std::vector<Entry> entries;
    entries.reserve(disk.size());
    std::set<std::string> seen;
    std::uint32_t max_uid = 0;
    for (auto& [uid, base] : known) {
      max_uid = std::max(max_uid, uid);
      auto it = disk.find(base);
      if (it == disk.end() || seen.count(base)) {
        dirty = true;  // expunged by someone
        continue;
      }
      seen.insert(base);
      entries.push_back({uid, base, it->second.first, it->second.second});
    }
    if (next <= max_uid) next = max_uid + 1, dirty = true;
    std::vector<std::string> unknown;
    for (auto& [base, v] : disk)
      if (!seen.count(base)) unknown.push_back(base);
    // New files get UIDs in delivery order (Maildir names start with the delivery time).
    std::sort(unknown.begin(), unknown.end(), [](const std::string& a, const std::string& b) {
      auto ta = std::strtoull(a.c_str(), nullptr, 10), tb = std::strtoull(b.c_str(), nullptr, 10);
      return ta != tb ? ta < tb : a < b;
    });
    for (auto& b : unknown) {
      auto& v = disk[b];
      entries.push_back({next++, b, v.first, v.second});
      dirty = true;
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.uid < b.uid; });
    if (dirty) {
      std::string out = "3 V" + std::to_string(validity) + " N" + std::to_string(next) + " G" + guid + "\n";
      for (auto& e : entries) out += std::to_string(e.uid) + " :" + e.base + "\n";
      if (auto s = lock->commit(ul, out); !s) return fail(s.error());
      if (auto s = fsync_path(f.path, true); !s) return fail(s.error());
    }
    if (f.uid_validity && f.uid_validity != validity) f.modseq.clear(), f.highest_modseq = 1;
    f.uid_validity = validity;
    f.uid_next = next;
    f.guid = guid;
    f.entries = std::move(entries);
    return &f;
  }

  Result<CopyResult> transfer(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to, bool move) {
    CopyResult res;
    std::vector<std::uint32_t> moved;
    std::uint64_t added = 0;
    std::vector<std::pair<std::uint32_t, std::string>> placed;  // source uid -> dest base
    std::uint64_t src_modseq = 0, dst_modseq = 0;
    {
      std::lock_guard lk(m_);
      auto sf = sync(from);
      if (!sf) return fail(sf.error());
      auto df = folder(to);
      if (!df) return fail(df.error());
      Folder& s = **sf;
      Folder& d = **df;
      if (&s == &d) return fail(ErrorCategory::invalid_argument, "source and destination are the same mailbox");
      for (auto uid : uids) {
        auto e = find(s, uid);
        if (!e) continue;
        auto pn = parse_name(e->filename);
        std::string nb = unique_base();
        if (pn.size) nb += ",S=" + std::to_string(*pn.size);
        std::string flags = e->filename.find(":2,") != std::string::npos ? e->filename.substr(e->filename.find(":2,")) : ":2,";
        fs::path src = s.path / (e->in_new ? "new" : "cur") / e->filename;
        fs::path dst = d.path / "cur" / (nb + flags);
        if (move) {
          // One rename: the message is always in exactly one of the two mailboxes.
          if (::rename(src.c_str(), dst.c_str()) != 0) {
            if (errno == ENOENT) continue;
            return fail_errno("rename " + src.string());
          }
          moved.push_back(uid);
        } else {
          fs::path tmp = d.path / "tmp" / nb;
          if (::link(src.c_str(), tmp.c_str()) != 0) {
            std::error_code ec;
            fs::copy_file(src, tmp, ec);
            if (ec) continue;
            if (auto st = fsync_path(tmp, false); !st) return fail(st.error());
          }
          if (::rename(tmp.c_str(), dst.c_str()) != 0) return fail_errno("rename " + dst.string());
          added += size_of(s, *e, pn);
        }
        placed.emplace_back(uid, nb);
      }
      if (placed.empty()) return res;
      if (auto st = fsync_path(d.path / "cur", true); !st) return fail(st.error());
      if (move) {
        (void)fsync_path(s.path / "cur", true);
        (void)fsync_path(s.path / "new", true);
      }
      auto d2 = sync(to);
      if (!d2) return fail(d2.error());
      dst_modseq = ++d.highest_modseq;
      res.dest_uid_validity = d.uid_validity;
      for (auto& [su, nb] : placed)
        for (auto& e : d.entries)
          if (e.base == nb) {
            res.uids.emplace_back(su, e.uid);
            d.modseq[e.uid] = dst_modseq;
          }
      if (move) {
        if (auto s2 = sync(from); !s2) return fail(s2.error());
        src_modseq = ++s.highest_modseq;
      } else {
        usage_bytes_ += added;
        usage_msgs_ += placed.size();
        (void)append_maildirsize(static_cast<std::int64_t>(added), static_cast<std::int64_t>(placed.size()));
      }
    }
    std::vector<std::uint32_t> du;
    for (auto& p : res.uids) du.push_back(p.second);
    notify({ChangeEvent::Kind::message_added, std::string(to), du, dst_modseq});
    if (move) notify({ChangeEvent::Kind::expunged, std::string(from), moved, src_modseq});
    return res;
  }

  void notify(const ChangeEvent& ev) {
    std::vector<std::shared_ptr<ChangeCallback>> cbs;
    {
      std::lock_guard lk(subs_m_);
      for (auto& [id, cb] : subs_) cbs.push_back(cb);
    }
    for (auto& cb : cbs) (*cb)(ev);
  }

  fs::path root_;
  std::string user_;
  std::mutex m_;
  QuotaLimits limits_;
  std::uint64_t usage_bytes_ = 0, usage_msgs_ = 0;
  std::map<std::string, std::unique_ptr<Folder>> folders_;
  std::set<std::string> subscriptions_;
  std::vector<std::string> keywords_ = std::vector<std::string>(26);
  bool keywords_dirty_ = false;
  std::shared_ptr<StructureParser> parser_;
  std::mutex subs_m_;
  std::map<std::uint64_t, std::shared_ptr<ChangeCallback>> subs_;
  std::uint64_t next_sub_ = 0;
};

// ---- MaildirStore ------------------------------------------------------------------------

MaildirStore::MaildirStore(fs::path data_dir) : data_dir_(std::move(data_dir)) {}
MaildirStore::~MaildirStore() = default;

static bool safe_part(std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 255) return false;
  for (unsigned char c : s)
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  return s[0] != '.';
}

Result<fs::path> MaildirStore::user_dir(std::string_view user) const {
  auto at = user.rfind('@');
  if (at == std::string_view::npos) return fail(ErrorCategory::invalid_argument, "user must be local@domain: " + std::string(user));
  std::string local(user.substr(0, at)), domain(user.substr(at + 1));
  std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!safe_part(local) || !safe_part(domain)) return fail(ErrorCategory::invalid_argument, "unsafe user name: " + std::string(user));
  return data_dir_ / "mail" / domain / local;
}

Result<std::shared_ptr<UserMailbox>> MaildirStore::open_user(std::string_view user, QuotaLimits limits) {
  auto dir = user_dir(user);
  if (!dir) return fail(dir.error());
  std::lock_guard lk(mutex_);
  std::string key = dir->string();
  if (auto it = open_.find(key); it != open_.end())
    if (auto u = it->second.lock()) {
      u->set_quota(limits);
      return u;
    }
  auto u = std::make_shared<MaildirUser>(*dir, std::string(user), limits);
  if (auto s = u->init(); !s) return fail(s.error());
  open_[key] = u;
  return std::shared_ptr<UserMailbox>(u);
}

Status MaildirStore::delete_user(std::string_view user, DeleteMode mode) {
  auto dir = user_dir(user);
  if (!dir) return fail(dir.error());
  std::lock_guard lk(mutex_);
  open_.erase(dir->string());
  if (!fs::exists(*dir)) return fail(ErrorCategory::not_found, "no mail for " + std::string(user));
  std::error_code ec;
  if (mode == DeleteMode::archive) {
    auto rel = dir->lexically_relative(data_dir_ / "mail");
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    fs::path dest = data_dir_ / "mail" / ".archive" / rel.parent_path() / (rel.filename().string() + "-" + stamp);
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return fail(ErrorCategory::io, "create " + dest.parent_path().string() + ": " + ec.message());
    if (::rename(dir->c_str(), dest.c_str()) != 0) return fail_errno("rename " + dir->string());
    (void)fsync_path(dest.parent_path(), true);
    (void)fsync_path(dir->parent_path(), true);
    log::info("store.account_archived", {{"user", std::string(user)}, {"path", dest.string()}});
    return {};
  }
  fs::path gone = dir->parent_path() / (".deleted-" + unique_base());
  if (::rename(dir->c_str(), gone.c_str()) != 0) return fail_errno("rename " + dir->string());
  fs::remove_all(gone, ec);
  (void)fsync_path(dir->parent_path(), true);
  log::info("store.account_deleted", {{"user", std::string(user)}});
  return {};
}

}  // namespace tern::store
