// The default MessageSink until the mail store takes over delivery: a local delivery agent that writes
// each copy into the recipient's Maildir `new/` the way Dovecot's LDA does — a unique file in `tmp/`,
// fsync, rename into `new/`, fsync the directory — so a copy exists on disk before the 250 is sent and any
// Maildir reader (Dovecot, Tern's store) picks it up. Layout: <root>/<domain>/<user>/ (INBOX) and
// <root>/<domain>/<user>/.Junk/ for quarantined mail.
#pragma once

#include <filesystem>
#include <string>

#include "tern/smtp/message_sink.hpp"

namespace tern::smtp {

class MaildirSink : public MessageSink {
 public:
  // `root` is <data_dir>/mail; `hostname` goes into the file names (Maildir uniqueness rule).
  MaildirSink(std::filesystem::path root, std::string hostname);
  Status deliver_local(const LocalDelivery& target, std::string_view message) override;
  // No outbound queue in this build yet: remote recipients are deferred (451 4.3.0).
  Result<std::string> enqueue(const QueuedEnvelope& envelope, std::string_view message) override;

  // The Maildir folder a delivery goes to (created on demand).
  std::filesystem::path folder_path(const LocalDelivery& target) const;

 private:
  std::filesystem::path root_;
  std::string hostname_;
};

}  // namespace tern::smtp
