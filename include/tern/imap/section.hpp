// tern::imap section extraction: the bytes of FETCH BODY[section]<partial> (RFC 9051 §6.4.5),
// BINARY[section]<partial> and BINARY.SIZE[section] (RFC 3516), computed from the raw message and
// its parse (tern::mime). Pure functions; the session renders the literal.
//
// Rules (RFC 9051 §6.4.5, with Dovecot's choices where the RFC is silent):
// - BODY[] is the whole message; BODY[HEADER] the header block with its terminating empty line;
//   BODY[TEXT] the body; BODY[HEADER.FIELDS (A B)] the matching fields (names case-insensitive, in
//   message order, folded lines kept) followed by an empty line; HEADER.FIELDS.NOT the other fields.
// - Part numbers descend into multipart children and into message/rfc822 (message/global) parts;
//   for a non-multipart message "1" is its body; N.HEADER/N.TEXT/N.HEADER.FIELDS are only meaningful
//   when part N is a message/rfc822 part and then address the embedded message; N.MIME is the MIME
//   header block of part N (with its empty line).
// - Like Dovecot, ".1" of a leaf body part is the leaf itself (BODY[1.1] of a text/plain part 1 of a
//   multipart is part 1), but "1.1" of a non-multipart message is empty.
// - A part that does not exist, or HEADER/TEXT of a part that is not a message, yields an empty
//   string (Dovecot answers BODY[9] "" rather than NO).
// - HEADER.FIELDS(.NOT) scan the header block as written: lines the message parser set aside as
//   malformed (an mbox "From " line, a name with spaces) still count as fields, as in Dovecot.
// - Partial <o.l> clips to the bytes from o of at most l; past the end it is empty (RFC 9051 §6.4.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tern/core/result.hpp"
#include "tern/imap/fetch_item.hpp"
#include "tern/mime/message.hpp"

namespace tern::imap {

// The bytes of BODY[section] (before any partial). `message` is the parse of `message.source`.
std::string fetch_section(const mime::Message& message, const Section& section);

// The sub-range of `data` selected by `partial` (all of it when nullopt).
std::string_view apply_partial(std::string_view data, const std::optional<Partial>& partial);

// Error codes (Error::code, category unsupported / not_found) for BINARY.
enum class BinaryError {
  unknown_cte = 1,  // the part's Content-Transfer-Encoding is unknown: NO [UNKNOWN-CTE] (RFC 3516 §4.3)
  not_leaf = 2,     // reserved; not produced: like Dovecot, BINARY of a multipart returns its body as is
};

// BINARY[section] (RFC 3516 §4.1): the part's content with its Content-Transfer-Encoding removed
// (base64, quoted-printable decoded; 7bit/8bit/binary unchanged). BINARY[] is the whole message as is,
// and so is the body of a multipart or message/rfc822 part (Dovecot).
// The section's text must be `full` (the parser rejects HEADER/TEXT/MIME for BINARY). A nonexistent
// part yields an empty string like BODY. Malformed base64/QP is decoded leniently (as Dovecot).
Result<std::string> fetch_binary(const mime::Message& message, const Section& section);

// BINARY.SIZE[section] (RFC 3516 §4.2): the size of what fetch_binary returns.
Result<std::uint64_t> fetch_binary_size(const mime::Message& message, const Section& section);

// Is the first token of the part's Content-Transfer-Encoding one of 7bit/8bit/binary/base64/
// quoted-printable (an empty value, "7-bit" or "quoted printable" are not; "base64;" is), as in
// Dovecot's decoder? BINARY answers UNKNOWN-CTE and SEARCH BODY skips the part otherwise.
bool transfer_encoding_known(const mime::Part& part);

// RFC 3516 §4.4 APPEND of a literal8: the message with every non-multipart part whose
// Content-Transfer-Encoding is "binary" re-encoded as base64 (header value and body, the rest byte for
// byte), as Dovecot stores such messages, so BODY[] stays valid IMAP text while BINARY[] gives back
// the original bytes. nullopt when no part is binary.
std::optional<std::string> binary_parts_to_base64(std::string_view message);

// Does `data` contain NUL (RFC 3516 §4.4: then the literal must be literal8 "~{n}")?
bool needs_literal8(std::string_view data);

}  // namespace tern::imap
