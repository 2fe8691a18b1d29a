// tern::imap SORT (RFC 5256 §3 with RFC 5957 DISPLAYFROM/DISPLAYTO): ordering of messages by
// criteria with REVERSE, i;unicode-casemap comparison, ties broken by message sequence number.
//
// Keys (RFC 5256 §3):
// - ARRIVAL: INTERNALDATE; DATE: the Date: header (in UTC), INTERNALDATE when missing or unparsable.
// - SUBJECT: the base subject (base_subject() below) compared with i;unicode-casemap.
// - FROM/TO/CC: the local part of the first mailbox of the address header ("" when absent).
// - DISPLAYFROM/DISPLAYTO (RFC 5957 §3): the decoded display name of the first mailbox, or its
//   address "local@domain" when it has none.
// - SIZE: RFC822.SIZE.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/search.hpp"
#include "tern/imap/search_key.hpp"

namespace tern::imap {

// RFC 5256 §2.1 base subject of a Subject: header value (raw, possibly folded): RFC 2047 words
// decoded, tabs/continuations as spaces, runs of spaces collapsed; then repeatedly: trailing
// "(fwd)" and white space removed, leading "Re:", "Fw:", "Fwd:" (with optional "[blob]" before the
// colon) and "[blob]" prefixes removed (a blob is not removed when nothing would remain), and a
// "[Fwd: ...]" wrapper unwrapped. The result is not case-folded (compare with casemap_compare).
std::string base_subject(std::string_view raw_subject);

// RFC 5256 §2.1 "is a reply or forward" property, used by ORDEREDSUBJECT/REFERENCES subject grouping:
// whether base_subject removed a "Re:"/"Fwd:"-style prefix, a "(fwd)" trailer or a [Fwd: ] wrapper.
bool subject_is_reply_or_forward(std::string_view raw_subject);

// The sent date of a message for SORT DATE and THREAD (RFC 5256 §2.2): the Date: header as Unix
// time, INTERNALDATE when missing or unparsable.
std::int64_t sent_date(MessageView& message);

// The messages in SORT order (an empty criteria list sorts by sequence number). Returns their
// message sequence numbers, or UIDs when `uid` is set (UID SORT).
std::vector<std::uint32_t> sort_messages(std::span<MessageView* const> messages,
                                         const std::vector<SortCriterion>& criteria, bool uid = false);

}  // namespace tern::imap
