// Where the SMTP service puts what it accepted: local mailboxes (the mail store) and the outbound queue.
// A message is acknowledged with 250 only after the sink returned success, and a sink returns success
// only once the copy is durable (fsync'd), so an acknowledged message survives kill -9 and power loss.
//
// BLOCKING: deliver_local and enqueue write and fsync files; the SMTP session runs them on the worker pool
// (enqueue through enqueue_async).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "tern/core/result.hpp"
#include "tern/net/worker_pool.hpp"

namespace tern::smtp {

struct LocalDelivery {
  std::string mailbox;         // the mailbox address ("user@example.test")
  std::string folder = "INBOX";
  bool junk = false;           // quarantined by a hook: deliver to the Junk folder instead
};

struct QueuedRecipient {
  std::string address;
  std::string notify;  // RFC 3461 NOTIFY as received ("" if none)
  std::string orcpt;   // RFC 3461 ORCPT ("rfc822;addr" form, "" if none)
};

struct QueuedEnvelope {
  std::string return_path;  // "" for the null sender
  std::string envid, ret;   // RFC 3461 ENVID and RET ("FULL"/"HDRS"/"")
  bool requiretls = false;  // RFC 8689
  bool smtputf8 = false;
  std::vector<QueuedRecipient> recipients;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // Stores `message` (which already carries Return-Path and Received) in one mailbox. Errors:
  // ErrorCategory::limit for "mailbox full" (552 5.2.2), not_found for a mailbox that vanished
  // (550 5.1.1), anything else is temporary (451 4.3.0).
  virtual Status deliver_local(const LocalDelivery& target, std::string_view message) = 0;
  // Whether `target` can take a message of `size` octets now (0: size unknown): checked at RCPT so a
  // full mailbox is refused before the body is sent. Same error categories as deliver_local; the
  // default accepts (the check is repeated by deliver_local anyway).
  virtual Status check_local(const LocalDelivery& target, std::uint64_t size) {
    (void)target;
    (void)size;
    return {};
  }
  // Hands a message for remote recipients to the outbound queue; returns its queue id.
  virtual Result<std::string> enqueue(const QueuedEnvelope& envelope, std::string_view message) = 0;
  // The same for the SMTP session, which awaits it: a sink that can wait for the disk without holding a
  // worker thread (the server's StoreSink) overrides it; by default enqueue() runs on a worker.
  virtual asio::awaitable<Result<std::string>> enqueue_async(const QueuedEnvelope& envelope, std::string_view message,
                                                             net::WorkerPool& workers) {
    co_return co_await workers.run([&]() { return enqueue(envelope, message); });
  }
};

}  // namespace tern::smtp
