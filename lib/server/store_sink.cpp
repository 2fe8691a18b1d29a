#include "tern/server/store_sink.hpp"

namespace tern {

StoreSink::StoreSink(std::shared_ptr<store::MailStore> store, directory::Directory& directory, queue::Queue* queue)
    : store_(std::move(store)), directory_(directory), queue_(queue) {}

Status StoreSink::deliver_local(const smtp::LocalDelivery& target, std::string_view message) {
  store::QuotaLimits limits;
  auto at = target.mailbox.rfind('@');
  if (auto snap = directory_.snapshot(); snap && at != std::string::npos) {
    if (const auto* m = (*snap)->find_mailbox(target.mailbox.substr(0, at), target.mailbox.substr(at + 1)))
      limits = {m->quota.bytes, m->quota.messages};
  }
  auto user = store_->open_user(target.mailbox, limits);
  if (!user) return fail(user.error());
  std::string folder = target.junk ? "Junk" : target.folder;
  auto uid = (*user)->append_message(folder, message);
  if (!uid) return fail(uid.error());  // ErrorCategory::limit means "mailbox full" (5.2.2)
  return {};
}

Result<std::string> StoreSink::enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message) {
  if (!queue_) return fail(ErrorCategory::temporary, "outbound delivery is not available in this build yet");
  return queue_->enqueue(envelope, message);
}

}  // namespace tern
