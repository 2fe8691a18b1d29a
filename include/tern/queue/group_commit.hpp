// tern::queue::GroupCommit — one fsync shared by every thread that asked for one before it started.
//
//   GroupCommit dir_sync([&] { return fsync_directory(spool); });
//   rename(tmp, record);          // thread A, B, C ... concurrently
//   auto st = dir_sync.commit();  // BLOCKING: returns once a sync that began after this call has finished
//
// The spool's directory fsync makes renames and unlinks durable; it costs the same for one rename as for
// fifty, so concurrent SMTP sessions (and a batch of delivery outcomes) share it instead of paying one each
// (group commit, as databases do for their log). A caller never returns before a sync that started after
// its call: a sync already running when it arrives may have missed its rename, so it waits for the next.
//
// A failed sync fails every caller it covered, and stays failed for them even if a later sync succeeds
// (after an fsync error Linux may have dropped the dirty pages: a later success proves nothing).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::queue {

class GroupCommit {
 public:
  explicit GroupCommit(std::function<Status()> sync) : sync_(std::move(sync)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // BLOCKING. Thread-safe.
  Status commit();
  // How many syncs ran so far (tests and statistics).
  std::uint64_t syncs() const;

 private:
  struct Failed {
    std::uint64_t first, last;  // tickets covered by the failed sync
    Error error;
  };
  std::function<Status()> sync_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t requested_ = 0;  // tickets handed out
  std::uint64_t done_ = 0;       // every ticket <= done_ is durable (or in `failed_`)
  bool running_ = false;
  std::uint64_t syncs_ = 0;
  std::vector<Failed> failed_;
};

}  // namespace tern::queue
