// MaildirWatcher (see maildir_watcher.hpp).
#include "maildir_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tern/core/thread_name.hpp"
#include "tern/core/log.hpp"

namespace tern::store::detail {

namespace {
// A delivery (create + rename), a flag change (two renames) or an expunge of many messages arrives as a
// burst of events: wait this long after the first one so that one refresh covers the burst.
constexpr int kCoalesceMs = 20;
constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
}  // namespace

struct MaildirWatcher::Impl {
  int ifd = -1, efd = -1;
  std::thread thread;
  std::mutex m;
  int next_id = 0;
  struct Watch {
    int wd;
    bool dirs_only;
    std::shared_ptr<Callback> callback;
  };
  std::map<int, Watch> watches;                   // id -> watch
  std::unordered_map<int, std::set<int>> by_wd;   // inotify watch descriptor -> ids (one dir, several ids)
  std::atomic<bool> warned{false};

  void warn_once(const std::string& what, int err) {
    if (!warned.exchange(true))
      log::warn("store.inotify_unavailable", {{"what", what}, {"error", std::string(std::strerror(err))},
                                              {"effect", "changes by other programs are seen at the next command"}});
  }

  // Reads every pending event; adds the watch descriptors that saw a change (to `dir_wds` too when the
  // entry was a directory).
  void drain(std::set<int>& wds, std::set<int>& dir_wds) {
    alignas(inotify_event) char buf[16384];
    for (;;) {
      ssize_t n = ::read(ifd, buf, sizeof buf);
      if (n <= 0) return;
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + ev->len;
        if (ev->mask & IN_IGNORED) {  // the directory went away or the watch was removed
          std::lock_guard lk(m);
          by_wd.erase(ev->wd);
          continue;
        }
        wds.insert(ev->wd);
        if (ev->mask & IN_ISDIR) dir_wds.insert(ev->wd);
      }
    }
  }

  void run() {
    pollfd fds[2] = {{ifd, POLLIN, 0}, {efd, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      std::set<int> wds, dir_wds;
      drain(wds, dir_wds);
      pollfd stop = {efd, POLLIN, 0};
      if (::poll(&stop, 1, kCoalesceMs) > 0) return;
      drain(wds, dir_wds);
      std::vector<std::shared_ptr<Callback>> calls;
      {
        std::lock_guard lk(m);
        for (int wd : wds)
          if (auto it = by_wd.find(wd); it != by_wd.end())
            for (int id : it->second)
              if (auto w = watches.find(id); w != watches.end() && (!w->second.dirs_only || dir_wds.count(wd)))
                calls.push_back(w->second.callback);
      }
      for (auto& c : calls) (*c)();
    }
  }
};

MaildirWatcher::MaildirWatcher() : impl_(std::make_unique<Impl>()) {
  impl_->ifd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl_->ifd < 0) {
    impl_->warn_once("inotify_init1", errno);
    return;
  }
  impl_->efd = ::eventfd(0, EFD_CLOEXEC);
  if (impl_->efd < 0) {
    impl_->warn_once("eventfd", errno);
    ::close(impl_->ifd);
    impl_->ifd = -1;
    return;
  }
  impl_->thread = std::thread([impl = impl_.get()] {
    set_thread_name("tern-watch");
    impl->run();
  });
}

MaildirWatcher::~MaildirWatcher() {
  if (impl_->thread.joinable()) {
    std::uint64_t one = 1;
    (void)!::write(impl_->efd, &one, sizeof one);
    impl_->thread.join();
  }
  if (impl_->ifd >= 0) ::close(impl_->ifd);
  if (impl_->efd >= 0) ::close(impl_->efd);
}

std::shared_ptr<MaildirWatcher> MaildirWatcher::shared() {
  static std::shared_ptr<MaildirWatcher> w(new MaildirWatcher());
  return w;
}

MaildirWatcher::Token MaildirWatcher::watch(const std::filesystem::path& dir, Callback callback, bool dirs_only) {
  if (impl_->ifd < 0) return {};
  std::lock_guard lk(impl_->m);
  int wd = ::inotify_add_watch(impl_->ifd, dir.c_str(), kMask);
  if (wd < 0) {
    if (errno != ENOENT) impl_->warn_once("inotify_add_watch " + dir.string(), errno);
    return {};
  }
  int id = ++impl_->next_id;
  impl_->watches[id] = {wd, dirs_only, std::make_shared<Callback>(std::move(callback))};
  impl_->by_wd[wd].insert(id);
  return Token(shared(), id);
}

void MaildirWatcher::unwatch(int id) {
  std::lock_guard lk(impl_->m);
  auto it = impl_->watches.find(id);
  if (it == impl_->watches.end()) return;
  int wd = it->second.wd;
  impl_->watches.erase(it);
  auto b = impl_->by_wd.find(wd);
  if (b == impl_->by_wd.end()) return;
  b->second.erase(id);
  if (b->second.empty()) {
    impl_->by_wd.erase(b);
    ::inotify_rm_watch(impl_->ifd, wd);
  }
}

MaildirWatcher::Token& MaildirWatcher::Token::operator=(Token&& o) noexcept {
  if (this != &o) {
    if (w_ && id_) w_->unwatch(id_);
    w_ = std::move(o.w_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

MaildirWatcher::Token::~Token() {
  if (w_ && id_) w_->unwatch(id_);
}

}  // namespace tern::store::detail
