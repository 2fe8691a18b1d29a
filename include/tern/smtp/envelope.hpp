// The SMTP envelope: paths (RFC 5321 4.1.2) and MAIL/RCPT parameters (RFC 1870 SIZE, RFC 6152
// 8BITMIME, RFC 3030 BINARYMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 4954 AUTH=, RFC 8689
// REQUIRETLS, RFC 2852 DELIVERBY). Paths are lib/mime's (no parser of their own here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tern/mime/smtp_address.hpp"

namespace tern::smtp {

// A reverse-path or forward-path: the one RFC 5321 path of lib/mime (tern/mime/smtp_address.hpp), parsed
// with mime::parse_smtp_path. "<>" is `null`, the RCPT special "<Postmaster>" (RFC 5321 4.1.1.3) is
// `postmaster`, a source route ("<@a,@b:user@c>") is accepted and dropped (RFC 5321 4.1.2, appendix C);
// `mailbox.local_part` is unquoted with its case kept, `mailbox.address()` the minimally quoted
// "local@domain" the rest of the server stores.
using MailPath = mime::SmtpPath;

// RFC 3461 4: xtext decoding ("+2B" -> "+"). nullopt if not valid xtext.
std::optional<std::string> decode_xtext(std::string_view in);
// RFC 3461 4: xtext encoding (used by the client for ENVID/ORCPT pass-through).
std::string encode_xtext(std::string_view in);

// RFC 1652/6152/3030: BODY= values.
enum class BodyType { unspecified, seven_bit, eight_bit_mime, binary_mime };
// RFC 3461 4.3: RET=.
enum class DsnRet { unspecified, full, hdrs };

// RFC 3461 4.1: NOTIFY= as flags. `never` excludes the others.
struct DsnNotify {
  bool set = false;
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;
};

struct MailParams {
  std::optional<std::uint64_t> size;          // SIZE= (RFC 1870)
  BodyType body = BodyType::unspecified;      // BODY=
  bool smtputf8 = false;                      // SMTPUTF8 (RFC 6531)
  DsnRet ret = DsnRet::unspecified;           // RET= (RFC 3461)
  std::optional<std::string> envid;           // ENVID=, xtext-decoded (RFC 3461)
  bool requiretls = false;                    // REQUIRETLS (RFC 8689)
  std::optional<std::string> auth;            // AUTH=, xtext-decoded: a mailbox or "<>" (RFC 4954 5)
  std::optional<std::int64_t> deliver_by;     // BY= seconds (RFC 2852)
  char deliver_by_mode = 0;                   // 'R' or 'N' (RFC 2852 4)
  bool deliver_by_trace = false;              // 'T'
};

struct RcptParams {
  DsnNotify notify;                           // NOTIFY= (RFC 3461 4.1)
  std::optional<std::string> orcpt_type;      // ORCPT= address type ("rfc822", "utf-8")
  std::optional<std::string> orcpt;           // ORCPT= address, xtext-decoded (RFC 3461 4.2)
};

}  // namespace tern::smtp
