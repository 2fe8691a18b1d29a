// IMAP-facing views of a parsed message: ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2), computed from
// the parse so the IMAP module only serialises them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/mime/message.hpp"

namespace tern::mime {

// An ENVELOPE address: (name adl mailbox host); group start is (NIL NIL "group" NIL), group end
// is (NIL NIL NIL NIL) (RFC 9051 §7.5.2).
struct EnvelopeAddress {
  std::optional<std::string> name, adl, mailbox, host;
};

struct Envelope {
  std::optional<std::string> date, subject;  // raw header values, unfolded, not decoded
  std::vector<EnvelopeAddress> from, sender, reply_to, to, cc, bcc;  // empty: NIL
  std::optional<std::string> in_reply_to, message_id;
};

// Sender and Reply-To default to From when absent (RFC 9051 §7.5.2).
Envelope make_envelope(const Message& m, const Part& message_part);

struct BodyStructure {
  std::string type, subtype;  // upper-case as servers send them is not required; lower case here
  std::vector<std::pair<std::string, std::string>> params;
  std::optional<std::string> id, description;
  std::string encoding;        // Content-Transfer-Encoding
  std::size_t size = 0;        // body octets, encoded
  std::size_t lines = 0;       // text/* and message/rfc822 only
  std::optional<std::string> md5;
  std::optional<std::string> disposition;
  std::vector<std::pair<std::string, std::string>> disposition_params;
  std::vector<std::string> language;  // Content-Language
  std::optional<std::string> location;
  std::vector<BodyStructure> children;       // multipart
  std::shared_ptr<Envelope> envelope;        // message/rfc822 and message/global
  std::shared_ptr<BodyStructure> message_body;
  bool multipart = false;
};

BodyStructure make_body_structure(const Message& m, const Part& part);
BodyStructure make_body_structure(const Message& m);

// IMAP syntax (RFC 9051 §9): strings quoted, literals for CR/LF/NUL/'"'-heavy values, NIL for absent.
std::string to_imap(const Envelope& e);
// extended: BODYSTRUCTURE (with extension data); false: BODY.
std::string to_imap(const BodyStructure& b, bool extended = true);

}  // namespace tern::mime
