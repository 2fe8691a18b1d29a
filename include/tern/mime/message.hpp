// tern::mime::parse: an RFC 5322 / MIME message as a tree of parts with byte offsets into the original.
// The parser never throws, never loops and is bounded by ParseLimits; every deviation from the RFCs is
// recorded as a Defect (kind + byte offset) and the best-effort tree mainstream clients would show is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct ParseLimits {
  std::size_t max_headers = 1000;           // header fields per part
  std::size_t max_header_line = 64 * 1024;  // bytes of one (folded) header field
  std::size_t max_depth = 32;               // nesting of multipart and message/rfc822
  std::size_t max_parts = 5000;             // parts in the whole tree
  // Header bytes kept for the whole message (fields beyond it are dropped with header_count_limit);
  // with max_header_line this bounds what a streamed parse holds, whatever the message size.
  std::size_t max_header_bytes = 8 * 1024 * 1024;
};

enum class DefectKind {
  header_count_limit,              // more header fields than max_headers (the rest are ignored)
  header_line_too_long,            // a header field longer than max_header_line (kept, truncated)
  depth_limit,                     // nesting deeper than max_depth (treated as a leaf)
  part_count_limit,                // more parts than max_parts (the rest is left in the parent body)
  first_line_is_continuation,      // the header block starts with white space (line ignored)
  missing_header_body_separator,   // a line that is no field, followed by no more header, starts the body
  broken_header_line,              // a line that is no field (no colon, or white space in the name) followed
                                   // by more header: skipped, the header block goes on (as Dovecot reads it)
  invalid_header_name,             // a field name with characters outside RFC 5322 §3.6.8 ftext
  nul_in_header,                   // a NUL byte in a header field
  bare_cr,                         // a CR not followed by LF
  invalid_content_type,            // Content-Type without type/subtype (text/plain assumed, RFC 2045 §5.2)
  multiple_content_type,           // more than one Content-Type field (the first is used)
  invalid_parameter,               // a malformed parameter (RFC 2045 §5.1, RFC 2231)
  no_boundary_in_multipart,        // multipart/* without boundary parameter (treated as a leaf)
  start_boundary_not_found,        // multipart body without any delimiter line (treated as a leaf)
  close_boundary_not_found,        // the final "--boundary--" line is missing (RFC 2046 §5.1.1)
  invalid_transfer_encoding,       // an unknown Content-Transfer-Encoding
  invalid_base64,                  // characters outside the base64 alphabet or bad padding
  invalid_quoted_printable,        // a malformed "=" escape
  non_ascii_header,                // 8-bit bytes in a header (allowed only by RFC 6532)
};

std::string_view to_string(DefectKind k) noexcept;

struct Defect {
  DefectKind kind;
  std::size_t offset;  // byte offset into the parsed message
};

// One header field, exactly as it appears (RFC 5322 §2.2). Of a field longer than
// ParseLimits::max_header_line, raw keeps the name and max_header_line bytes of value (+ line break).
struct Header {
  std::string_view name;   // field name as written (compare case-insensitively)
  std::string_view value;  // raw folded value after the colon, without the final line break
  std::string_view raw;    // the whole field including its final line break
  std::size_t offset = 0;  // offset of the field name in the message

  std::string unfolded() const;  // value with CRLF/LF before white space removed (RFC 5322 §2.2.3)
};

struct Parameter {
  std::string name;   // lower case
  std::string value;  // decoded to UTF-8 (RFC 2231 continuations and charsets, RFC 2047 words)
  std::string charset;   // RFC 2231 charset if one was given, lower case
  std::string language;  // RFC 2231 language if one was given
};

using Parameters = std::vector<Parameter>;
const std::string* find_parameter(const Parameters& params, std::string_view name);

struct ContentType {
  std::string type = "text";     // lower case
  std::string subtype = "plain";  // lower case
  Parameters params;
  bool present = false;  // false if defaulted (RFC 2045 §5.2)
  std::string mime_type() const { return type + "/" + subtype; }
};

struct ContentDisposition {
  std::string type;  // lower case; empty if absent
  Parameters params;
};

// Content-Type "type/subtype; params" (RFC 2045 §5.1); false if the type/subtype is malformed.
bool parse_content_type(std::string_view value, ContentType& out, std::vector<Defect>* defects = nullptr,
                        std::size_t offset = 0);
// Content-Disposition "type; params" (RFC 2183).
bool parse_content_disposition(std::string_view value, ContentDisposition& out,
                               std::vector<Defect>* defects = nullptr, std::size_t offset = 0);
// "; a=b; c*0=..." parameter lists (RFC 2045 §5.1, RFC 2231 §3-4).
Parameters parse_parameters(std::string_view list, std::vector<Defect>* defects = nullptr,
                            std::size_t offset = 0);

struct Part {
  std::size_t header_start = 0;  // first byte of the header block
  std::size_t header_end = 0;    // end of the last header field (before the empty line)
  std::size_t body_start = 0;    // first byte after the empty line
  std::size_t body_end = 0;      // end of the body (the line break before a delimiter belongs to it)
  std::size_t header_lines = 0;
  std::size_t body_lines = 0;    // lines in the body (RFC 9051 §7.5.2 "size in text lines")
  std::string number;            // IMAP part number: "" for a multipart top level, "1", "1.2", ...
  int parent = -1;               // index into Message::parts
  std::size_t depth = 0;
  std::vector<int> children;     // multipart: the body parts; message/rfc822: the one embedded message
  bool is_message = false;       // this node is a message (top level or embedded in message/rfc822)
  std::vector<Header> headers;
  ContentType content_type;
  ContentDisposition disposition;
  std::string transfer_encoding = "7bit";  // lower case
  // Multipart only: preamble and epilogue (RFC 2046 §5.1.1) as offsets.
  std::size_t preamble_end = 0;
  std::size_t epilogue_start = 0;

  bool is_multipart() const { return content_type.type == "multipart" && !children.empty(); }
  // The first header field with this name (case-insensitive), or nullptr.
  const Header* header(std::string_view name) const;
};

struct Message {
  // The parsed bytes (the caller keeps them alive). Empty after a streamed parse (MessageParser): set it
  // to the same bytes (e.g. an mmap of the stored file) to use header_block(), body() and serialize().
  std::string_view source;
  std::size_t size = 0;      // bytes parsed
  // Streamed parse only: the copy of the header fields the Header views point into (shared by copies).
  std::shared_ptr<const std::string> header_store;
  std::vector<Part> parts;   // parts[0] is the top-level message; children follow their parent
  std::vector<Defect> defects;

  const Part& root() const { return parts.front(); }
  // Views into source; empty when source does not hold the part (a streamed parse without source).
  std::string_view header_block(const Part& p) const {
    return p.header_end <= source.size() ? source.substr(p.header_start, p.header_end - p.header_start) : std::string_view{};
  }
  std::string_view body(const Part& p) const {
    return p.body_end <= source.size() ? source.substr(p.body_start, p.body_end - p.body_start) : std::string_view{};
  }
  // The part with this IMAP number, or nullptr; for N.1 where part N is a message/rfc822 holding a
  // non-multipart message, that embedded message (its body is the body of N.1).
  const Part* find(std::string_view number) const;
};

// The whole message in one buffer: the same tree MessageParser (message_parser.hpp) gives for any
// chunking of the same bytes; Header views point into `message` (nothing is copied).
Message parse(std::string_view message, const ParseLimits& limits = {});

// The message rebuilt from the tree (header fields, separators, bodies, delimiter lines taken from
// their offsets); equal to the source for every input, which tests use to check the offsets. Empty when
// source does not hold the parsed bytes (a streamed parse without source).
std::string serialize(const Message& m);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace tern::mime
