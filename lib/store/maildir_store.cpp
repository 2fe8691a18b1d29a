// MaildirStore: Dovecot-compatible Maildir++ (see include/tern/store/maildir_store.hpp).
#include "tern/store/maildir_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
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
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "tern/core/durable_file.hpp"
#include "tern/core/log.hpp"
#include "tern/store/mailbox_name.hpp"
#include "tern/store/uidlist.hpp"
#include "tern/mime/smtp_address.hpp"
#include "mail_index.hpp"
#include "maildir_watcher.hpp"

namespace fs = std::filesystem;

namespace tern::store {

namespace {
// RFC 9051 §2.3.1.1: a mailbox deleted and created again must get a new UIDVALIDITY. Time-based like
// Dovecot, but never the same value twice in this process (a DELETE + CREATE within one second).
std::uint32_t fresh_uid_validity() {
  static std::atomic<std::uint32_t> last{0};
  auto now = static_cast<std::uint32_t>(std::time(nullptr));
  std::uint32_t prev = last.load();
  std::uint32_t next;
  do {
    next = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, next));
  return next;
}
}  // namespace

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

// Group commit for directory fsyncs: callers that arrive while an fsync runs share the next one. sync()
// returns once an fsync that started after the call has completed, so it covers every rename or unlink the
// caller made before calling. Called without the user lock: sessions do not wait for each other's fsyncs.
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
  // `written` receives the file's inode, size and mtime as written (before anyone else can append).
  Status commit(const fs::path& target, const std::string& contents, struct stat* written = nullptr) {
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
    if (written && ::fstat(fd_, written) != 0) return fail_errno("fstat " + path_.string());
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


// RFC 8514 save date of a message file: a Maildir base name starts with the time the file was created in
// the folder ("<seconds>.<unique>.<host>", as unique_base() writes it), and every APPEND, delivery, COPY and
// MOVE gives the file a new base name there, so the name itself keeps the save date across restarts and
// index rebuilds. 0 (unknown) for names of another form.
std::int64_t maildir_save_date(std::string_view base) {
  std::int64_t t = 0;
  std::size_t i = 0;
  for (; i < base.size() && i < 12 && base[i] >= '0' && base[i] <= '9'; ++i) t = t * 10 + (base[i] - '0');
  return i > 0 && i < 12 && i < base.size() && base[i] == '.' ? t : 0;
}

// ---- one Maildir folder -------------------------------------------------------------------

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The clock file-system timestamps come from (coarse real time), in ns.
std::int64_t coarse_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

constexpr std::int64_t kConfirmAfterNs = 1000000000;
// Folders with at least this many messages keep a snapshot of their rows in the index (MailIndex::load).
constexpr std::size_t kSnapshotMinMessages = 1000;

struct Entry {
  std::uint32_t uid = 0;
  std::string base;
  std::string info;      // the file name after the base (":2,FS" or ""), so the name is base + info
  bool in_new = false;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;
  std::uint64_t modseq = 1;
  std::uint32_t system = 0;  // from the file name
  std::string kw;            // keyword letters, from the file name
  std::string filename() const { return base + info; }
  void set_filename(const std::string& fn) {
    info = fn.size() >= base.size() ? fn.substr(base.size()) : std::string();
    auto p = parse_name(fn);
    system = p.system;
    kw = p.keyword_letters;
  }
};

// A message file placed in new/ or cur/ that needs a UID (delivery, copy, move).
struct NewFile {
  std::string base, filename;
  bool in_new = false;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;
  std::uint32_t uid = 0;     // out
  std::uint64_t modseq = 0;  // out
};

// A delivery waiting for the group commit of its folder.
struct PendingAppend {
  NewFile file;
  bool done = false;
  Status status;
  std::condition_variable cv;  // signalled (under Folder::qm) when done, or when it is to lead the next batch
};

// Transparent: a map keyed by std::string looked up with a std::string_view, without a copy.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view v) const noexcept { return std::hash<std::string_view>{}(v); }
};

struct Folder {
  std::string name;  // "INBOX", "Sent", "Lists/tern"
  fs::path path;
  bool loaded = false;
  std::uint32_t uid_validity = 0;
  std::uint32_t uid_next = 1;
  std::string guid;
  std::uint64_t highest_modseq = 1;
  std::vector<Entry> entries;                                 // UID order, files present
  // base -> UID of entries, built when first needed; looked up by string_view (a directory listing's names)
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> by_base;
  bool bases_built = false;
  std::unordered_map<std::string, std::uint32_t> unlocated;   // uidlist records whose file was not seen yet
  std::unordered_map<std::string, std::uint32_t> ghosts;      // uidlist records of files not found (expunged)
  // dovecot-uidlist as last read (inode, bytes consumed, mtime, record lines); ul_known false: never read.
  bool ul_known = false;
  std::uint64_t ul_ino = 0, ul_size = 0, ul_lines = 0;
  std::int64_t ul_mtime = 0;
  // mtimes of new/ and cur/ the entries are known to match; 0: rescan.
  std::int64_t new_mtime = 0, cur_mtime = 0;
  // Bumped (under the user lock) by every change of the entries. messages() and status() keep what they built
  // for one version (and keyword table generation): an IMAP session calls both after every command, and while
  // nothing changed the message list is then copied outside the user lock and the counts are not recounted.
  std::uint64_t version = 1;
  // A directory mtime recorded after our own rename/unlink (instead of listing the directory) cannot show a
  // change another process made in the same clock tick. Such a directory is "unconfirmed": refresh lists it
  // again at most kConfirmAfterNs after it was last listed (Dovecot likewise re-syncs a Maildir directory
  // changed within the last second), and the index records its mtime as unknown.
  bool new_unconfirmed = false, cur_unconfirmed = false;
  std::int64_t new_listed = 0, cur_listed = 0;  // coarse time of the last listing
  std::uint64_t cached_version = 0, cached_keywords = 0;
  std::shared_ptr<const std::vector<MessageInfo>> snapshot;
  std::uint32_t count_messages = 0, count_unseen = 0, count_recent = 0;
  std::uint64_t count_size = 0;
  // Group commit of deliveries: writers queue, one leader commits the batch (one directory fsync, one
  // uidlist append + fsync for all), the others wait for it.
  std::mutex qm;
  std::vector<PendingAppend*> pending;
  bool leader = false;
  // Base names of our own deliveries renamed into new/ or cur/ whose UID the group commit has not assigned
  // yet (guarded by qm). A refresh leaves them alone: were it to give one a UID, an expunge or flag change
  // could reach the file before its delivery is committed, and the delivery would then report another UID.
  std::unordered_set<std::string> inflight;
  bool is_inflight(const std::string& base) {
    std::lock_guard lk(qm);
    return inflight.count(base) > 0;
  }
  // fsyncs of new/ and cur/, shared by the sessions that changed them (flag renames, expunges, deliveries).
  DirSyncer new_sync, cur_sync;
  Status sync_dirs(bool new_dir, bool cur_dir) {
    if (new_dir)
      if (auto s = new_sync.sync(path / "new"); !s) return s;
    if (cur_dir)
      if (auto s = cur_sync.sync(path / "cur"); !s) return s;
    return {};
  }
};

// dovecot-uidlist records appended under the lock whose fdatasync runs after the user lock is released.
struct DeferredSync {
  int fd = -1;
  fs::path path;
  DeferredSync() = default;
  DeferredSync(const DeferredSync&) = delete;
  DeferredSync& operator=(const DeferredSync&) = delete;
  ~DeferredSync() {
    if (fd >= 0) ::close(fd);
  }
  Status run() {
    if (fd < 0) return {};
    int rc = ::fdatasync(fd);
    int e = errno;
    ::close(fd);
    fd = -1;
    if (rc != 0) return fail_errno("fdatasync " + path.string(), e);
    return {};
  }
};

// What one reconciliation or operation changed, for the index and notifications.
struct FolderChanges {
  bool reset = false;                  // UIDVALIDITY changed or the index was empty: rewrite all rows
  std::vector<std::uint32_t> upserts;  // UIDs whose rows changed
  std::vector<std::uint32_t> removed;  // UIDs gone
  bool any() const { return reset || !upserts.empty() || !removed.empty(); }
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
      if (!fs::exists(*folder_path(n))) {
        if (auto s = ensure_maildir(*folder_path(n)); !s) return s;
        subscriptions_add(n);
        created = true;
      }
    }
    if (created) {
      if (auto s = write_subscriptions(); !s) return s;
    }
    if (auto s = load_keywords(); !s) return s;
    index_ = detail::MailIndex::open(root_ / kIndexFile);
    if (!index_) log::warn("store.index_unavailable", {{"user", user_}});
    modseq_floor_ = modseq_reserved_ = read_modseq_reservation();
    return load_quota();
  }

  static constexpr const char* kIndexFile = "tern-index.sqlite";
  // MODSEQs handed out stay below the number in this file, which is written durably ahead of them
  // (kModseqReserve at a time, so one fsync per that many changes). The index commits without fsync
  // (synchronous=NORMAL): after a power loss its last transactions may be gone, and the MODSEQs they
  // held could otherwise be handed out again. Every folder starts above the reservation found at
  // open, so MODSEQs never go backwards (RFC 7162 §3.1.1: they only increase).
  static constexpr const char* kModseqFile = "tern-modseq";
  static constexpr std::uint64_t kModseqReserve = 4096;

  std::uint64_t read_modseq_reservation() {
    std::ifstream in(root_ / kModseqFile);
    std::uint64_t v = 0;
    return in >> v ? v : 0;
  }

  // Raises the durable reservation above `modseq` before a MODSEQ up to it is given out. Several
  // processes may share the user: under an flock of the Maildir, never lower what another wrote.
  void reserve_modseqs(std::uint64_t modseq) {
    if (modseq <= modseq_reserved_) return;
    std::uint64_t want = modseq + kModseqReserve;
    int dir = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) ::flock(dir, LOCK_EX);
    want = std::max(want, read_modseq_reservation());
    if (auto st = write_file_durably(root_ / kModseqFile, std::to_string(want) + "\n"); st) modseq_reserved_ = want;
    else log::warn("store.modseq_reserve_failed", {{"user", user_}, {"error", st.error().message}});
    if (dir >= 0) ::close(dir);  // releases the flock
  }

  Result<std::vector<MailboxInfo>> list() override {
    std::lock_guard lk(m_);
    auto subs = read_subscriptions();
    std::vector<MailboxInfo> out;
    out.push_back({"INBOX", SpecialUse::none, subs.count("INBOX") > 0});
    for (auto& n : list_dir_all(root_)) {
      if (n.size() < 2 || n[0] != '.' || n == ".." || n.rfind(".tern-", 0) == 0) continue;
      if (!fs::is_directory(root_ / n / "cur")) continue;
      auto name = mailbox_from_folder_dir(n);
      if (!name) {
        log::warn("store.folder_name_skipped", {{"user", user_}, {"dir", n}, {"error", name.error().message}});
        continue;
      }
      out.push_back({*name, special_of(*name), subs.count(*name) > 0});
    }
    std::sort(out.begin() + 1, out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
  }

  Status create(std::string_view name, SpecialUse) override {
    std::unique_lock lk(m_);
    if (is_inbox(name)) return fail(ErrorCategory::invalid_argument, "INBOX always exists; it cannot be created");
    auto pr = folder_path(name);
    if (!pr) return fail(pr.error());
    auto p = *pr;
    if (fs::exists(p)) return fail(ErrorCategory::exists, "mailbox exists: " + std::string(name));
    if (auto s = ensure_maildir(p); !s) return s;
    lk.unlock();
    notify({ChangeEvent::Kind::mailbox_list_changed, std::string(name), {}, 0});
    return {};
  }

  Status rename(std::string_view from, std::string_view to) override {
    std::unique_lock lk(m_);
    if (is_inbox(from) || is_inbox(to)) return fail(ErrorCategory::invalid_argument, "INBOX cannot be renamed, nor anything renamed to INBOX");
    auto ar = folder_path(from), br = folder_path(to);
    if (!ar) return fail(ar.error());
    if (!br) return fail(br.error());
    auto a = *ar, b = *br;
    if (!fs::exists(a)) return fail(ErrorCategory::not_found, "no such mailbox: " + std::string(from));
    if (fs::exists(b)) return fail(ErrorCategory::exists, "mailbox exists: " + std::string(to));
    // Children move with their parent (".A.x" -> ".B.x").
    std::string pa = a.filename().string() + ".", pb = b.filename().string() + ".";
    for (auto& n : list_dir_all(root_))
      if (n.rfind(pa, 0) == 0)
        if (::rename((root_ / n).c_str(), (root_ / (pb + n.substr(pa.size()))).c_str()) != 0) return fail_errno("rename " + n);
    if (::rename(a.c_str(), b.c_str()) != 0) return fail_errno("rename " + a.string());
    forget_folders(std::string(from));
    if (index_ && index_->begin()) {
      index_->rename_mailbox(std::string(from), std::string(to));
      (void)index_->commit();
    }
    if (auto s = fsync_path(root_, true); !s) return s;
    lk.unlock();
    notify({ChangeEvent::Kind::mailbox_list_changed, std::string(to), {}, 0});
    return {};
  }

  Status remove(std::string_view name) override {
    std::unique_lock lk(m_);
    if (is_inbox(name)) return fail(ErrorCategory::invalid_argument, "INBOX cannot be deleted");
    auto pr = folder_path(name);
    if (!pr) return fail(pr.error());
    auto p = *pr;
    if (!fs::exists(p)) return fail(ErrorCategory::not_found, "no such mailbox: " + std::string(name));
    // Rename away first so a crash never leaves a half-deleted, still-visible folder.
    fs::path gone = root_ / (".tern-deleted-" + unique_base());
    if (::rename(p.c_str(), gone.c_str()) != 0) return fail_errno("rename " + p.string());
    std::error_code ec;
    fs::remove_all(gone, ec);
    forget_folders(std::string(name));
    if (index_ && index_->begin()) {
      index_->delete_mailbox(std::string(name));
      (void)index_->commit();
    }
    // The subscription stays (RFC 9051 §6.3.7: the server does not remove a name from the subscriptions
    // because its mailbox is gone); IMAP lists it as \NonExistent.
    (void)recalc_quota();
    lk.unlock();
    notify({ChangeEvent::Kind::mailbox_list_changed, std::string(name), {}, 0});
    return {};
  }

  Result<std::vector<std::string>> subscriptions() override {
    std::lock_guard lk(m_);
    auto subs = read_subscriptions();
    return std::vector<std::string>(subs.begin(), subs.end());
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
    auto f = refreshed(mailbox);
    if (!f) return fail(f.error());
    Folder& fo = **f;
    cached_view(fo);
    return status_of(fo);
  }

  // One refresh and one lock for both; the list is the folder's cached one (the same object until it changes).
  Result<MailboxState> state(std::string_view mailbox) override {
    std::lock_guard lk(m_);
    auto f = refreshed(mailbox);
    if (!f) return fail(f.error());
    MailboxState out;
    out.messages = cached_view(**f);
    out.status = status_of(**f);
    return out;
  }

  // The counts are those of the folder's last cached_view().
  static MailboxStatus status_of(const Folder& fo) {
    MailboxStatus st;
    st.uid_validity = fo.uid_validity;
    st.uid_next = fo.uid_next;
    st.highest_modseq = fo.highest_modseq;
    st.messages = fo.count_messages;
    st.unseen = fo.count_unseen;
    st.recent = fo.count_recent;
    st.size = fo.count_size;
    st.mailbox_id = fo.guid;
    return st;
  }

  // The folder's message list and counts as of its current version (rebuilt under m_ when stale).
  const std::shared_ptr<const std::vector<MessageInfo>>& cached_view(Folder& f) {
    if (f.snapshot && f.cached_version == f.version && f.cached_keywords == keywords_gen_) return f.snapshot;
    auto out = std::make_shared<std::vector<MessageInfo>>();
    out->reserve(f.entries.size());
    f.count_messages = f.count_unseen = f.count_recent = 0;
    f.count_size = 0;
    for (auto& e : f.entries) {
      out->push_back(make_info(e));
      ++f.count_messages;
      if (!(e.system & flag_seen)) ++f.count_unseen;
      if (e.in_new) ++f.count_recent;
      f.count_size += e.size;
    }
    f.snapshot = std::move(out);
    f.cached_version = f.version;
    f.cached_keywords = keywords_gen_;
    return f.snapshot;
  }

  class Stream final : public AppendStream {
   public:
    Stream(std::shared_ptr<MaildirUser> u, std::shared_ptr<Folder> f, AppendRequest r, fs::path tmp, int fd)
        : u_(std::move(u)), f_(std::move(f)), req_(std::move(r)), tmp_(std::move(tmp)), fd_(fd) {}
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
      auto r = u_->finish_append(f_, req_, tmp_, size_);
      tmp_.clear();
      return r;
    }
    void abort() override {
      if (fd_ >= 0) ::close(fd_), fd_ = -1;
      if (!tmp_.empty()) ::unlink(tmp_.c_str()), tmp_.clear();
    }

   private:
    std::shared_ptr<MaildirUser> u_;
    std::shared_ptr<Folder> f_;
    AppendRequest req_;
    fs::path tmp_;
    int fd_;
    std::uint64_t size_ = 0;
  };

  Result<std::unique_ptr<AppendStream>> append(std::string_view mailbox, AppendRequest r) override {
    std::shared_ptr<Folder> f;
    {
      std::lock_guard lk(m_);
      auto fr = folder(mailbox);
      if (!fr) return fail(fr.error());
      f = *fr;
    }
    fs::path tmp = f->path / "tmp" / unique_base();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno("create " + tmp.string());
    return std::unique_ptr<AppendStream>(new Stream(shared_from_this(), std::move(f), std::move(r), tmp, fd));
  }

  Result<std::uint32_t> finish_append(const std::shared_ptr<Folder>& fp, const AppendRequest& req, const fs::path& tmp, std::uint64_t size) {
    Folder& f = *fp;
    // RFC 3463 5.2.2: mailbox full (permanent).
    if (!req.bypass_quota) {
      std::lock_guard lk(quota_m_);
      if ((limits_.bytes && usage_bytes_ + size > limits_.bytes) || (limits_.messages && usage_msgs_ + 1 > limits_.messages)) {
        ::unlink(tmp.c_str());
        return fail(ErrorCategory::limit, "5.2.2 Mailbox full: " + user_ + " is over quota", 552);
      }
    }
    std::int64_t when = req.internal_date ? req.internal_date : static_cast<std::int64_t>(std::time(nullptr));
    timeval tv[2] = {{static_cast<time_t>(when), 0}, {static_cast<time_t>(when), 0}};
    ::utimes(tmp.c_str(), tv);
    PendingAppend p;
    p.file.base = tmp.filename().string() + ",S=" + std::to_string(size);
    p.file.in_new = req.flags.system == 0 && req.flags.keywords.empty();
    p.file.size = size;
    p.file.internal_date = when;
    if (p.file.in_new) {
      p.file.filename = p.file.base;
    } else {
      std::lock_guard lk(m_);
      p.file.filename = p.file.base + ":2," + maildir_flag_letters(req.flags.system, keyword_indexes(req.flags.keywords, true));
      if (auto s = save_keywords(); !s) {
        ::unlink(tmp.c_str());
        return fail(s.error());
      }
    }
    fs::path dir = f.path / (p.file.in_new ? "new" : "cur");
    fs::path target = dir / p.file.filename;
    {
      // The rename under the user lock, so that a folder in step with the directory stays in step: our own
      // delivery moves the directory's mtime, and without this every APPEND made the next command of every
      // session list that directory again (10,000 files in an IMAP stress run). The file itself is in flight
      // (no refresh gives it a UID) until its batch commits.
      std::lock_guard lk(m_);
      std::int64_t& known = p.file.in_new ? f.new_mtime : f.cur_mtime;
      struct stat before {};
      bool current = known != 0 && ::stat(dir.c_str(), &before) == 0 && mtime_ns(before) == known;
      {
        std::lock_guard q(f.qm);
        f.inflight.insert(p.file.base);
      }
      if (::rename(tmp.c_str(), target.c_str()) != 0) {
        Status err = fail_errno("rename into " + target.string());
        std::lock_guard q(f.qm);
        f.inflight.erase(p.file.base);
        return fail(err.error());
      }
      struct stat after {};
      if (current && ::stat(dir.c_str(), &after) == 0) {
        known = mtime_ns(after);
        (p.file.in_new ? f.new_unconfirmed : f.cur_unconfirmed) = true;
      }
    }
    if (auto s = group_commit(f, p); !s) return fail(s.error());
    std::uint32_t uid = p.file.uid;
    bool warn80 = false, warn95 = false;
    {
      std::lock_guard lk(quota_m_);
      std::uint64_t before = usage_bytes_;
      usage_bytes_ += size;
      usage_msgs_ += 1;
      (void)append_maildirsize(static_cast<std::int64_t>(size), 1);
      if (limits_.bytes && !req.bypass_quota) {
        warn80 = before * 100 < limits_.bytes * 80 && usage_bytes_ * 100 >= limits_.bytes * 80;
        warn95 = before * 100 < limits_.bytes * 95 && usage_bytes_ * 100 >= limits_.bytes * 95;
      }
    }
    notify({ChangeEvent::Kind::message_added, f.name, {uid}, p.file.modseq});
    if (warn80 || warn95) quota_warning(warn95 ? 95 : 80);
    return uid;
  }

  // Group commit: the first writer to find no commit running becomes the leader and commits every queued
  // delivery at once (one uidlist append, one index transaction, then one uidlist fdatasync and one directory
  // fsync); writers that arrive meanwhile wait for the next batch. Returns once `p` is durable with its UID.
  // Each writer waits on its own condition variable: a finished batch wakes its members and the first writer
  // queued meanwhile (the next leader) only, not every waiter (with 50 writers that herd cost more CPU than the
  // commit).
  Status group_commit(Folder& f, PendingAppend& p) {
    std::unique_lock q(f.qm);
    f.pending.push_back(&p);
    while (!p.done && f.leader) p.cv.wait(q);
    if (p.done) return p.status;
    f.leader = true;
    std::vector<PendingAppend*> batch;
    batch.swap(f.pending);  // p and everyone who queued while the previous batch committed
    q.unlock();
    Status st = commit_batch(f, batch);
    q.lock();
    for (auto* b : batch) {
      b->status = st;
      b->done = true;
      if (b != &p) b->cv.notify_one();  // the waiter cannot return (and destroy b) before q is released
    }
    f.leader = false;
    if (!f.pending.empty()) f.pending.front()->cv.notify_one();
    return p.status;
  }

  Status commit_batch(Folder& f, std::vector<PendingAppend*>& batch) {
    bool any_new = false, any_cur = false;
    for (auto* b : batch) (b->file.in_new ? any_new : any_cur) = true;
    std::vector<NewFile> files;
    files.reserve(batch.size());
    for (auto* b : batch) files.push_back(b->file);
    DeferredSync ul;
    {
      // Under the user lock only the UID assignment: uidlist append (no fdatasync yet) and index rows.
      std::lock_guard lk(m_);
      Status assigned = assign_uids(f, files, &ul);
      {
        std::lock_guard q(f.qm);
        for (auto& nf : files) f.inflight.erase(nf.base);
      }
      if (!assigned) {
        f.new_mtime = f.cur_mtime = 0;  // the files are there without UIDs: the next refresh lists them
        return assigned;
      }
    }
    // Durability, without the user lock (other sessions of the user go on; the next batch queues up meanwhile):
    // the uidlist records and the renames (one directory fsync for the whole batch). The two are independent, so
    // the uidlist's fdatasync runs on a helper thread while this one fsyncs the directory: the batch waits for
    // one device flush instead of two in a row (APPEND under an imaptest stress run spent most of its time
    // there). A crash before both complete leaves a uidlist record without its file, which readers ignore, or a
    // file without its record, which the next refresh gives a UID, as a delivery by another MDA; nothing was
    // acknowledged.
    Status ul_status;
    std::thread ul_thread;
    if (ul.fd >= 0) {
      try {
        ul_thread = std::thread([&ul, &ul_status] { ul_status = ul.run(); });
      } catch (const std::system_error&) {
        ul_status = ul.run();  // no thread to be had: one after the other
      }
    }
    Status dir_status = f.sync_dirs(any_new, any_cur);
    if (ul_thread.joinable()) ul_thread.join();
    if (!ul_status) return ul_status;
    if (!dir_status) return dir_status;
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->file = files[i];
    return {};
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
    std::shared_ptr<const std::vector<MessageInfo>> view;
    {
      std::lock_guard lk(m_);
      auto f = refreshed(mailbox);
      if (!f) return fail(f.error());
      view = cached_view(**f);
    }
    return *view;  // the copy is made without the user lock
  }

  Result<MessageInfo> info(std::string_view mailbox, std::uint32_t uid) override {
    std::lock_guard lk(m_);
    auto f = refreshed(mailbox);
    if (!f) return fail(f.error());
    auto e = find(**f, uid);
    if (!e) return fail(ErrorCategory::not_found, "no message with UID " + std::to_string(uid));
    return make_info(*e);
  }

  Result<std::string> fetch(std::string_view mailbox, std::uint32_t uid) override {
    fs::path failed;  // the file name that could not be read on the previous attempt
    for (int attempt = 0; attempt < 3; ++attempt) {
      fs::path p;
      {
        std::lock_guard lk(m_);
        auto f = folder(mailbox);
        if (!f) return fail(f.error());
        if (attempt || !(*f)->loaded)
          if (auto s = refresh(**f, nullptr, false); !s) return fail(s.error());
        auto e = find(**f, uid);
        auto path_of = [&](const Entry& en) { return (*f)->path / (en.in_new ? "new" : "cur") / en.filename(); };
        // The name that just failed is still what the folder knows: another process renamed the file in the
        // clock tick of our last listing (the mtimes did not tell). List the directories.
        if (e && attempt && path_of(*e) == failed) {
          if (auto s = refresh(**f, nullptr, true); !s) return fail(s.error());
          e = find(**f, uid);
        }
        // Entries only go when their file is gone, so a UID the folder does not know is expunged: no listing
        // can bring it back (under an IMAP stress run FETCH asks for such UIDs all the time, and a forced
        // listing of a 10,000-file cur/ for each cost more than the rest of the FETCH).
        if (!e) return fail(ErrorCategory::not_found, "no message with UID " + std::to_string(uid));
        p = path_of(*e);
      }
      if (auto s = read_file(p)) return *s;  // renamed or expunged by another session or process: look again
      failed = std::move(p);
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

  std::vector<std::optional<std::string>> cached(std::string_view mailbox, const std::vector<std::uint32_t>& uids,
                                                 std::string_view field) override {
    std::vector<std::optional<std::string>> out(uids.size());
    std::lock_guard lk(m_);
    if (!index_) return out;
    auto f = folder(mailbox);
    if (!f) return out;
    if (!(*f)->loaded && !refresh(**f, nullptr, false)) return out;
    std::vector<std::uint32_t> present(uids.size(), 0);  // rows of expunged UIDs are gone: ask for none
    for (std::size_t i = 0; i < uids.size(); ++i)
      if (find(**f, uids[i])) present[i] = uids[i];
    index_->cached((*f)->name, present, field, out);
    return out;
  }

  void cache(std::string_view mailbox, std::string_view field, const std::vector<CacheEntry>& entries) override {
    std::lock_guard lk(m_);
    if (!index_ || entries.empty()) return;
    auto f = folder(mailbox);
    if (!f) return;
    if (!(*f)->loaded && !refresh(**f, nullptr, false)) return;
    // A cache: no fsync of its own (WAL, synchronous=NORMAL) and a failed write only costs a re-read.
    if (!index_->begin()) return;
    for (const auto& e : entries)
      if (find(**f, e.uid)) index_->put_cached((*f)->name, e.uid, field, e.value);
    (void)index_->commit();
  }

  Result<FlagChangeResult> change_flags(std::string_view mailbox, const std::vector<std::uint32_t>& uids, const FlagChange& ch) override {
    FlagChangeResult res;
    std::uint64_t modseq = 0;
    std::string name;
    std::shared_ptr<Folder> held;
    bool touched_cur = false, touched_new = false;
    {
      std::lock_guard lk(m_);
      auto f = refreshed_shared(mailbox);
      if (!f) return fail(f.error());
      held = *f;
      Folder& fo = **f;
      name = fo.name;
      auto kw = keyword_indexes(ch.flags.keywords, ch.mode != FlagChange::Mode::remove);
      if (ch.mode != FlagChange::Mode::remove)
        if (auto s = save_keywords(); !s) return fail(s.error());
      FolderChanges changes;
      // Our own renames change the directories' mtimes; when they were up to date before, remember the
      // new ones so the next refresh does not rescan a directory only we changed (every STORE made
      // every other session's next command list cur/ again).
      struct stat before_cur {}, before_new {};
      bool cur_current = ::stat((fo.path / "cur").c_str(), &before_cur) == 0 && mtime_ns(before_cur) == fo.cur_mtime;
      bool new_current = ::stat((fo.path / "new").c_str(), &before_new) == 0 && mtime_ns(before_new) == fo.new_mtime;
      for (auto uid : uids) {
        auto e = find(fo, uid);
        if (!e) continue;
        if (ch.unchanged_since && e->modseq > *ch.unchanged_since) {
          res.modified.push_back(uid);
          continue;
        }
        std::uint32_t sys = e->system;
        std::set<char> letters(e->kw.begin(), e->kw.end());
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
        if (nn == e->filename() && !e->in_new) continue;
        fs::path from = fo.path / (e->in_new ? "new" : "cur") / e->filename(), to = fo.path / "cur" / nn;
        if (::rename(from.c_str(), to.c_str()) != 0) {
          if (errno == ENOENT) continue;  // expunged meanwhile
          return fail_errno("rename " + from.string());
        }
        touched_new |= e->in_new;
        ++fo.version;
        e->set_filename(nn);
        e->in_new = false;
        touched_cur = true;
        if (!modseq) modseq = ++fo.highest_modseq;
        e->modseq = modseq;
        changes.upserts.push_back(uid);
        res.changed.push_back(make_info(*e));
      }
      struct stat after {};
      if (touched_cur && cur_current && ::stat((fo.path / "cur").c_str(), &after) == 0) fo.cur_mtime = mtime_ns(after), fo.cur_unconfirmed = true;
      if (touched_new && new_current && ::stat((fo.path / "new").c_str(), &after) == 0) fo.new_mtime = mtime_ns(after), fo.new_unconfirmed = true;
      persist(fo, changes);
    }
    // The renames are durable before STORE answers; the directory fsyncs run without the user lock and are
    // shared with other sessions' renames in the same directories.
    if (auto s = held->sync_dirs(touched_new, touched_cur); !s) return fail(s.error());
    if (!res.changed.empty()) {
      std::vector<std::uint32_t> u;
      for (auto& i : res.changed) u.push_back(i.uid);
      notify({ChangeEvent::Kind::flags_changed, name, u, modseq});
    }
    return res;
  }

  Result<ExpungeResult> expunge(std::string_view mailbox, const std::vector<std::uint32_t>& uids) override {
    ExpungeResult res;
    std::string name;
    std::shared_ptr<Folder> held;
    bool touched_new = false, touched_cur = false;
    {
      std::lock_guard lk(m_);
      auto f = refreshed_shared(mailbox);
      if (!f) return fail(f.error());
      held = *f;
      Folder& fo = **f;
      name = fo.name;
      // As in change_flags: our own unlinks move the directories' mtimes; when the folder was in step before,
      // it is in step after, so other sessions do not list cur/ again after every EXPUNGE.
      struct stat before_cur {}, before_new {};
      bool cur_current = ::stat((fo.path / "cur").c_str(), &before_cur) == 0 && mtime_ns(before_cur) == fo.cur_mtime;
      bool new_current = ::stat((fo.path / "new").c_str(), &before_new) == 0 && mtime_ns(before_new) == fo.new_mtime;
      std::set<std::uint32_t> want(uids.begin(), uids.end());
      std::int64_t freed = 0;
      std::set<std::uint32_t> gone;
      Status failure;
      for (auto& e : fo.entries) {
        if (uids.empty() ? !(e.system & flag_deleted) : !want.count(e.uid)) continue;
        fs::path p = fo.path / (e.in_new ? "new" : "cur") / e.filename();
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
          failure = fail_errno("unlink " + p.string());
          break;
        }
        (e.in_new ? touched_new : touched_cur) = true;
        gone.insert(e.uid);
        res.uids.push_back(e.uid);
        freed += static_cast<std::int64_t>(e.size);
      }
      if (!res.uids.empty()) {
        struct stat after {};
        if (touched_cur && cur_current && ::stat((fo.path / "cur").c_str(), &after) == 0) fo.cur_mtime = mtime_ns(after), fo.cur_unconfirmed = true;
        if (touched_new && new_current && ::stat((fo.path / "new").c_str(), &after) == 0) fo.new_mtime = mtime_ns(after), fo.new_unconfirmed = true;
        res.modseq = ++fo.highest_modseq;
        FolderChanges changes;
        changes.removed = res.uids;
        drop_entries(fo, gone);
        persist(fo, changes);
        (void)maybe_compress_uidlist(fo);
        {
          std::lock_guard q(quota_m_);
          usage_bytes_ -= std::min<std::uint64_t>(usage_bytes_, static_cast<std::uint64_t>(freed));
          usage_msgs_ -= std::min<std::uint64_t>(usage_msgs_, res.uids.size());
          (void)append_maildirsize(-freed, -static_cast<std::int64_t>(res.uids.size()));
        }
      }
      if (res.uids.empty()) {
        if (!failure) return fail(failure.error());
        return res;
      }
    }
    // An acknowledged expunge never comes back: the unlinks are durable before returning (fsyncs shared, out of
    // the user lock).
    if (auto s = held->sync_dirs(touched_new, touched_cur); !s) return fail(s.error());
    notify({ChangeEvent::Kind::expunged, name, res.uids, res.modseq});
    return res;
  }

  Result<CopyResult> copy(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to) override {
    return transfer(from, uids, to, false);
  }
  Result<CopyResult> move(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to) override {
    return transfer(from, uids, to, true);
  }

  Result<QuotaUsage> quota() override {
    std::lock_guard lk(quota_m_);
    return QuotaUsage{usage_bytes_, usage_msgs_, limits_};
  }
  void set_quota(QuotaLimits l) override {
    std::lock_guard lk(quota_m_);
    if (l.bytes == limits_.bytes && l.messages == limits_.messages) return;
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
    std::uint64_t id;
    {
      std::lock_guard lk(subs_m_);
      id = ++next_sub_;
      subs_[id] = std::make_shared<ChangeCallback>(std::move(cb));
    }
    update_watches();
    return std::make_unique<Sub>(weak_from_this(), id);
  }
  void unsubscribe(std::uint64_t id) {
    {
      std::lock_guard lk(subs_m_);
      subs_.erase(id);
    }
    update_watches();
  }

  // While anyone listens, the Maildir's directories are watched (MaildirWatcher) so that changes made
  // by other programs are announced too: the root for folders coming and going, new/ and cur/ of each
  // folder for messages.
  void update_watches(bool rewatch = false) {
    std::lock_guard wl(watch_m_);
    bool want;
    {
      std::lock_guard lk(subs_m_);
      want = !subs_.empty();
    }
    if (!want || rewatch) watches_.clear();
    if (!want || !watches_.empty()) return;
    auto watcher = detail::MaildirWatcher::shared();
    std::weak_ptr<MaildirUser> self = weak_from_this();
    auto add = [&](const fs::path& dir, std::string folder) {
      bool root = folder.empty();  // INBOX's files live there too: only folder directories matter
      if (auto t = watcher->watch(
              dir, [self, folder] {
                if (auto u = self.lock()) u->changed_elsewhere(folder);
              },
              root))
        watches_.push_back(std::move(t));
    };
    add(root_, std::string());
    auto boxes = list();
    if (!boxes) return;
    for (const auto& b : *boxes) {
      auto dir = folder_path(b.name);
      if (!dir) continue;
      add(*dir / "new", b.name);
      add(*dir / "cur", b.name);
    }
  }

  // A watched directory changed: bring the folder up to date and announce what another program did. Our
  // own changes were announced when made and left nothing for refresh() to find.
  void changed_elsewhere(const std::string& box) {
    if (box.empty()) {  // the root: a folder may have been created, renamed or deleted
      update_watches(true);
      notify({ChangeEvent::Kind::mailbox_list_changed, {}, {}, 0});
      return;
    }
    std::uint64_t before = 0, after = 0;
    std::string name;
    {
      std::lock_guard lk(m_);
      auto f = folder(box);
      if (!f || !(*f)->loaded) return;  // nobody has read it yet: nothing to announce
      before = (*f)->highest_modseq;
      if (!refresh(**f)) return;
      after = (*f)->highest_modseq;
      name = (*f)->name;
    }
    if (after != before) notify({ChangeEvent::Kind::message_added, name, {}, after});
  }

  // Rebuilds every mailbox's index rows from the Maildir (uidlist re-read, new/ and cur/ listed, every file
  // stat-ed again), keeping each message's MODSEQ when its file is the same, and recalculates the quota.
  Status reindex_all() {
    auto l = list();
    if (!l) return fail(l.error());
    std::lock_guard lk(m_);
    for (auto& mb : *l) {
      auto fr = folder(mb.name);
      if (!fr) return fail(fr.error());
      Folder& f = **fr;
      load(f);
      std::unordered_map<std::string, std::pair<std::uint32_t, std::uint64_t>> kept;  // base -> (uid, modseq)
      for (auto& e : f.entries) kept[e.base] = {e.uid, e.modseq};
      auto highest = f.highest_modseq;
      ++f.version;
      f.entries.clear();
      f.by_base.clear();
      f.bases_built = true;
      f.unlocated.clear();
      f.ghosts.clear();
      f.ul_known = false;
      f.new_mtime = f.cur_mtime = 0;
      if (auto s = refresh(f); !s) return s;
      FolderChanges ch;
      ch.reset = true;
      ++f.version;
      for (auto& e : f.entries)
        if (auto it = kept.find(e.base); it != kept.end() && it->second.first == e.uid) e.modseq = it->second.second;
      f.highest_modseq = std::max(f.highest_modseq, highest);
      persist(f, ch);
    }
    return recalc_quota();
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
  // Dovecot's Maildir++ layout: INBOX is the root, "A/B" is ".A.B" with each level in modified UTF-7.
  Result<fs::path> folder_path(std::string_view name) const {
    if (is_inbox(name)) return root_;
    auto dir = maildir_folder_dir(name);
    if (!dir) return fail(dir.error());
    return root_ / *dir;
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
    // Already there (every open but the first): nothing to create, nothing to fsync.
    struct stat st {};
    if (::stat((p / "tmp").c_str(), &st) == 0 && ::stat((p / "new").c_str(), &st) == 0 &&
        ::stat((p / "cur").c_str(), &st) == 0 && (p == root_ || ::stat((p / "maildirfolder").c_str(), &st) == 0))
      return {};
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
  void forget_folders(const std::string& name) {
    for (auto it = folders_.begin(); it != folders_.end();)
      if (it->first == name || it->first.rfind(name + "/", 0) == 0) it = folders_.erase(it);
      else ++it;
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
          if (keywords_[i].empty()) { keywords_[i] = k; found = i; keywords_dirty_ = true; ++keywords_gen_; break; }
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

  // ---- maildirsize (Maildir++ quota; guarded by quota_m_) ---------------------------------
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
    struct stat st {};
    bool big = ::fstat(fd, &st) == 0 && st.st_size > 5120;
    ::close(fd);
    // Maildir++: past 5120 bytes the file is rewritten with the totals.
    if (n != static_cast<ssize_t>(line.size()) || big) return write_maildirsize();
    return {};
  }
  // Reads the usage from maildirsize (sum of its lines); recalculates from the files when it is missing,
  // malformed or over 5120 bytes (Maildir++ rule).
  Status load_quota() {
    std::lock_guard lk(quota_m_);
    auto s = read_file(root_ / "maildirsize");
    if (s && s->size() <= 5120) {
      std::istringstream in(*s);
      std::string line;
      std::int64_t bytes = 0, count = 0;
      bool ok = static_cast<bool>(std::getline(in, line));
      while (ok && std::getline(in, line)) {
        if (line.empty()) continue;
        std::istringstream l(line);
        std::int64_t b = 0, c = 0;
        if (!(l >> b >> c)) ok = false;
        bytes += b, count += c;
      }
      if (ok && bytes >= 0 && count >= 0) {
        usage_bytes_ = static_cast<std::uint64_t>(bytes);
        usage_msgs_ = static_cast<std::uint64_t>(count);
        return {};
      }
    }
    return recalc_quota_locked();
  }
  Status recalc_quota() {
    std::lock_guard lk(quota_m_);
    return recalc_quota_locked();
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

  // ---- folders, dovecot-uidlist and the index (all under m_) --------------------------------
  Result<std::shared_ptr<Folder>> folder(std::string_view name) {
    std::string key = is_inbox(name) ? "INBOX" : std::string(name);
    auto it = folders_.find(key);
    if (it != folders_.end()) return it->second;
    auto pr = folder_path(name);
    if (!pr) return fail(pr.error());
    fs::path p = *pr;
    if (!fs::is_directory(p / "cur")) {
      if (special_of(key) == SpecialUse::none) return fail(ErrorCategory::not_found, "no such mailbox: " + key);
      if (auto s = ensure_maildir(p); !s) return fail(s.error());
    }
    auto f = std::make_shared<Folder>();
    f->name = key;
    f->path = p;
    folders_[key] = f;
    return f;
  }

  Result<std::shared_ptr<Folder>> refreshed_shared(std::string_view name) {
    auto f = folder(name);
    if (!f) return fail(f.error());
    if (auto s = refresh(**f); !s) return fail(s.error());
    return *f;
  }

  Result<Folder*> refreshed(std::string_view name) {
    auto f = folder(name);
    if (!f) return fail(f.error());
    if (auto s = refresh(**f); !s) return fail(s.error());
    return f->get();
  }

  MessageInfo make_info(const Entry& e) const {
    MessageInfo mi;
    mi.uid = e.uid;
    mi.flags.system = e.system;
    for (char c : e.kw)
      if (c >= 'a' && c <= 'z' && !keywords_[c - 'a'].empty()) mi.flags.keywords.push_back(keywords_[c - 'a']);
    std::sort(mi.flags.keywords.begin(), mi.flags.keywords.end());
    mi.modseq = e.modseq;
    mi.size = e.size;
    mi.internal_date = e.internal_date;
    mi.save_date = maildir_save_date(e.base);
    return mi;
  }

  static Entry* find(Folder& f, std::uint32_t uid) {
    auto it = std::lower_bound(f.entries.begin(), f.entries.end(), uid, [](const Entry& e, std::uint32_t u) { return e.uid < u; });
    return it != f.entries.end() && it->uid == uid ? &*it : nullptr;
  }

  static void drop_entries(Folder& f, const std::set<std::uint32_t>& gone) {
    if (gone.empty()) return;
    ++f.version;
    std::erase_if(f.entries, [&](const Entry& e) {
      if (!gone.count(e.uid)) return false;
      if (f.bases_built) f.by_base.erase(e.base);
      return true;
    });
  }

  static void ensure_bases(Folder& f) {
    if (f.bases_built) return;
    f.by_base.reserve(f.entries.size() + 64);
    for (auto& e : f.entries) f.by_base.emplace(e.base, e.uid);
    f.bases_built = true;
  }

  static void add_entry(Folder& f, Entry e) {
    ++f.version;
    if (f.bases_built) f.by_base[e.base] = e.uid;
    if (f.entries.empty() || f.entries.back().uid < e.uid) {
      f.entries.push_back(std::move(e));
      return;
    }
    auto it = std::lower_bound(f.entries.begin(), f.entries.end(), e.uid, [](const Entry& x, std::uint32_t u) { return x.uid < u; });
    if (it != f.entries.end() && it->uid == e.uid) *it = std::move(e);
    else f.entries.insert(it, std::move(e));
  }

  // Loads the folder from the index once (the index may be missing or stale: refresh() reconciles).
  void load(Folder& f) {
    if (f.loaded) return;
    f.loaded = true;
    f.highest_modseq = std::max(f.highest_modseq, modseq_floor_);
    if (!index_) return;
    detail::IndexedMailbox ib;
    std::vector<Entry> entries;
    // The mailbox row and the messages in one read; big folders from their snapshot (MailIndex::load).
    bool ok = index_->load(f.name, ib, [&](const detail::MailIndex::MessageRow& r) {
      if (entries.empty())
        // One allocation of the right size (the uidlist's record count bounds the rows): growing a vector of
        // 100k entries by doubling faulted in twice the memory and moved every entry ~17 times.
        entries.reserve(static_cast<std::size_t>(std::clamp<std::uint64_t>(ib.ul_lines + 16, 1024, kUidlistMaxRecords)));
      Entry& e = entries.emplace_back();
      e.uid = r.uid;
      e.base.assign(r.base);
      e.info.assign(r.info);
      e.in_new = r.in_new;
      e.size = r.size;
      e.internal_date = r.internal_date;
      e.modseq = r.modseq;
      e.system = r.system_flags;
      e.kw.assign(r.keyword_letters);
    }, kSnapshotMinMessages);
    auto* mb = &ib;
    if (!ok) return;
    ++f.version;
    f.entries = std::move(entries);
    f.uid_validity = mb->uid_validity;
    f.uid_next = mb->uid_next;
    f.guid = mb->guid;
    f.highest_modseq = std::max<std::uint64_t>({mb->highest_modseq, 1, modseq_floor_});
    f.ul_known = mb->ul_ino != 0;
    f.ul_ino = mb->ul_ino;
    f.ul_size = mb->ul_size;
    f.ul_mtime = mb->ul_mtime;
    f.ul_lines = mb->ul_lines;
    f.new_mtime = mb->new_mtime;
    f.cur_mtime = mb->cur_mtime;
  }

  // Writes what changed into the index, in one transaction. An index failure is logged, never fatal: the
  // recorded uidlist/directory state is then cleared so the next open reconciles from the Maildir.
  void persist(Folder& f, const FolderChanges& ch) {
    if (!index_) return;
    reserve_modseqs(f.highest_modseq);
    if (!index_->begin()) return;
    if (ch.reset) index_->delete_messages(f.name);
    for (auto uid : ch.removed) index_->delete_message(f.name, uid);
    auto put = [&](const Entry& e) {
      detail::IndexedMessage m;
      m.uid = e.uid;
      m.base = e.base;
      m.info = e.info;
      m.in_new = e.in_new;
      m.size = e.size;
      m.internal_date = e.internal_date;
      m.modseq = e.modseq;
      m.system_flags = e.system;
      m.keyword_letters = e.kw;
      index_->put_message(f.name, m);
    };
    if (ch.reset) {
      for (auto& e : f.entries) put(e);
    } else {
      for (auto uid : ch.upserts)
        if (auto* e = find(f, uid)) put(*e);
    }
    detail::IndexedMailbox mb;
    mb.uid_validity = f.uid_validity;
    mb.uid_next = f.uid_next;
    mb.highest_modseq = f.highest_modseq;
    mb.guid = f.guid;
    mb.ul_ino = f.ul_known ? f.ul_ino : 0;
    mb.ul_size = f.ul_size;
    mb.ul_mtime = f.ul_mtime;
    mb.ul_lines = f.ul_lines;
    mb.new_mtime = f.new_mtime;
    mb.cur_mtime = f.cur_mtime;
    {
      // Files of deliveries still in flight are not in the rows: the next process must list the directories.
      std::lock_guard q(f.qm);
      if (!f.inflight.empty()) mb.new_mtime = mb.cur_mtime = 0;
    }
    if (f.new_unconfirmed) mb.new_mtime = 0;
    if (f.cur_unconfirmed) mb.cur_mtime = 0;
    index_->put_mailbox(f.name, mb);
    if (!index_->commit()) log::warn("store.index_write_failed", {{"user", user_}, {"mailbox", f.name}});
  }

  // Reads what dovecot-uidlist holds beyond what the folder knows (appended records, or the whole file if it
  // was replaced). The dotlock is held. Records whose file is not known yet go to f.unlocated.
  // Sets `rewrite` when the file must be (re)created: missing, unreadable or out of order.
  Status read_uidlist(Folder& f, FolderChanges& ch, bool& rewrite) {
    fs::path ul = f.path / "dovecot-uidlist";
    int fd = ::open(ul.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT) return fail_errno("open " + ul.string());
      // No uidlist: a new mailbox, or deleted by someone. Known UIDs are kept and written back.
      if (!f.uid_validity) {
        f.uid_validity = fresh_uid_validity();
        ch.reset = true;
      }
      rewrite = true;
      f.ul_known = false;
      return {};
    }
    struct stat st {};
    ::fstat(fd, &st);
    auto size = static_cast<std::uint64_t>(st.st_size);
    bool incremental = f.ul_known && f.ul_ino == static_cast<std::uint64_t>(st.st_ino) && size >= f.ul_size && f.uid_validity;
    std::uint64_t from = incremental ? f.ul_size : 0;
    std::string text(size - from, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(from + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    text.resize(got);
    UidlistParse p;
    if (incremental) {
      parse_uidlist_records(text, 3, p);
      if (!p.ordered || (!p.records.empty() && !f.entries.empty() && p.records.front().uid <= f.entries.back().uid)) rewrite = true;
    } else {
      auto full = parse_uidlist(text);
      if (!full) {
        log::warn("store.uidlist_damaged", {{"path", ul.string()}, {"error", full.error().message}});
        if (!f.uid_validity) f.uid_validity = fresh_uid_validity(), ch.reset = true;
        rewrite = true;
        f.ul_known = false;
        return {};
      }
      p = std::move(*full);
      if (!p.ordered || p.header.version != 3 || p.header.guid.empty()) rewrite = true;
      if (p.header.uid_validity == 0) p.header.uid_validity = fresh_uid_validity(), rewrite = true;
      if (f.uid_validity != p.header.uid_validity) {
        // A new UIDVALIDITY: every UID the folder knew is void.
        ++f.version;
        f.entries.clear();
        f.by_base.clear();
        f.unlocated.clear();
        f.uid_next = 1;
        ch.reset = true;
      } else {
        // The file was replaced (Dovecot rewrote it): entries it no longer lists are gone.
        std::unordered_map<std::string, std::uint32_t> listed;
        listed.reserve(p.records.size());
        for (auto& r : p.records) listed.emplace(r.base, r.uid);
        std::set<std::uint32_t> gone;
        for (auto& e : f.entries) {
          auto it = listed.find(e.base);
          if (it == listed.end() || it->second != e.uid) gone.insert(e.uid);
        }
        for (auto u : gone) ch.removed.push_back(u);
        drop_entries(f, gone);
        f.unlocated.clear();
        f.ghosts.clear();
      }
      f.uid_validity = p.header.uid_validity;
      f.guid = p.header.guid;
      f.uid_next = std::max(f.uid_next, p.header.next_uid);
      f.ul_lines = 0;
    }
    if (!p.records.empty()) ensure_bases(f);
    for (auto& r : p.records) {
      auto it = f.by_base.find(r.base);
      if (it != f.by_base.end() && it->second == r.uid) continue;
      f.unlocated[r.base] = r.uid;
    }
    f.uid_next = std::max(f.uid_next, p.max_uid + 1);
    f.ul_known = true;
    f.ul_ino = static_cast<std::uint64_t>(st.st_ino);
    f.ul_size = from + p.consumed;
    f.ul_mtime = mtime_ns(st);
    f.ul_lines += p.records.size() + p.skipped;
    return {};
  }

  // Writes the uidlist: appends `lines` to it (Dovecot's way), or recreates it whole from the entries when
  // `rewrite` (through the dotlock file, renamed over it, which releases the lock).
  // With `deferred`, appended records are written but not fdatasynced: the open descriptor is handed over.
  Status write_uidlist(Folder& f, DotLock& lock, const std::vector<UidlistRecord>& lines, bool rewrite,
                       DeferredSync* deferred = nullptr) {
    fs::path ul = f.path / "dovecot-uidlist";
    if (!rewrite && f.ul_known) {
      if (lines.empty()) return {};
      std::string out;
      for (auto& r : lines) out += format_uidlist_record(r);
      int fd = ::open(ul.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (fd >= 0) {
        std::size_t off = 0;
        bool ok = true;
        while (off < out.size()) {
          ssize_t n = ::write(fd, out.data() + off, out.size() - off);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) { ok = false; break; }
          off += static_cast<std::size_t>(n);
        }
        struct stat st {};
        if (ok && (deferred || ::fdatasync(fd) == 0) && ::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_ino) == f.ul_ino &&
            static_cast<std::uint64_t>(st.st_size) == f.ul_size + out.size()) {
          if (deferred) {
            if (deferred->fd >= 0) ::close(deferred->fd);
            deferred->fd = fd;
            deferred->path = ul;
          } else {
            ::close(fd);
          }
          f.ul_size = static_cast<std::uint64_t>(st.st_size);
          f.ul_mtime = mtime_ns(st);
          f.ul_lines += lines.size();
          return {};
        }
        ::close(fd);
        log::warn("store.uidlist_append_failed", {{"path", ul.string()}});
      }
      // Fall through: recreate the whole file.
    }
    if (f.guid.empty()) {
      char buf[33];
      std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", f.uid_validity, static_cast<unsigned>(::getpid()), static_cast<unsigned>(++g_counter),
                    static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
      f.guid = buf;
    }
    std::string out = format_uidlist_header({3, f.uid_validity, f.uid_next, f.guid});
    // Records of files not seen yet (e.g. in a directory not rescanned) are kept too.
    std::vector<UidlistRecord> recs;
    recs.reserve(f.entries.size() + f.unlocated.size());
    for (auto& e : f.entries) recs.push_back({e.uid, e.base});
    for (auto& [b, u] : f.unlocated) recs.push_back({u, b});
    std::sort(recs.begin(), recs.end(), [](auto& a, auto& b) { return a.uid < b.uid; });
    for (auto& r : recs) out += format_uidlist_record(r);
    // The lock is released by the rename: the state recorded is the file as written, not as re-read.
    struct stat st {};
    if (auto s = lock.commit(ul, out, &st); !s) return s;
    f.ghosts.clear();
    if (auto s = fsync_path(f.path, true); !s) return s;
    {
      f.ul_known = true;
      f.ul_ino = static_cast<std::uint64_t>(st.st_ino);
      f.ul_size = static_cast<std::uint64_t>(st.st_size);
      f.ul_mtime = mtime_ns(st);
      f.ul_lines = recs.size();
    }
    return {};
  }

  // Dovecot recreates the uidlist when at most 75% of its records are still messages.
  Status maybe_compress_uidlist(Folder& f) {
    if (f.ul_lines < 64 || f.entries.size() * 100 > f.ul_lines * 75) return {};
    auto lock = DotLock::acquire(f.path / "dovecot-uidlist");
    if (!lock) return fail(lock.error());
    FolderChanges ch;
    bool rewrite = true;
    if (auto s = read_uidlist(f, ch, rewrite); !s) return s;
    auto st = write_uidlist(f, *lock, {}, true);
    persist(f, ch);
    return st;
  }

  // Gives UIDs to files just placed in new/ or cur/ (durable already), appending them to the uidlist with one
  // fdatasync, and records them in the index. A file another process gave a UID meanwhile keeps it.
  // With `deferred`, an appended uidlist is not fdatasynced here: the caller runs deferred->run() after
  // releasing m_ and before reporting success.
  Status assign_uids(Folder& f, std::vector<NewFile>& files, DeferredSync* deferred = nullptr) {
    load(f);
    auto lock = DotLock::acquire(f.path / "dovecot-uidlist");
    if (!lock) return fail(lock.error());
    FolderChanges ch;
    bool rewrite = false;
    if (auto s = read_uidlist(f, ch, rewrite); !s) return s;
    ensure_bases(f);
    std::vector<UidlistRecord> lines;
    std::uint64_t modseq = ++f.highest_modseq;
    for (auto& nf : files) {
      if (auto it = f.by_base.find(nf.base); it != f.by_base.end()) {
        // Known already (not one of our in-flight deliveries): keep its entry as it is now.
        nf.uid = it->second;
        if (auto* e = find(f, nf.uid)) nf.modseq = e->modseq;
        continue;
      } else if (auto u = f.unlocated.find(nf.base); u != f.unlocated.end()) {
        nf.uid = u->second;
        f.unlocated.erase(u);
      } else {
        nf.uid = f.uid_next++;
        lines.push_back({nf.uid, nf.base});
      }
      nf.modseq = modseq;
      Entry e;
      e.uid = nf.uid;
      e.base = nf.base;
      e.set_filename(nf.filename);
      e.in_new = nf.in_new;
      e.size = nf.size;
      e.internal_date = nf.internal_date;
      e.modseq = modseq;
      add_entry(f, std::move(e));
      ch.upserts.push_back(nf.uid);
    }
    if (!f.unlocated.empty()) f.new_mtime = f.cur_mtime = 0;  // someone else's records: rescan on next refresh
    {
      // In the rows persisted below: no longer in flight (which would make the next process list both
      // directories again after every delivery).
      std::lock_guard q(f.qm);
      for (auto& nf : files) f.inflight.erase(nf.base);
    }
    if (auto s = write_uidlist(f, *lock, lines, rewrite, deferred); !s) return s;
    persist(f, ch);
    return {};
  }

  // Lists one directory into `disk` (base -> file name, in_new), leaving out the files `same(name, in_new)`
  // says are known exactly as they are (the names of a 100,000-message cur/ are then neither copied nor
  // hashed into a map); returns its mtime as of before the listing, or 0 when it changed in the current
  // clock tick (then it must be listed again next time).
  template <class Same>
  static std::int64_t scan_dir(const fs::path& dir, bool is_new, std::unordered_map<std::string, std::pair<std::string, bool>>& disk,
                               Same&& same) {
    std::int64_t start = coarse_now_ns();
    struct stat st {};
    std::int64_t m = ::stat(dir.c_str(), &st) == 0 ? mtime_ns(st) : 0;
    DIR* d = ::opendir(dir.c_str());
    if (d) {
      while (auto* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::string_view v(e->d_name);
        if (v.find_first_of("\r\n") != std::string_view::npos) continue;  // Dovecot ignores these too
        if (same(v, is_new)) continue;
        std::string n(v);
        std::string b = base_of(n);
        if (is_new) disk.emplace(std::move(b), std::make_pair(std::move(n), true));  // cur/ wins over new/
        else disk[std::move(b)] = {std::move(n), false};
      }
      ::closedir(d);
    }
    return m < start ? m : 0;
  }

  // Brings the folder in step with the Maildir: reads new uidlist records, rescans new/ and cur/ if their
  // mtimes moved, gives UIDs to unknown files (another MDA's deliveries), drops vanished files and notes
  // renamed ones (flag changes by another client, with a new MODSEQ). Cheap when nothing changed (3 stats).
  Status refresh(Folder& f, DotLock* held = nullptr, bool force = false) {
    load(f);
    struct stat ul_st {}, new_st {}, cur_st {};
    bool ul_exists = ::stat((f.path / "dovecot-uidlist").c_str(), &ul_st) == 0;
    bool new_ok = ::stat((f.path / "new").c_str(), &new_st) == 0;
    bool cur_ok = ::stat((f.path / "cur").c_str(), &cur_st) == 0;
    if (!cur_ok) return fail(ErrorCategory::not_found, "mailbox vanished: " + f.name);
    bool ul_same = ul_exists && f.ul_known && static_cast<std::uint64_t>(ul_st.st_ino) == f.ul_ino &&
                   static_cast<std::uint64_t>(ul_st.st_size) == f.ul_size && mtime_ns(ul_st) == f.ul_mtime;
    std::int64_t now = coarse_now_ns();
    bool scan_new = force || !new_ok || f.new_mtime == 0 || mtime_ns(new_st) != f.new_mtime ||
                    (f.new_unconfirmed && now - f.new_listed >= kConfirmAfterNs);
    bool scan_cur = force || f.cur_mtime == 0 || mtime_ns(cur_st) != f.cur_mtime ||
                    (f.cur_unconfirmed && now - f.cur_listed >= kConfirmAfterNs);
    if (ul_same && !scan_new && !scan_cur) return {};
    ++f.version;  // entries may change below (renamed files, new UIDs, gone files)

    std::optional<DotLock> own;
    if (!held) {
      auto l = DotLock::acquire(f.path / "dovecot-uidlist");
      if (!l) return fail(l.error());
      own.emplace(std::move(*l));
      held = &*own;
    }
    FolderChanges ch;
    bool rewrite = false;
    if (auto s = read_uidlist(f, ch, rewrite); !s) return s;
    if (ch.reset || !f.unlocated.empty()) scan_new = scan_cur = true;

    std::unordered_map<std::string, std::pair<std::string, bool>> disk;
    disk.reserve(f.entries.size() + 16);
    // Only the directories listed are compared: the files of the other one are as the folder knows them (a
    // file moved between the two changes both mtimes). A listed file whose name and place are those of its
    // entry only marks the entry seen; `disk` gets the others (renamed, moved, unknown).
    std::vector<char> same(f.entries.size(), 0);
    // Files are matched by base name: through by_base (built for a listing of cur/, or already there) and
    // the UIDs alone for the binary search (400 KB for 100,000 messages: in cache, where a search through the
    // entries themselves missed it at every step); for new/ alone, through a map of the few entries in new/
    // (building by_base for 100,000 messages cost ~25 ms of the first open after a delivery).
    std::vector<std::uint32_t> uids;
    std::unordered_map<std::string_view, std::size_t, NameHash, std::equal_to<>> in_new;
    auto index_names = [&] {
      if (scan_cur || f.bases_built) {
        ensure_bases(f);
        uids.resize(f.entries.size());
        for (std::size_t i = 0; i < f.entries.size(); ++i) uids[i] = f.entries[i].uid;
      } else {
        for (std::size_t i = 0; i < f.entries.size(); ++i)
          if (f.entries[i].in_new) in_new.emplace(f.entries[i].base, i);
      }
    };
    index_names();
    auto known = [&](std::string_view name, bool is_new) {
      std::string_view base = name.substr(0, name.find(':'));
      std::size_t i = 0;
      if (f.bases_built) {
        auto b = f.by_base.find(base);
        if (b == f.by_base.end()) return false;
        auto u = std::lower_bound(uids.begin(), uids.end(), b->second);
        if (u == uids.end() || *u != b->second) return false;
        i = static_cast<std::size_t>(u - uids.begin());
      } else {
        auto it = in_new.find(base);
        if (it == in_new.end()) return false;
        i = it->second;
      }
      const Entry& e = f.entries[i];
      if (e.in_new != is_new || e.base != base || name.substr(e.base.size()) != e.info) return false;
      same[i] = 1;
      return true;
    };
    std::int64_t new_m = 0, cur_m = 0;
    if (scan_cur) cur_m = scan_dir(f.path / "cur", false, disk, known);
    if (scan_new) new_m = scan_dir(f.path / "new", true, disk, known);
    auto listed = [&](const Entry& e) { return e.in_new ? scan_new : scan_cur; };
    // A file renamed while a directory was being listed may be missed: list again before calling it gone.
    bool missing = false;
    for (std::size_t i = 0; i < f.entries.size() && !missing; ++i)
      missing = listed(f.entries[i]) && !same[i] && !disk.count(f.entries[i].base);
    if (missing) {
      disk.clear();
      std::fill(same.begin(), same.end(), 0);
      scan_cur = true;
      index_names();
      scan_dir(f.path / "new", true, disk, known);
      scan_dir(f.path / "cur", false, disk, known);
      scan_new = true;
      new_m = cur_m = 0;
    }
    if (!disk.empty() || !f.unlocated.empty()) ensure_bases(f);  // unknown files, records without a file

    std::uint64_t modseq = 0;
    auto bump = [&] { return modseq ? modseq : (modseq = ++f.highest_modseq); };
    std::set<std::uint32_t> gone;
    for (std::size_t i = 0; i < f.entries.size(); ++i) {
      auto& e = f.entries[i];
      if (!listed(e)) continue;
      auto it = disk.empty() ? disk.end() : disk.find(e.base);
      if (it == disk.end()) {
        if (!same[i]) gone.insert(e.uid);
        continue;
      }
      if (same[i] && it->second.second) continue;  // seen in cur/ as it is: a copy in new/ does not move it
      if (it->second.first != e.filename() || it->second.second != e.in_new) {
        std::uint32_t sys = e.system;
        std::string kw = e.kw;
        e.set_filename(it->second.first);
        e.in_new = it->second.second;
        if (sys != e.system || kw != e.kw) e.modseq = bump();  // flags changed by another client
        ch.upserts.push_back(e.uid);
      }
    }
    if (!gone.empty()) {
      bump();
      for (auto u : gone) ch.removed.push_back(u);
      drop_entries(f, gone);
    }
    std::vector<Entry> added;  // merged into the UID-ordered entries at the end (one sort, not N inserts)
    auto make_entry = [&](std::uint32_t uid, const std::string& base, const std::pair<std::string, bool>& loc) {
      Entry e;
      e.uid = uid;
      e.base = base;
      e.set_filename(loc.first);
      e.in_new = loc.second;
      struct stat st {};
      bool have = ::stat((f.path / (loc.second ? "new" : "cur") / loc.first).c_str(), &st) == 0;
      auto pn = parse_name(loc.first);
      e.size = pn.size ? *pn.size : (have ? static_cast<std::uint64_t>(st.st_size) : 0);
      e.internal_date = have ? st.st_mtime : std::time(nullptr);
      e.modseq = bump();
      ch.upserts.push_back(uid);
      f.by_base[base] = uid;
      added.push_back(std::move(e));
    };
    // Records of the uidlist whose files are now seen; the rest are expunged messages.
    for (auto it = f.unlocated.begin(); it != f.unlocated.end();) {
      auto d = disk.find(it->first);
      if (d != disk.end() && !f.by_base.count(it->first)) make_entry(it->second, it->first, d->second);
      else if (d == disk.end()) f.ghosts.insert(*it);
      it = f.unlocated.erase(it);
    }
    // Files nobody gave a UID (another MDA's deliveries): UIDs in delivery order (names start with the time).
    std::vector<std::string> unknown;
    for (auto& [base, loc] : disk)
      if (!f.by_base.count(base) && !f.is_inflight(base)) unknown.push_back(base);
    std::sort(unknown.begin(), unknown.end(), [](const std::string& a, const std::string& b) {
      auto ta = std::strtoull(a.c_str(), nullptr, 10), tb = std::strtoull(b.c_str(), nullptr, 10);
      return ta != tb ? ta < tb : a < b;
    });
    std::vector<UidlistRecord> lines;
    for (auto& b : unknown) {
      // A record read earlier whose file a directory listing missed keeps its UID.
      if (auto g = f.ghosts.find(b); g != f.ghosts.end()) {
        make_entry(g->second, b, disk[b]);
        f.ghosts.erase(g);
        continue;
      }
      std::uint32_t uid = f.uid_next++;
      lines.push_back({uid, b});
      make_entry(uid, b, disk[b]);
    }
    if (!added.empty()) {
      bool ordered = f.entries.empty() || f.entries.back().uid < added.front().uid;
      for (std::size_t i = 1; ordered && i < added.size(); ++i) ordered = added[i - 1].uid < added[i].uid;
      f.entries.insert(f.entries.end(), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
      if (!ordered) std::sort(f.entries.begin(), f.entries.end(), [](const Entry& a, const Entry& b) { return a.uid < b.uid; });
    }
    if (scan_new) f.new_mtime = new_m, f.new_unconfirmed = false, f.new_listed = now;
    if (scan_cur) f.cur_mtime = cur_m, f.cur_unconfirmed = false, f.cur_listed = now;
    if (!rewrite && f.ul_lines >= 64 && f.entries.size() * 100 <= (f.ul_lines + lines.size()) * 75) rewrite = true;
    if (!lines.empty() || rewrite)
      if (auto s = write_uidlist(f, *held, lines, rewrite); !s) return s;
    persist(f, ch);
    return {};
  }

  Result<CopyResult> transfer(std::string_view from, const std::vector<std::uint32_t>& uids, std::string_view to, bool move) {
    CopyResult res;
    std::vector<std::uint32_t> moved;
    std::uint64_t added = 0;
    std::uint64_t src_modseq = 0, dst_modseq = 0;
    std::string from_name, to_name;
    std::shared_ptr<Folder> src_held, dst_held;
    bool src_new = false, src_cur = false;
    DeferredSync ul;
    {
      std::lock_guard lk(m_);
      auto sf = refreshed_shared(from);
      if (!sf) return fail(sf.error());
      auto df = folder(to);
      if (!df) return fail(df.error());
      src_held = *sf;
      dst_held = *df;
      Folder& s = **sf;
      Folder& d = **df;
      from_name = s.name;
      to_name = d.name;
      // COPY within one mailbox duplicates the messages under new UIDs (RFC 9051 §6.4.7 does not forbid it;
      // Dovecot does it, and IMAP MOVE into the same mailbox is copy + expunge); a move there is refused.
      if (move && &s == &d)
        return fail(ErrorCategory::invalid_argument, "source and destination are the same mailbox");
      std::vector<NewFile> placed;
      std::vector<std::uint32_t> src_uids;
      for (auto uid : uids) {
        auto e = find(s, uid);
        if (!e) continue;
        std::string nb = unique_base() + ",S=" + std::to_string(e->size);
        std::string flags = e->filename().find(":2,") != std::string::npos ? e->filename().substr(e->filename().find(":2,")) : ":2,";
        fs::path src = s.path / (e->in_new ? "new" : "cur") / e->filename();
        fs::path dst = d.path / "cur" / (nb + flags);
        if (move) {
          // One rename: the message is always in exactly one of the two mailboxes.
          if (::rename(src.c_str(), dst.c_str()) != 0) {
            if (errno == ENOENT) continue;
            return fail_errno("rename " + src.string());
          }
          (e->in_new ? src_new : src_cur) = true;
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
          added += e->size;
        }
        NewFile nf;
        nf.base = nb;
        nf.filename = nb + flags;
        nf.in_new = false;
        nf.size = e->size;
        nf.internal_date = e->internal_date;
        timeval tv[2] = {{static_cast<time_t>(e->internal_date), 0}, {static_cast<time_t>(e->internal_date), 0}};
        ::utimes(dst.c_str(), tv);
        placed.push_back(std::move(nf));
        src_uids.push_back(uid);
      }
      if (placed.empty()) return res;
      if (auto st = assign_uids(d, placed, &ul); !st) return fail(st.error());
      dst_modseq = d.highest_modseq;
      res.dest_uid_validity = d.uid_validity;
      for (std::size_t i = 0; i < placed.size(); ++i) res.uids.emplace_back(src_uids[i], placed[i].uid);
      if (move) {
        src_modseq = ++s.highest_modseq;
        FolderChanges ch;
        ch.removed = moved;
        drop_entries(s, std::set<std::uint32_t>(moved.begin(), moved.end()));
        persist(s, ch);
      } else {
        std::lock_guard q(quota_m_);
        usage_bytes_ += added;
        usage_msgs_ += placed.size();
        (void)append_maildirsize(static_cast<std::int64_t>(added), static_cast<std::int64_t>(placed.size()));
      }
    }
    // Durable before COPY/MOVE answers, out of the user lock: the destination's renames, its uidlist records,
    // and (MOVE) the source directories the messages left.
    if (auto st = dst_held->sync_dirs(false, true); !st) return fail(st.error());
    if (auto st = ul.run(); !st) return fail(st.error());
    if (move)
      if (auto st = src_held->sync_dirs(src_new, src_cur); !st) return fail(st.error());
    std::vector<std::uint32_t> du;
    for (auto& p : res.uids) du.push_back(p.second);
    notify({ChangeEvent::Kind::message_added, to_name, du, dst_modseq});
    if (move) notify({ChangeEvent::Kind::expunged, from_name, moved, src_modseq});
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
  std::mutex quota_m_;  // limits_, usage_* and maildirsize (taken after m_ when both are needed)
  QuotaLimits limits_;
  std::uint64_t usage_bytes_ = 0, usage_msgs_ = 0;
  std::map<std::string, std::shared_ptr<Folder>> folders_;
  std::unique_ptr<detail::MailIndex> index_;
  std::uint64_t modseq_floor_ = 0;     // the reservation found at open: every folder starts above it
  std::uint64_t modseq_reserved_ = 0;  // MODSEQs up to this are durably reserved
  std::set<std::string> subscriptions_;
  std::vector<std::string> keywords_ = std::vector<std::string>(26);
  bool keywords_dirty_ = false;
  std::uint64_t keywords_gen_ = 1;  // bumped whenever a keyword letter gets a name (cached MessageInfo lists)
  std::shared_ptr<StructureParser> parser_;
  std::mutex subs_m_;
  std::map<std::uint64_t, std::shared_ptr<ChangeCallback>> subs_;
  std::mutex watch_m_;  // taken before m_ and subs_m_
  std::vector<detail::MaildirWatcher::Token> watches_;
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

Status MaildirStore::reindex(std::string_view user) {
  auto u = open_user(user);
  if (!u) return fail(u.error());
  return static_cast<MaildirUser&>(**u).reindex_all();
}

Result<fs::path> MaildirStore::user_dir(std::string_view user) const {
  auto parts = mime::split_address(user);
  if (!parts) return fail(ErrorCategory::invalid_argument, "user must be local@domain: " + std::string(user));
  std::string local(parts->local), domain(parts->domain);
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
