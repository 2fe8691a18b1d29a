// Delivery status notifications (RFC 3464) as multipart/report (RFC 6522) messages, built with mime::MessageBuilder:
// a human-readable part, a message/delivery-status part and the original message (message/rfc822) or its
// header (text/rfc822-headers) as RET= asks (RFC 3461 4.3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::queue {

enum class DsnAction { failed, delayed, delivered, relayed, expanded };  // RFC 3464 2.3.3
std::string_view to_string(DsnAction a) noexcept;

struct DsnRecipient {
  std::string final_recipient;     // the address ("user@remote.test"), written as "rfc822; user@remote.test"
  std::string original_recipient;  // ORCPT as received ("rfc822;user@x"), "" if none
  DsnAction action = DsnAction::failed;
  std::string status;              // RFC 3463 "5.1.1"
  std::string remote_mta;          // "" if no peer answered
  int code = 0;                    // reply code for Diagnostic-Code ("smtp; 550 5.1.1 text"); 0: none
  std::string diagnostic;          // the reply after its code, with its enhanced code ("5.1.1 text")
  std::int64_t last_attempt = 0;   // unix seconds; 0: none
  std::int64_t will_retry_until = 0;  // delayed only
};

struct DsnInput {
  std::string reporting_mta;  // our host name
  std::string recipient;      // the envelope sender the DSN goes to ("" never: callers drop those)
  std::string queue_id;
  std::string envid;          // ENVID of the original ("" none)
  std::string ret;            // "FULL", "HDRS" or ""
  bool smtputf8 = false;      // original needed SMTPUTF8
  std::int64_t arrival = 0;   // unix seconds
  std::int64_t now = 0;       // unix seconds (Date:)
  std::string message_id;     // Message-ID for the DSN without brackets
  std::vector<DsnRecipient> recipients;
  std::string_view original;  // the original message (CRLF)
};

// The complete DSN message with CRLF line ends. The kind (failure, delay, success) follows from the first
// recipient's action; callers put recipients of one kind into one DSN.
std::string compose_dsn(const DsnInput& in);

// The header block of a message (up to, not including, the empty line).
std::string_view header_block(std::string_view message);

}  // namespace tern::queue
