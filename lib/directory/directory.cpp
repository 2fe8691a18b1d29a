#include "tern/directory/directory.hpp"

#include <mutex>

namespace tern::directory {

Result<std::shared_ptr<const DirectorySnapshot>> Directory::snapshot() {
  return fail(ErrorCategory::unsupported, "this directory answers queries directly and has no snapshot");
}

std::shared_ptr<const DirectorySnapshot> Directory::snapshot_if_ready() { return nullptr; }

Result<Resolution> Directory::resolve(std::string_view recipient, std::optional<std::string_view> sender) {
  auto snap = snapshot();
  if (!snap) return fail(snap.error());
  return directory::resolve(**snap, recipient, options(), sender);
}

Result<SendAsVerdict> Directory::may_send_as(std::string_view login, std::string_view from) {
  auto snap = snapshot();
  if (!snap) return fail(snap.error());
  return directory::may_send_as(**snap, login, from, options());
}

Result<LoginRecord> Directory::lookup_login(std::string_view login) {
  auto snap = snapshot();
  if (!snap) return fail(snap.error());
  return directory::lookup_login(**snap, login);
}

Result<LoginRecord> Directory::lookup_master(std::string_view master_name) {
  auto snap = snapshot();
  if (!snap) return fail(snap.error());
  return directory::lookup_master(**snap, master_name);
}

Result<bool> Directory::verify_external(const Credential&, std::string_view) {
  return fail(ErrorCategory::unsupported, "this directory has no external credential check");
}

struct MemoryDirectory::State {
  std::mutex mu;
  std::shared_ptr<const DirectorySnapshot> snap;
};

MemoryDirectory::MemoryDirectory(DirectorySnapshot snap, ResolveOptions opts)
    : opts_(opts), state_(std::make_shared<State>()) {
  snap.build_index();
  state_->snap = std::make_shared<const DirectorySnapshot>(std::move(snap));
}

std::shared_ptr<const DirectorySnapshot> MemoryDirectory::current() const {
  std::lock_guard lock(state_->mu);
  return state_->snap;
}

Result<std::shared_ptr<const DirectorySnapshot>> MemoryDirectory::snapshot() { return current(); }

std::shared_ptr<const DirectorySnapshot> MemoryDirectory::snapshot_if_ready() {
  std::unique_lock lock(state_->mu, std::try_to_lock);  // apply() holds it while it rebuilds: never wait
  return lock.owns_lock() ? state_->snap : nullptr;
}

void MemoryDirectory::replace(DirectorySnapshot snap) {
  snap.build_index();
  auto p = std::make_shared<const DirectorySnapshot>(std::move(snap));
  std::lock_guard lock(state_->mu);
  state_->snap = std::move(p);
}

Status MemoryDirectory::apply(const std::function<Status(DirectorySnapshot&)>& edit) {
  std::lock_guard lock(state_->mu);
  DirectorySnapshot copy = *state_->snap;
  if (auto st = edit(copy); !st) return st;
  if (auto st = validate_snapshot(copy, opts_.subaddress_separator); !st) return st;
  copy.build_index();
  state_->snap = std::make_shared<const DirectorySnapshot>(std::move(copy));
  return {};
}

}  // namespace tern::directory
