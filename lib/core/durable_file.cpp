#include "tern/core/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace tern {

Status fsync_directory(const std::filesystem::path& dir_in) {
  auto dir = dir_in.empty() ? std::filesystem::path(".") : dir_in;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open " + dir.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return fail_errno("fsync " + dir.string(), err);
  return {};
}

Status write_file_durably(const std::filesystem::path& target, std::string_view data, unsigned mode,
                          const std::filesystem::path& tmp_in) {
  auto tmp = tmp_in;
  if (tmp.empty()) {
    tmp = target;
    tmp += ".tmp." + std::to_string(::getpid());
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno("create " + tmp.string());
  auto give_up = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail_errno(what + " " + tmp.string(), err);
  };
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return give_up("write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return give_up("fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno("rename " + tmp.string() + " to " + target.string(), err);
  }
  return fsync_directory(target.parent_path());
}

}  // namespace tern
