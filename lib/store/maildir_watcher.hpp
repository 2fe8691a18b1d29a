// MaildirWatcher: inotify on the directories of Maildirs that have listeners, so that changes made by
// other programs (another MDA dropping a file into new/, Dovecot or a mail client renaming or
// unlinking in cur/) reach IMAP IDLE as soon as they happen, not at the client's next NOOP.
//
// One thread for the process, started on first use. Events are coalesced for a short moment (a
// delivery is a create and a rename; an expunge of many messages is many unlinks) and each callback
// runs once per burst, on the watcher thread. If inotify is unavailable or its watch limit is reached,
// watch() returns an empty token and the change is seen at the next command, as before (logged once).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

namespace tern::store::detail {

class MaildirWatcher {
 public:
  using Callback = std::function<void()>;

  // Unwatches when destroyed (a callback may still run once while the burst it belongs to is delivered).
  class Token {
   public:
    Token() = default;
    Token(std::shared_ptr<MaildirWatcher> w, int id) : w_(std::move(w)), id_(id) {}
    Token(Token&& o) noexcept : w_(std::move(o.w_)), id_(o.id_) { o.id_ = 0; }
    Token& operator=(Token&& o) noexcept;
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token();
    explicit operator bool() const { return id_ != 0; }

   private:
    std::shared_ptr<MaildirWatcher> w_;
    int id_ = 0;
  };

  static std::shared_ptr<MaildirWatcher> shared();
  ~MaildirWatcher();

  // Calls `callback` after entries of `dir` are created, deleted or renamed (with `dirs_only`, only
  // entries that are directories).
  Token watch(const std::filesystem::path& dir, Callback callback, bool dirs_only = false);

  struct Impl;

 private:
  MaildirWatcher();
  void unwatch(int id);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::store::detail
