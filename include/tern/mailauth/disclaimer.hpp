// add_disclaimer — a per-domain disclaimer appended to the body of an outbound message, done with the
// MIME tree (tern/mime/message.hpp) instead of the byte surgery of alterMIME: only the first body part
// (or the text and HTML alternatives of it) changes; attachments, embedded messages and every other byte
// stay exactly as they were. A pure function (no I/O, no clock): bytes and the disclaimer in, the new
// bytes (or the reason the message is left alone) out. Bounded by DisclaimerOptions.
//
// Rules (see docs/disclaimer.md):
//  - text/plain: decoded with its Content-Transfer-Encoding, the text appended after a blank line in the
//    part's charset, re-encoded with the same encoding; when the charset cannot represent the text the
//    part becomes UTF-8 (Content-Type charset=utf-8); a 7bit part that now has 8-bit bytes or lines over
//    998 octets (RFC 5322 §2.1.1) becomes quoted-printable.
//  - text/html: the HTML inserted before the last "</body" (case-insensitive), else at the end;
//    characters the charset lacks are written as numeric character references, so the charset (which an
//    HTML <meta> may repeat) never changes.
//  - multipart/alternative: every text/plain and text/html alternative (multipart/related: its root);
//    multipart/mixed and others: the first body part that is not an attachment.
//  - Never inside message/rfc822; multipart/signed, multipart/encrypted, application/pkcs7-mime and
//    inline PGP leave the whole message unchanged (RFC 1847 §2.1: any change breaks the signature), and
//    so does a DKIM-Signature already present (someone else signed it; RFC 6376 §3.7 body hash).
//  - A message carrying "X-Tern-Disclaimer" or whose body part already contains the disclaimer text
//    (a reply quoting an earlier stamped message) is not stamped twice.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mime/message.hpp"

namespace tern::mailauth {

struct DisclaimerText {
  std::string text;  // UTF-8 plain text (line breaks LF or CRLF)
  std::string html;  // UTF-8 HTML fragment; empty: the text, HTML-escaped, is used for HTML parts
};

struct DisclaimerOptions {
  std::size_t max_message_size = 10 * 1024 * 1024;  // larger messages are left unchanged
  mime::ParseLimits parse;
};

enum class DisclaimerResult {
  added,                // the disclaimer is in the returned message
  too_large,            // over max_message_size
  already_present,      // X-Tern-Disclaimer header, or every target part already has the text
  signed_or_encrypted,  // multipart/signed, multipart/encrypted, application/pkcs7-mime, inline PGP, DKIM-Signature
  no_text_part,         // no text/plain or text/html body part outside attachments
  unsupported,          // unknown charset or transfer encoding, undecodable body, or parse defects
};

std::string_view to_string(DisclaimerResult r) noexcept;

struct DisclaimerOutcome {
  DisclaimerResult result = DisclaimerResult::no_text_part;
  std::string message;                // the new message when result == added; empty otherwise
  std::vector<std::string> parts;     // IMAP part numbers that changed ("1", "1.2"; "1" for a single part)
  bool converted_to_utf8 = false;     // a text/plain part's charset became UTF-8
  std::string detail;                 // why it was left unchanged, for the log
};

// The header field that marks a stamped message (its value is the domain).
inline constexpr std::string_view kDisclaimerHeader = "X-Tern-Disclaimer";

DisclaimerOutcome add_disclaimer(std::string_view message, std::string_view domain, const DisclaimerText& disclaimer,
                                 const DisclaimerOptions& options = {});

}  // namespace tern::mailauth
