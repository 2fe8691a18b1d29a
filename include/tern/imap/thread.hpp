// tern::imap THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES, and the response syntax.
//
// ORDEREDSUBJECT (RFC 5256 §3, "ORDEREDSUBJECT"): messages sorted by (base subject, sent date);
// each run of equal base subjects is a thread whose first message is the parent of all the others.
// Threads are ordered by the sent date of their first message.
// REFERENCES (RFC 5256 §3, "REFERENCES", after JWZ): parent/child links from References: (or the
// first message id of In-Reply-To: when References: is absent), dummy parents for referenced messages
// not in the set, loops broken, dummies without children pruned and dummies with one child replaced
// by it (except at the root, where a dummy with several children stays), root messages with the same
// base subject grouped (a reply/forward goes under a non-reply), siblings sorted by sent date (a dummy
// takes the date of its first child), roots sorted by sent date. Duplicate Message-IDs: later messages
// get a unique id (as Dovecot). Ties in dates are broken by message order.
// Bounds for hostile mailboxes: a parent link is not made when the would-be parent's ancestor chain is
// longer than 1,000 (such pieces of one thread are then grouped by subject), and nodes deeper than 300
// levels become children of their ancestor at level 299, so the work is O(n) per message at worst and
// recursion depth stays bounded.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tern/imap/search.hpp"
#include "tern/imap/search_key.hpp"

namespace tern::imap {

// One node of a thread tree: `number` is the message's sequence number or UID; 0 for a dummy
// (a referenced message that is not in the result: not shown, only its children are).
struct ThreadNode {
  std::uint32_t number = 0;
  std::vector<ThreadNode> children;
  friend bool operator==(const ThreadNode&, const ThreadNode&) = default;
};

// The threads (roots in order) of the given messages. `uid` selects UIDs instead of sequence numbers.
std::vector<ThreadNode> thread_messages(std::span<MessageView* const> messages, ThreadAlgorithm algorithm,
                                        bool uid = false);

// The RFC 5256 §4 thread-list: "(1 2)(3 (4)(5))", "((6)(7))" for a dummy parent with two
// children; a chain prints as "(1 2 3)". Without "* THREAD " and CRLF.
std::string format_threads(const std::vector<ThreadNode>& threads);

// Message-IDs of a References:/In-Reply-To: value in order ("<a@b>" including the angle brackets,
// comments and junk between them skipped; RFC 5256 §3 REFERENCES step 1).
std::vector<std::string> parse_message_ids(std::string_view value);

}  // namespace tern::imap
