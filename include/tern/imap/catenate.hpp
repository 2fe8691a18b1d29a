// tern::imap CATENATE (RFC 4469) and the IMAP URLs it uses (RFC 5092): the grammar side, pure functions.
// The session fetches what a URL names and assembles the message (session_mailboxes.cpp).
//
// RFC 4469 §5 (with RFC 3516 literal8 and RFC 6855 UTF8 parts, as Dovecot accepts them):
//   append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"
//   cat-part    = text-literal / url
//   text-literal = "TEXT" SP (literal / literal8)
//   url         = "URL" SP astring
// URLs (RFC 5092 §11) are limited to messages of the authenticated user on this server:
//   "/" enc-mailbox [";UIDVALIDITY=" nz-number] "/;UID=" nz-number ["/;SECTION=" enc-section]
//       ["/;PARTIAL=" number ["." nz-number]]
// or the same path after "imap://<user>@<host>" naming the session's own user and this host. Keys are
// case-insensitive; enc-mailbox and enc-section are %-escaped UTF-8 (RFC 5092). URLAUTH (";EXPIRE=",
// ";URLAUTH=") is not supported. Every URL that fails here is answered NO [BADURL url] (RFC 4469 §3),
// not BAD: the URL is an astring, well-formed as far as IMAP's own grammar goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/imap/command.hpp"
#include "tern/imap/fetch_item.hpp"

namespace tern::imap {

inline constexpr std::size_t kMaxImapUrl = 8 * 1024;    // bytes of one URL
inline constexpr std::size_t kMaxCatenateParts = 256;   // TEXT and URL parts of one message

// A message (part) of the user's own mailboxes.
struct ImapUrl {
  std::string mailbox;                       // store name (UTF-8, "INBOX" normalised)
  std::optional<std::uint32_t> uid_validity;  // when given, must match the mailbox's
  std::uint32_t uid = 0;
  std::optional<Section> section;            // nullopt: the whole message
  std::optional<Partial> partial;            // length 0xFFFFFFFF when only the offset was given
  friend bool operator==(const ImapUrl&, const ImapUrl&) = default;
};

// `user` is the authenticated user ("local@domain"), `host` this server's name; both only matter for
// absolute "imap://" URLs. Errors (category invalid_argument; auth for another user or
// server) carry a sentence for the NO [BADURL] answer.
Result<ImapUrl> parse_imap_url(std::string_view url, std::string_view user, std::string_view host);

struct CatenatePart {
  enum class Kind { text, url } kind = Kind::text;
  const Arg* value = nullptr;  // text: the literal (literal8 when value->literal8); url: the astring
};

// The parts of "CATENATE (...)" (the list argument). `utf8_enabled`: RFC 6855 "UTF8 (~{n})" parts are
// allowed (after ENABLE UTF8=ACCEPT). Syntax errors (BAD) are category invalid_argument; more than
// kMaxCatenateParts parts is category limit.
Result<std::vector<CatenatePart>> parse_catenate(const Arg& list, bool utf8_enabled);

// The message RFC 4469 §3 describes: the parts in order, TEXT as sent, URL as `fetch_url` returns it
// (the session fetches with BODY.PEEK semantics). Stops at the first failure:
// - a URL `fetch_url` fails on: code "BADURL", `url` set, `message` the fetcher's sentence;
// - more than `limit` bytes assembled (APPENDLIMIT, RFC 7889): "TOOBIG", checked after each part so no
//   more than one part beyond the limit is ever held;
// - nothing at all: "CANNOT" (an empty message is not appended).
struct CatenateResult {
  std::string message;
  bool literal8 = false;  // a TEXT part was a literal8: store it as an APPEND literal8 (RFC 3516 §4.4)
};
struct CatenateFailure {
  std::string code;  // "BADURL", "TOOBIG", "CANNOT"
  std::string url;   // BADURL: the URL as the client sent it
  std::string message;
};
using UrlFetcher = std::function<Result<std::string>(const std::string& url)>;
tl::expected<CatenateResult, CatenateFailure> assemble_catenate(const std::vector<CatenatePart>& parts, std::uint64_t limit,
                                                                const UrlFetcher& fetch_url);

// RFC 4469 §5 (errata 2002, 4046): the bare URL for "[BADURL <url-resp-text>]": any TEXT-CHAR except "]",
// so the URL is cut before the first "]" or control byte, and at 1 KiB.
std::string url_resp_text(std::string_view url);

}  // namespace tern::imap
