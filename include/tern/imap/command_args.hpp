// tern::imap argument converters: from the generic argument tree of a Command (command.hpp) to the
// data model the session uses (sequence sets, FETCH items, SEARCH programs, SORT criteria, flags,
// dates), and the response-side string forms. Pure functions; every error is a tern::Error whose
// message is a sentence fit for "tag BAD <message>" (category invalid_argument), except
// BADCHARSET which uses category unsupported and message "BADCHARSET".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/imap/command.hpp"
#include "tern/imap/fetch_item.hpp"
#include "tern/imap/search_key.hpp"
#include "tern/imap/sequence_set.hpp"
#include "tern/store/mail_store.hpp"

namespace tern::imap {

// RFC 9051 §9 sequence-set ("1:4,7,9:*", "*") or "$" (RFC 5182). Numbers are 1..4294967295 (nz-number).
Result<SequenceSet> parse_sequence_set(std::string_view text);

// FETCH attributes (RFC 9051 §6.4.5): a single atom or a parenthesised list; the macros ALL, FAST, FULL
// expand (FULL = FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY). Section syntax is checked
// (BODY[1.2.HEADER.FIELDS (A B)]<0.100>, BINARY only with a part number or empty, HEADER/TEXT/MIME rules
// of RFC 9051 §6.4.5). `rev1`: RFC822, RFC822.HEADER, RFC822.TEXT are accepted (IMAP4rev1 only).
Result<std::vector<FetchItem>> parse_fetch_items(const Arg& arg, bool rev1 = true);
// FETCH modifiers "(CHANGEDSINCE 12 VANISHED)" (RFC 7162 §3.1.4.1, §3.2.6).
Result<FetchModifiers> parse_fetch_modifiers(const Arg& list);

// SEARCH arguments after the command name (RFC 9051 §6.4.4): [RETURN (opts)] [CHARSET x] keys...
// `allow_return`: ESEARCH/rev2 RETURN options accepted. The keys become children of an and_ root.
// All keys of RFC 9051 §6.4.4 and RFC 3501 (NEW/OLD/RECENT/UN*), RFC 7162 MODSEQ, RFC 5032
// OLDER/YOUNGER, RFC 8514 SAVED*, RFC 8474 EMAILID/THREADID, parenthesised groups, OR, NOT, sequence sets and "$".
// A CHARSET other than US-ASCII/UTF-8 (case-insensitive) fails with category unsupported, "BADCHARSET".
Result<SearchProgram> parse_search(std::span<const Arg> args, bool allow_return = true);

// SORT (RFC 5256): "(REVERSE DATE SUBJECT)" criteria list (DISPLAYFROM/DISPLAYTO of RFC 5957 too).
Result<std::vector<SortCriterion>> parse_sort_criteria(const Arg& list);
// THREAD algorithm atom.
Result<ThreadAlgorithm> parse_thread_algorithm(const Arg& atom);

// A flag list "(\Seen $Forwarded)" or a single flag atom (STORE accepts both). System flags map to
// store::SystemFlag bits; keywords are kept as written (sorted, unique). "\Recent" and other unknown
// backslash flags fail (RFC 9051 §2.3.2: \Recent cannot be set; unknown \-flags are not keywords).
// `allow_recent`: accept (and ignore) \Recent, as APPEND/STORE from IMAP4rev1 clients send it.
Result<store::MessageFlags> parse_flags(const Arg& arg, bool allow_recent = false);

// RFC 9051 date-time "17-Jul-1996 02:44:25 -0700" (day may be " 7" or "7") → Unix time.
Result<std::int64_t> parse_date_time(std::string_view text);
// Unix time → "17-Jul-1996 02:44:25 +0000" (for INTERNALDATE; zone in minutes east of UTC).
std::string format_date_time(std::int64_t unix_time, int zone_minutes = 0);

// RFC 9051 STATUS items (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ
// APPENDLIMIT, RFC 8474 MAILBOXID), upper-cased, validated.
Result<std::vector<std::string>> parse_status_items(const Arg& list);

// Response side ------------------------------------------------------------------------------
// A string as IMAP writes it: an atom-safe or quoted form when the bytes allow ("abc" → "\"abc\"",
// with \\ and \" escaped), else a literal "{n}\r\n<bytes>"; NIL is never produced.
std::string imap_string(std::string_view bytes);
// NIL for nullopt, else imap_string.
std::string imap_nstring(const std::optional<std::string_view>& bytes);
// An astring: the bare atom when every byte is an ATOM-CHAR (and it is not "NIL"), else imap_string.
std::string imap_astring(std::string_view bytes);
// "(\Seen \Answered $Forwarded)" in a stable order: \Answered \Flagged \Deleted \Seen \Draft, keywords.
std::string format_flags(const store::MessageFlags& flags, bool recent = false);

}  // namespace tern::imap
