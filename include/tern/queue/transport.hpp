// tern::queue::Transport — the seam between the outbound queue (what to send, when, retries, DSNs) and
// delivery (how a message reaches a destination: MX lookup, smart host, LMTP, STARTTLS, MTA-STS, DANE).
//
// The queue groups the pending recipients of one message by destination (the recipient domain after the
// transport map) and calls deliver() once per group, never more than the per-destination cap at a time.
// A transport answers with one RecipientStatus per recipient, in order; it never throws and never loses a
// recipient: anything it could not try is `deferred` with the reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

namespace tern::queue {

struct DeliveryRecipient {
  std::string address;  // RFC 5321 forward-path without angle brackets ("user@remote.test")
  std::string notify;   // RFC 3461 NOTIFY as received ("" if none), passed on to DSN-capable peers
  std::string orcpt;    // RFC 3461 ORCPT ("rfc822;user@remote.test", "" if none)
};

struct DeliveryRequest {
  std::string queue_id;
  std::string return_path;  // "" for the null sender (bounces)
  std::string envid, ret;   // RFC 3461 ENVID, RET ("FULL"/"HDRS"/"")
  bool requiretls = false;  // RFC 8689: refuse any hop without verified TLS
  bool smtputf8 = false;    // RFC 6531
  bool eightbit = false;    // body has 8-bit octets (8BITMIME needed, RFC 6152)
  std::string domain;       // destination: all recipients of this request share it
  std::vector<DeliveryRecipient> recipients;
  // The spooled message, CRLF line ends, ready to send as is: message_size octets of message_file from
  // message_offset on (the queue file starts with the queue's record: spool_record.hpp).
  std::filesystem::path message_file;
  std::uint64_t message_offset = 0;
  std::uint64_t message_size = 0;
};

enum class RecipientOutcome { delivered, deferred, failed };

struct RecipientStatus {
  RecipientOutcome outcome = RecipientOutcome::deferred;
  int code = 0;              // the SMTP reply code that decided it (ours when no peer answered: 4xx/5xx)
  std::string enhanced;      // RFC 3463 code ("5.1.1")
  std::string text;          // the peer's reply text, or our sentence when no peer answered
  std::string remote_mta;    // host that answered (for the DSN's Remote-MTA field), "" if none
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Runs on the caller's executor. Must return exactly request.recipients.size() statuses, in order.
  virtual asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest& request) = 0;
};

}  // namespace tern::queue
