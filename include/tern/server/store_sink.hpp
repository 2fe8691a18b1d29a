// The server's default MessageSink: local copies go into the MailStore (UIDs assigned at delivery, quota
// from the directory, durable before the SMTP 250); remote recipients go to the outbound queue.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "tern/directory/directory.hpp"
#include "tern/mailauth/disclaimer_store.hpp"
#include "tern/mailauth/dkim_keyring.hpp"
#include "tern/queue/queue.hpp"
#include "tern/smtp/message_sink.hpp"
#include "tern/store/mail_store.hpp"

namespace tern {

class StoreSink : public smtp::MessageSink {
 public:
  StoreSink(std::shared_ptr<store::MailStore> store, directory::Directory& directory, queue::Queue* queue = nullptr);
  // Outbound mail is DKIM-signed (RFC 6376) before it is spooled when the keyring has a key for it.
  void set_dkim(mailauth::DkimKeyring* keyring) { dkim_ = keyring; }
  // Outbound mail of a domain with a disclaimer gets it appended before it is signed (local copies never).
  void set_disclaimers(mailauth::DisclaimerStore* store) { disclaimers_ = store; }
  // BLOCKING (directory lookup for the quota, fsync).
  Status deliver_local(const smtp::LocalDelivery& target, std::string_view message) override;
  // BLOCKING (directory lookup, quota read): 552 5.2.2 at RCPT for a mailbox that is already full.
  Status check_local(const smtp::LocalDelivery& target, std::uint64_t size) override;
  // BLOCKING (fsync): spools the message in the outbound queue; without a queue, 451 4.3.0.
  Result<std::string> enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message) override;
  // Signs and writes on a worker, then waits for the queue's group commit without holding the worker.
  asio::awaitable<Result<std::string>> enqueue_async(const smtp::QueuedEnvelope& envelope, std::string_view message,
                                                     net::WorkerPool& workers) override;

 private:
  std::shared_ptr<store::MailStore> store_;
  directory::Directory& directory_;
  mailauth::DkimKeyring* dkim_ = nullptr;
  mailauth::DisclaimerStore* disclaimers_ = nullptr;
  queue::Queue* queue_ = nullptr;
  store::QuotaLimits limits_for(const std::string& mailbox) const;
  Result<std::shared_ptr<store::UserMailbox>> open(const std::string& mailbox, store::QuotaLimits limits);
  // BLOCKING (CPU: disclaimer, DKIM; file writes): the message as it leaves, written into the spool.
  Result<queue::Queue::Prepared> prepare(const smtp::QueuedEnvelope& envelope, std::string_view message);

  // Recently used mailboxes stay open: opening one reads its index, and a burst of mail to one
  // mailbox should pay that once (the store shares the open object with IMAP sessions anyway).
  std::mutex mutex_;
  std::list<std::pair<std::string, std::shared_ptr<store::UserMailbox>>> recent_;  // most recent first
  static constexpr std::size_t kKeepOpen = 64;
};

}  // namespace tern
