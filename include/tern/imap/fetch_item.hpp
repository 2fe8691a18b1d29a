// tern::imap::FetchItem — the parsed FETCH attributes (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162
// MODSEQ/CHANGEDSINCE/VANISHED, RFC 8474 OBJECTID, RFC 8514 SAVEDATE). The parser produces them, the
// session renders them with the section extractor (lib/imap/search's fetch_section). Pure data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tern::imap {

// BODY[<section>]: part path "1.2.3" (empty = the whole message) and what of it.
struct Section {
  enum class Text { full, header, header_fields, header_fields_not, text, mime };
  std::vector<std::uint32_t> part;    // e.g. {1, 2}; empty for the top level
  Text text = Text::full;
  std::vector<std::string> fields;    // HEADER.FIELDS (...) names, as given
  friend bool operator==(const Section&, const Section&) = default;
};

struct Partial {
  std::uint32_t offset = 0;  // "<offset.length>"
  std::uint32_t length = 0;
  friend bool operator==(const Partial&, const Partial&) = default;
};

struct FetchItem {
  enum class Kind {
    uid, flags, internaldate, rfc822_size, envelope,
    body,           // BODY without a section: non-extensible BODYSTRUCTURE
    bodystructure,
    body_section,   // BODY[...] / BODY.PEEK[...]
    binary,         // BINARY[...] / BINARY.PEEK[...] (RFC 3516): decoded content; part must be a leaf
    binary_size,    // BINARY.SIZE[...]
    rfc822, rfc822_header, rfc822_text,  // RFC 3501 forms (rev1)
    modseq,         // RFC 7162
    emailid, threadid,  // RFC 8474
    savedate,       // RFC 8514
  };
  Kind kind = Kind::uid;
  Section section;
  bool peek = false;                // .PEEK: don't set \Seen
  std::optional<Partial> partial;
  friend bool operator==(const FetchItem&, const FetchItem&) = default;
};

struct FetchModifiers {
  std::optional<std::uint64_t> changedsince;  // RFC 7162 §3.1.4
  bool vanished = false;                      // RFC 7162 §3.2.6 (UID FETCH only, needs QRESYNC)
};

}  // namespace tern::imap
