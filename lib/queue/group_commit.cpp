#include "tern/queue/group_commit.hpp"

namespace tern::queue {

Status GroupCommit::commit() {
  std::unique_lock lock(mutex_);
  const std::uint64_t ticket = ++requested_;
  for (;;) {
    for (const auto& f : failed_)
      if (ticket >= f.first && ticket <= f.last) return fail(f.error);
    if (done_ >= ticket) return {};
    if (!running_) {
      // Lead a sync for everyone who has a ticket now (they all did their renames before taking it).
      running_ = true;
      const std::uint64_t first = done_ + 1, covers = requested_;
      lock.unlock();
      Status st = sync_();
      lock.lock();
      running_ = false;
      ++syncs_;
      if (!st) failed_.push_back({first, covers, st.error()});
      done_ = covers;  // failed tickets are answered from failed_ first
      cv_.notify_all();
      continue;
    }
    cv_.wait(lock);
  }
}

std::uint64_t GroupCommit::syncs() const {
  std::lock_guard lock(mutex_);
  return syncs_;
}

}  // namespace tern::queue
