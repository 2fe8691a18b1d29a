// Composing messages and MIME parts (RFC 5322, RFC 2045-2047, RFC 2231): header fields folded at white space
// (78 characters where possible, never more than 998, RFC 5322 §2.1.1), RFC 2047 encoded-words for non-ASCII
// text and display names, RFC 2231 parameters for non-ASCII file names, multiparts with boundaries that do not
// occur in their content, a transfer encoding chosen by content, Message-ID and Date generators.
// Used for DSN bounces, vacation replies and quota warnings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tern/mime/address.hpp"
#include "tern/mime/date.hpp"

namespace tern::mime {

enum class TransferEncoding {
  automatic,         // by content: 7bit, 8bit (when BuildOptions::allow_8bit), quoted-printable or base64
  seven_bit,
  eight_bit,
  binary,
  quoted_printable,
  base64,
};

struct BuildOptions {
  bool allow_8bit = false;     // 8BITMIME path: text with 8-bit bytes may stay unencoded (RFC 6152)
  bool utf8_headers = false;   // SMTPUTF8 path: UTF-8 in header fields without encoded-words (RFC 6532)
  std::uint64_t seed = 0;      // boundaries: 0 draws from std::random_device; else reproducible
};

// "Name: value" for an unstructured field (RFC 5322 §3.2.5, e.g. Subject, Comments, X-*): RFC 2047
// encoded-words where the text is not ASCII (or has "=?" or a word too long to fold), folded; ends in CRLF.
std::string format_unstructured_field(std::string_view name, std::string_view utf8_text, bool utf8_headers = false);
// "Name: value" for a structured value already in its syntax (addresses, ids, parameters): folded at white
// space outside quoted strings only; ends in CRLF.
std::string format_structured_field(std::string_view name, std::string_view value);

// RFC 2047 encoded-words (B or Q, the shorter; UTF-8; each ≤ 75 characters, split between characters,
// separated by a space). The Q form uses only the characters RFC 2047 §5(3) allows in a phrase.
std::string encode_words(std::string_view utf8, std::size_t first_word_max = 75);

// A display name (RFC 5322 §3.2.5 phrase): atoms as they are, a quoted-string when it has specials,
// encoded-words when it is not ASCII (raw UTF-8 in a quoted-string with utf8_headers).
std::string format_phrase(std::string_view utf8, bool utf8_headers = false);
// "Name <local@domain>" or "local@domain" (local part quoted when it is not a dot-atom).
std::string format_mailbox(const Mailbox& m, bool utf8_headers = false);
std::string format_address_list(const std::vector<Mailbox>& list, bool utf8_headers = false);
// Mailbox from a display name and an addr-spec "local@domain" (the local part may be quoted).
Mailbox make_mailbox(std::string_view display_name, std::string_view addr_spec);

// "; name=value" for a Content-Type/-Disposition parameter: token, quoted-string, or RFC 2231
// (name*=utf-8''%XX..., continued as name*0*, name*1* ... when long) for non-ASCII or long values.
std::string format_parameter(std::string_view name, std::string_view utf8_value);

// "<random@hostname>" (RFC 5322 §3.6.4) with 128 random bits.
std::string make_message_id(std::string_view hostname);
// RFC 5322 §3.3 date-time of a Unix time in a zone (minutes east of UTC).
std::string make_date(std::int64_t unix_time, int zone_minutes = 0);

// One MIME entity: a leaf with content, a multipart with children, or a message/rfc822.
struct MimePart {
  std::string type = "text", subtype = "plain";
  std::vector<std::pair<std::string, std::string>> params;  // Content-Type parameters (UTF-8 values)
  std::string disposition;                                    // "inline", "attachment" or empty
  std::vector<std::pair<std::string, std::string>> disposition_params;
  std::vector<std::pair<std::string, std::string>> headers;  // more unstructured fields (name, UTF-8 text)
  std::string content;   // the decoded content (text: UTF-8, any line ends; others: bytes)
  TransferEncoding encoding = TransferEncoding::automatic;
  std::vector<MimePart> parts;  // multipart children

  // text/<subtype>; charset=utf-8 (us-ascii when the text is ASCII).
  static MimePart text(std::string_view utf8, std::string_view subtype = "plain");
  // Any content with a MIME type ("application/pdf").
  static MimePart data(std::string_view bytes, std::string_view mime_type);
  // Content-Disposition: attachment with the (UTF-8) filename, also as the Content-Type name parameter.
  static MimePart attachment(std::string_view bytes, std::string_view mime_type, std::string_view filename);
  // multipart/<subtype> ("mixed", "alternative", "related", "report" ...) of the parts.
  static MimePart multipart(std::string_view subtype, std::vector<MimePart> parts,
                            std::vector<std::pair<std::string, std::string>> params = {});
  // message/rfc822 (or message/global, RFC 6532 §3.7) holding a whole message, never re-encoded.
  static MimePart message(std::string_view message_bytes, bool global = false);

  // The entity: its header fields, an empty line and its encoded body (CRLF line ends).
  std::string build(const BuildOptions& options = {}) const;
};

// A whole message: the RFC 5322 §3.6 fields in the usual order, MIME-Version, then the body entity.
class MessageBuilder {
 public:
  MessageBuilder& date(std::string_view rfc5322_date);  // e.g. make_date(now, zone)
  MessageBuilder& from(const Mailbox& m);
  MessageBuilder& sender(const Mailbox& m);
  MessageBuilder& reply_to(const Mailbox& m);
  MessageBuilder& to(const Mailbox& m);
  MessageBuilder& cc(const Mailbox& m);
  MessageBuilder& subject(std::string_view utf8);
  MessageBuilder& message_id(std::string_view id);  // with or without the angle brackets
  MessageBuilder& in_reply_to(std::string_view ids);
  MessageBuilder& references(std::string_view ids);
  // Any other field: unstructured text (encoded where needed), or a value already in its syntax.
  MessageBuilder& header(std::string_view name, std::string_view utf8_text);
  MessageBuilder& structured_header(std::string_view name, std::string_view value);
  MessageBuilder& body(MimePart part);

  std::string build(const BuildOptions& options = {}) const;

 private:
  std::string date_, message_id_, subject_, in_reply_to_, references_;
  bool has_subject_ = false;
  std::vector<Mailbox> from_, sender_, reply_to_, to_, cc_;
  std::vector<std::pair<std::string, std::string>> unstructured_, structured_;
  MimePart body_ = MimePart::text("");
};

}  // namespace tern::mime
