// The disclaimer rewriter reads every outbound message a user submits. It may never crash, and what it
// returns must hold: unchanged (empty message) unless added; an added message has the marker, the same
// MIME tree (part numbers and types), every byte of the original before the first changed part, and is
// never stamped a second time. Input: "TEXT\0HTML\0MESSAGE" chooses the disclaimer; otherwise a fixed one.
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/mailauth/disclaimer.hpp"
#include "tern/mime/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::mailauth;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  DisclaimerText d{"This message is confidential.\nCaf\xc3\xa9 \xe2\x82\xac", "<p>Confidential &amp; caf\xc3\xa9</p>"};
  auto z1 = in.find('\0');
  auto z2 = z1 == std::string_view::npos ? z1 : in.find('\0', z1 + 1);
  if (z2 != std::string_view::npos && z2 < 512) {
    d.text = std::string(in.substr(0, z1));
    d.html = std::string(in.substr(z1 + 1, z2 - z1 - 1));
    in.remove_prefix(z2 + 1);
  }
  DisclaimerOptions o;
  o.max_message_size = 256 * 1024;
  auto out = add_disclaimer(in, "example.com", d, o);
  if (out.result != DisclaimerResult::added) {
    if (!out.message.empty() || !out.parts.empty()) std::abort();
    return 0;
  }
  if (out.parts.empty()) std::abort();
  auto a = tern::mime::parse(in), b = tern::mime::parse(out.message);
  if (a.parts.size() != b.parts.size() || !b.root().header(kDisclaimerHeader)) std::abort();
  for (std::size_t i = 0; i < a.parts.size(); ++i)
    if (a.parts[i].content_type.mime_type() != b.parts[i].content_type.mime_type()) std::abort();
  // Bytes before the first changed part's header block are untouched (in a multipart, the preamble and
  // every part before it; a single part may have its own Content-Type changed).
  std::size_t first = a.root().header_end;
  for (const auto& n : out.parts) {
    const auto* p = a.parts.size() == 1 ? &a.root() : a.find(n);
    if (!p) std::abort();
    first = std::min(first, p->header_start);
  }
  if (out.message.compare(0, first, in.substr(0, first)) != 0) std::abort();
  auto again = add_disclaimer(out.message, "example.com", d, o);
  if (again.result != DisclaimerResult::already_present) std::abort();
  return 0;
}
