#include "tern/smtp/maildir_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include <fmt/format.h>

namespace tern::smtp {
namespace {

Status fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + dir.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return fail_errno("fsync " + dir.string(), err);
  return {};
}

Status ensure_maildir(const std::filesystem::path& dir) {
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir / sub, ec);
    if (ec) return fail(ErrorCategory::io, fmt::format("create {}: {}", (dir / sub).string(), ec.message()), ec.value());
  }
  return {};
}

}  // namespace

MaildirSink::MaildirSink(std::filesystem::path root, std::string hostname)
    : root_(std::move(root)), hostname_(std::move(hostname)) {
  // '/' and ':' may not appear in a Maildir file name (':' separates the info part).
  for (auto& c : hostname_)
    if (c == '/' || c == ':') c = '_';
}

std::filesystem::path MaildirSink::folder_path(const LocalDelivery& target) const {
  auto at = target.mailbox.rfind('@');
  std::string user = target.mailbox.substr(0, at), domain = at == std::string::npos ? "" : target.mailbox.substr(at + 1);
  for (auto& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::filesystem::path p = root_ / domain / user;
  if (target.junk) return p / ".Junk";
  if (target.folder != "INBOX" && !target.folder.empty()) return p / ("." + target.folder);
  return p;
}

Status MaildirSink::deliver_local(const LocalDelivery& target, std::string_view message) {
  auto at = target.mailbox.rfind('@');
  if (at == std::string::npos || at == 0 || target.mailbox.find('/') != std::string::npos ||
      target.mailbox.find("..") != std::string::npos)
    return fail(ErrorCategory::invalid_argument, "not a mailbox address: " + target.mailbox);
  auto dir = folder_path(target);
  if (auto st = ensure_maildir(dir); !st) return st;
  // Maildir unique name: seconds.M<micro>P<pid>Q<counter>.<host>,S=<size> (Dovecot reads S= as the size).
  static std::atomic<unsigned long> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000;
  std::string name = fmt::format("{}.M{}P{}Q{}.{},S={}", secs, usec, ::getpid(), counter.fetch_add(1) + 1, hostname_,
                                 message.size());
  auto tmp = dir / "tmp" / name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("create " + tmp.string());
  std::size_t off = 0;
  while (off < message.size()) {
    ssize_t n = ::write(fd, message.data() + off, message.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      if (err == ENOSPC || err == EDQUOT) return fail(ErrorCategory::temporary, "disk full writing " + tmp.string(), err);
      return fail_errno("write " + tmp.string(), err);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail_errno("fsync " + tmp.string(), err);
  }
  ::close(fd);
  auto dest = dir / "new" / name;
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno("rename into " + dest.string(), err);
  }
  return fsync_dir(dir / "new");
}

Result<std::string> MaildirSink::enqueue(const QueuedEnvelope&, std::string_view) {
  return fail(ErrorCategory::temporary, "outbound delivery is not available in this build yet");
}

}  // namespace tern::smtp
