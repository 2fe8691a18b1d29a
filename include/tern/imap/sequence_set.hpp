// tern::imap::SequenceSet — RFC 9051 §9 sequence-set (message numbers or UIDs), plus the RFC 5182
// SEARCHRES "$" reference. Shared by the command parser (lib/imap/protocol) and the session.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace tern::imap {

// One "a:b" range as written; kStar stands for "*" (the largest number in use). first may exceed last
// ("4:2" means 2:4, RFC 9051 §9 seq-range).
struct SeqRange {
  static constexpr std::uint32_t kStar = 0;
  std::uint32_t first = 1;
  std::uint32_t last = 1;
  friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

struct SequenceSet {
  std::vector<SeqRange> ranges;
  bool saved = false;  // "$": the result saved by SEARCH RETURN (SAVE) (RFC 5182); ranges empty
  friend bool operator==(const SequenceSet&, const SequenceSet&) = default;

  // Does `n` fall into the set when the largest number in use is `largest` ("*" = largest;
  // on an empty mailbox "*" matches nothing)? Not meaningful for saved sets.
  bool contains(std::uint32_t n, std::uint32_t largest) const {
    for (const auto& r : ranges) {
      std::uint32_t a = r.first == SeqRange::kStar ? largest : r.first;
      std::uint32_t b = r.last == SeqRange::kStar ? largest : r.last;
      if (a > b) std::swap(a, b);
      if (a != 0 && n >= a && n <= b) return true;
    }
    return false;
  }
};

}  // namespace tern::imap
