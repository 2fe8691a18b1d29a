// The SMTP envelope: paths (RFC 5321 4.1.2) and MAIL/RCPT parameters (RFC 1870 SIZE, RFC 6152
// 8BITMIME, RFC 3030 BINARYMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 4954 AUTH=, RFC 8689
// REQUIRETLS, RFC 2852 DELIVERBY), with a strict, bounded path parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::smtp {

// A reverse-path or forward-path. A source route ("<@a,@b:user@c>") is accepted and ignored
// (RFC 5321 4.1.1.3 and appendix C).
struct MailPath {
  bool null = false;        // "<>" (reverse-path only)
  std::string local_part;   // as written: a dot-string or a quoted string with its quotes
  std::string domain;       // a domain (U-labels kept as UTF-8) or an address literal "[192.0.2.1]";
                            // empty only for the special RCPT "<Postmaster>"
  // "local@domain", "Postmaster", or "" for the null path.
  std::string address() const;
  bool is_postmaster() const noexcept;  // "<Postmaster>" without a domain (RFC 5321 4.1.1.3)
};

enum class PathError {
  none,
  syntax,            // not a path per RFC 5321 4.1.2
  too_long,          // local part > 64, domain > 255 or path > 256 octets (RFC 5321 4.5.3.1)
  utf8_not_allowed,  // non-ASCII without SMTPUTF8 (RFC 6531 3.2)
};

struct PathParse {
  MailPath path;
  std::size_t consumed = 0;  // octets of input used, including the angle brackets
  PathError error = PathError::none;
};

// Parses a path at the start of `in` ("<...>" followed by anything). `allow_null` admits "<>",
// `allow_utf8` admits UTF-8 in the local part and domain (well-formed UTF-8 only),
// `allow_postmaster` admits "<Postmaster>" without a domain.
PathParse parse_path(std::string_view in, bool allow_null, bool allow_utf8, bool allow_postmaster = false);

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
