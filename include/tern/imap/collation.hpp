// tern::imap collation: "i;unicode-casemap" (RFC 5051), the comparator IMAP uses for SORT (RFC 5256
// §2.1 with RFC 5255 COMPARATOR default) and, as Dovecot does, for SEARCH substring matching.
//
// The canonical form of a string is built code point by code point (RFC 5051 §2): the Unicode simple
// titlecase mapping is applied, then the full decomposition (canonical and compatibility mappings of
// UnicodeData.txt, applied recursively; Hangul syllables decomposed algorithmically). Two strings are
// equal when their canonical forms are equal; they are ordered by the code points of the canonical
// forms, which is the octet order of their UTF-8. Invalid UTF-8 octets become U+FFFD. The mapping
// table (lib/imap/search/casemap_table.inc) is generated from ICU 72 (Unicode 15) by
// lib/imap/search/gen_casemap.cpp; libtern itself does not link ICU.
#pragma once

#include <string>
#include <string_view>

namespace tern::imap {

// The RFC 5051 canonical form of UTF-8 text, as UTF-8.
std::string casemap_fold(std::string_view utf8);
// Appends the canonical form of `utf8` to `out` (no allocation when `out` has room).
void casemap_fold_append(std::string_view utf8, std::string& out);

// <0, 0, >0 like strcmp, on canonical forms (RFC 5051 §2 "ordering").
int casemap_compare(std::string_view a, std::string_view b);

// RFC 5051 "substring": does `needle` occur in `haystack` after folding both? Prefer folding the
// needle once and calling casemap_contains_folded for many haystacks.
bool casemap_contains(std::string_view haystack, std::string_view needle);
// `needle_folded` must already be casemap_fold()ed; the haystack is folded here.
bool casemap_contains_folded(std::string_view haystack, std::string_view needle_folded);

}  // namespace tern::imap
