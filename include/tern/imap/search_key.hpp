// tern::imap::SearchKey — the parsed SEARCH program (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162
// MODSEQ, RFC 4731/9051 ESEARCH RETURN options, RFC 5182 SEARCHRES, RFC 8514 SAVEDATE), and the SORT
// criteria and THREAD algorithms (RFC 5256). The command parser (lib/imap/protocol) produces these;
// the evaluator (lib/imap/search) consumes them. Pure data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/imap/sequence_set.hpp"

namespace tern::imap {

// A calendar date as written in a search key ("1-Feb-1994"); compared by day in the server's zone
// for INTERNALDATE keys, in the Date: header's own zone for SENT* keys (RFC 9051 §6.4.4).
struct SearchDate {
  int year = 1970, month = 1, day = 1;
  friend bool operator==(const SearchDate&, const SearchDate&) = default;
  friend auto operator<=>(const SearchDate&, const SearchDate&) = default;
};

enum class SearchKeyKind {
  all,
  and_,          // parenthesised list / implicit conjunction: children
  or_,           // children[0] OR children[1]
  not_,          // NOT children[0]
  sequence_set,  // message numbers: set
  uid,           // UID set
  // flags
  answered, deleted, draft, flagged, seen, recent, new_, old,
  unanswered, undeleted, undraft, unflagged, unseen,
  keyword, unkeyword,  // text = the keyword
  // header and text searches (text = the string, substring match, case-insensitive)
  bcc, cc, from, subject, to,
  header,        // field = header name, text = substring ("" matches any message having the field)
  body, text,
  // dates
  before, on, since,                 // INTERNALDATE
  sentbefore, senton, sentsince,     // Date: header
  savedbefore, savedon, savedsince,  // RFC 8514
  savedatesupported,                 // RFC 8514
  older, younger,                    // RFC 5032 WITHIN: number = seconds
  // sizes
  larger, smaller,  // number = octets
  // RFC 7162 MODSEQ: number = mod-sequence; field = entry name ("" if none), text = entry type
  modseq,
  // RFC 8474 §6: text = the objectid
  emailid, threadid,
};

struct SearchKey {
  SearchKeyKind kind = SearchKeyKind::all;
  std::string field;
  std::string text;
  std::uint64_t number = 0;
  SearchDate date;
  SequenceSet set;
  std::vector<SearchKey> children;
};

// RFC 4731 / RFC 9051 §6.4.4.1 RETURN options, RFC 5182 SAVE.
struct SearchReturn {
  bool min = false, max = false, all = false, count = false, save = false;
  bool any() const { return min || max || all || count || save; }
};

struct SearchProgram {
  std::string charset;        // "" if none given; only US-ASCII and UTF-8 are accepted (BADCHARSET)
  bool esearch = false;       // RETURN (...) was given (an empty list means ALL, RFC 9051 §6.4.4)
  SearchReturn ret;
  SearchKey key;              // kind and_ with the top-level keys as children
};

// RFC 5256 SORT criteria (plus RFC 5957 DISPLAYFROM/DISPLAYTO).
enum class SortKey { arrival, cc, date, from, size, subject, to, displayfrom, displayto };
struct SortCriterion {
  SortKey key = SortKey::arrival;
  bool reverse = false;
  friend bool operator==(const SortCriterion&, const SortCriterion&) = default;
};

// RFC 5256 THREAD algorithms.
enum class ThreadAlgorithm { orderedsubject, references };

}  // namespace tern::imap
