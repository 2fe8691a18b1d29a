// The server's default MessageSink: local copies go into the MailStore (UIDs assigned at delivery, quota
// from the directory, durable before the SMTP 250); remote recipients go to the outbound queue.
#pragma once

#include <memory>

#include "tern/directory/directory.hpp"
#include "tern/queue/queue.hpp"
#include "tern/smtp/message_sink.hpp"
#include "tern/store/mail_store.hpp"

namespace tern {

class StoreSink : public smtp::MessageSink {
 public:
  StoreSink(std::shared_ptr<store::MailStore> store, directory::Directory& directory, queue::Queue* queue = nullptr);
  // BLOCKING (directory lookup for the quota, fsync).
  Status deliver_local(const smtp::LocalDelivery& target, std::string_view message) override;
  // BLOCKING (fsync): spools the message in the outbound queue; without a queue, 451 4.3.0.
  Result<std::string> enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message) override;

 private:
  std::shared_ptr<store::MailStore> store_;
  directory::Directory& directory_;
  queue::Queue* queue_ = nullptr;
};

}  // namespace tern
