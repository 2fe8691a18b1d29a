#include "tern/directory/file_directory.hpp"

#include "tern/core/durable_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "tern/core/log.hpp"

namespace tern::directory {

namespace fs = std::filesystem;

namespace {

struct FileSig {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileSig&) const = default;
};

FileSig sig_of(const fs::path& p) {
  FileSig s;
  struct stat st {};
  if (p.empty() || ::stat(p.c_str(), &st) != 0) return s;
  s.exists = true;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

constexpr std::array<const char*, 3> kDmsFiles = {"postfix-accounts.cf", "postfix-virtual.cf", "dovecot-masters.cf"};

std::vector<fs::path> sources(const FileDirectoryOptions& o) {
  std::vector<fs::path> v{o.file};
  for (const char* f : kDmsFiles) v.push_back(o.dms_dir.empty() ? fs::path() : o.dms_dir / f);
  return v;
}

// Reads a whole file; nullopt (no error) when it does not exist.
Result<std::optional<std::string>> read_optional(const fs::path& p) {
  if (p.empty()) return std::optional<std::string>();
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return fail_errno("open " + p.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>(ss.str());
}

Result<DirectorySnapshot> load_toml(const FileDirectoryOptions& o) {
  auto text = read_optional(o.file);
  if (!text) return fail(text.error());
  if (!*text) return DirectorySnapshot{};
  auto snap = parse_directory_toml(**text, o.file.string());
  if (!snap) return snap;
  if (auto st = validate_snapshot(*snap, o.resolve.subaddress_separator); !st)
    return fail(ErrorCategory::config, fmt::format("{}: {}", o.file.string(), st.error().message));
  return snap;
}

struct Loaded {
  std::shared_ptr<const DirectorySnapshot> snap;
  std::vector<FileSig> sigs;
};

Result<Loaded> load_all(const FileDirectoryOptions& o) {
  Loaded l;
  for (const auto& p : sources(o)) l.sigs.push_back(sig_of(p));
  auto snap = load_toml(o);
  if (!snap) return fail(snap.error());
  if (!o.dms_dir.empty()) {
    DmsData dms;
    using Parser = void (*)(std::string_view, const std::string&, DmsData&);
    const std::array<Parser, 3> parsers = {parse_postfix_accounts, parse_postfix_virtual, parse_dovecot_masters};
    for (std::size_t i = 0; i < kDmsFiles.size(); ++i) {
      auto p = o.dms_dir / kDmsFiles[i];
      auto text = read_optional(p);
      if (!text) return fail(text.error());
      if (*text) parsers[i](**text, p.string(), dms);
    }
    std::vector<std::string> warnings = dms.warnings;
    merge_dms(*snap, dms, warnings);
    for (const auto& w : warnings) log::warn("directory.file_warning", {{"message", w}});
  }
  snap->build_index();
  l.snap = std::make_shared<const DirectorySnapshot>(std::move(*snap));
  return l;
}

}  // namespace

struct FileDirectory::State {
  std::mutex mu;         // guards snap/sigs/last_check
  std::mutex write_mu;   // one writer per process (flock covers other processes)
  std::shared_ptr<const DirectorySnapshot> snap;
  std::vector<FileSig> sigs;
  std::chrono::steady_clock::time_point last_check{};

  // Whether snapshot() must stat the sources before answering. Called with `mu` held.
  bool check_due(std::chrono::steady_clock::duration interval) const {
    return std::chrono::steady_clock::now() - last_check >= interval;
  }
};

FileDirectory::FileDirectory(FileDirectoryOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {}
FileDirectory::~FileDirectory() = default;

Result<std::unique_ptr<FileDirectory>> FileDirectory::open(FileDirectoryOptions options) {
  if (options.file.empty()) return fail(ErrorCategory::invalid_argument, "the directory file path is empty");
  std::unique_ptr<FileDirectory> d(new FileDirectory(std::move(options)));
  auto l = load_all(d->options_);
  if (!l) return fail(l.error());
  d->state_->snap = std::move(l->snap);
  d->state_->sigs = std::move(l->sigs);
  d->state_->last_check = std::chrono::steady_clock::now();
  return d;
}

Result<bool> FileDirectory::reload() {
  std::vector<FileSig> now;
  for (const auto& p : sources(options_)) now.push_back(sig_of(p));
  {
    std::lock_guard lock(state_->mu);
    state_->last_check = std::chrono::steady_clock::now();
    if (now == state_->sigs) return false;
  }
  auto l = load_all(options_);
  if (!l) {
    log::error("directory.reload_failed", {{"file", options_.file.string()}, {"error", l.error().message}});
    std::lock_guard lock(state_->mu);
    state_->sigs = std::move(now);  // do not retry the same broken content on every call
    return fail(l.error());
  }
  std::lock_guard lock(state_->mu);
  state_->snap = std::move(l->snap);
  state_->sigs = std::move(l->sigs);
  log::info("directory.reloaded", {{"file", options_.file.string()}});
  return true;
}

Result<std::shared_ptr<const DirectorySnapshot>> FileDirectory::snapshot() {
  bool due;
  {
    std::lock_guard lock(state_->mu);
    due = state_->check_due(options_.check_interval);
  }
  if (due) (void)reload();  // on failure the last good snapshot stays in use (logged)
  std::lock_guard lock(state_->mu);
  return state_->snap;
}

std::shared_ptr<const DirectorySnapshot> FileDirectory::snapshot_if_ready() {
  std::unique_lock lock(state_->mu, std::try_to_lock);
  if (!lock.owns_lock()) return nullptr;
  return state_->check_due(options_.check_interval) ? nullptr : state_->snap;
}

Status FileDirectory::apply(const std::function<Status(DirectorySnapshot&)>& edit) {
  std::lock_guard wlock(state_->write_mu);
  std::error_code ec;
  fs::create_directories(options_.file.parent_path().empty() ? fs::path(".") : options_.file.parent_path(), ec);
  if (ec) return fail(ErrorCategory::io, fmt::format("create {}: {}", options_.file.parent_path().string(), ec.message()));
  auto lock_path = options_.file;
  lock_path += ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("open " + lock_path.string());
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }  // closing releases the flock
  } closer{fd};
  if (::flock(fd, LOCK_EX) != 0) return fail_errno("lock " + lock_path.string());

  auto current = load_toml(options_);  // the file as it is now, without docker-mailserver data
  if (!current) return fail(current.error());
  if (auto st = edit(*current); !st) return st;
  if (auto st = validate_snapshot(*current, options_.resolve.subaddress_separator); !st) return st;
  if (auto st = write_file_durably(options_.file, render_directory_toml(*current)); !st) return st;
  auto l = load_all(options_);
  if (!l) return fail(l.error());
  std::lock_guard lock(state_->mu);
  state_->snap = std::move(l->snap);
  state_->sigs = std::move(l->sigs);
  state_->last_check = std::chrono::steady_clock::now();
  return {};
}

}  // namespace tern::directory
