#include "tern/server/store_sink.hpp"

#include <ctime>
#include <optional>

#include "tern/mime/smtp_address.hpp"

namespace tern {

StoreSink::StoreSink(std::shared_ptr<store::MailStore> store, directory::Directory& directory, queue::Queue* queue)
    : store_(std::move(store)), directory_(directory), queue_(queue) {}

store::QuotaLimits StoreSink::limits_for(const std::string& mailbox) const {
  store::QuotaLimits limits;
  auto parts = mime::split_address(mailbox);
  if (auto snap = directory_.snapshot(); snap && parts) {
    if (const auto* m = (*snap)->find_mailbox(parts->local, parts->domain))
      limits = {m->quota.bytes, m->quota.messages};
  }
  return limits;
}

Result<std::shared_ptr<store::UserMailbox>> StoreSink::open(const std::string& mailbox, store::QuotaLimits limits) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = recent_.begin(); it != recent_.end(); ++it)
      if (it->first == mailbox) {
        recent_.splice(recent_.begin(), recent_, it);
        recent_.front().second->set_quota(limits);
        return recent_.front().second;
      }
  }
  auto user = store_->open_user(mailbox, limits);
  if (!user) return user;
  std::lock_guard lock(mutex_);
  recent_.emplace_front(mailbox, *user);
  if (recent_.size() > kKeepOpen) recent_.pop_back();
  return user;
}

Status StoreSink::check_local(const smtp::LocalDelivery& target, std::uint64_t size) {
  auto limits = limits_for(target.mailbox);
  if (limits.bytes == 0 && limits.messages == 0) return {};
  auto user = open(target.mailbox, limits);
  if (!user) return {};  // deliver_local will say what is wrong
  auto usage = (*user)->quota();
  if (!usage) return {};
  bool full = (limits.bytes && (usage->bytes >= limits.bytes || usage->bytes + size > limits.bytes)) ||
              (limits.messages && usage->messages + 1 > limits.messages);
  if (full) return fail(ErrorCategory::limit, "mailbox full");
  return {};
}

Status StoreSink::deliver_local(const smtp::LocalDelivery& target, std::string_view message) {
  auto limits = limits_for(target.mailbox);
  auto user = open(target.mailbox, limits);
  if (!user) return fail(user.error());
  std::string folder = target.junk ? "Junk" : target.folder;
  auto uid = (*user)->append_message(folder, message);
  if (!uid) return fail(uid.error());  // ErrorCategory::limit means "mailbox full" (5.2.2)
  return {};
}

Result<queue::Queue::Prepared> StoreSink::prepare(const smtp::QueuedEnvelope& envelope, std::string_view message) {
  // The disclaimer first, so the DKIM body hash covers it (RFC 6376 §3.7); the original when it declines.
  std::optional<std::string> stamped;
  if (disclaimers_ && !envelope.return_path.empty()) stamped = disclaimers_->apply(message, envelope.return_path);
  if (stamped) message = *stamped;
  if (dkim_) {
    auto signed_message = dkim_->sign(message, envelope.return_path, std::time(nullptr));
    if (!signed_message) return fail(ErrorCategory::temporary, "DKIM signing failed: " + signed_message.error().message);
    return queue_->prepare(envelope, *signed_message);
  }
  return queue_->prepare(envelope, message);
}

Result<std::string> StoreSink::enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message) {
  if (!queue_) return fail(ErrorCategory::temporary, "outbound delivery is not available in this build yet");
  auto prepared = prepare(envelope, message);
  if (!prepared) return fail(prepared.error());
  // The blocking path: the same group commit, waited for on this thread.
  return queue_->commit_blocking(*prepared);
}

asio::awaitable<Result<std::string>> StoreSink::enqueue_async(const smtp::QueuedEnvelope& envelope,
                                                              std::string_view message, net::WorkerPool& workers) {
  if (!queue_) co_return fail(ErrorCategory::temporary, "outbound delivery is not available in this build yet");
  auto prepared = co_await workers.run([&]() { return prepare(envelope, message); });
  if (!prepared) co_return fail(prepared.error());
  co_return co_await queue_->commit(*prepared);
}

}  // namespace tern
