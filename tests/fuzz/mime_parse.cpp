// Fuzz target: the MIME tree parser sees every stored and fetched message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/mime/imap_view.hpp"
#include "tern/mime/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  tern::mime::ParseLimits limits;
  limits.max_parts = 200;
  limits.max_depth = 10;
  auto m = tern::mime::parse(in, limits);
  if (m.parts.empty() || m.parts.size() > limits.max_parts) std::abort();
  for (const auto& p : m.parts) {
    if (!(p.header_start <= p.header_end && p.header_end <= p.body_start && p.body_start <= p.body_end &&
          p.body_end <= size))
      std::abort();
    if (p.depth > limits.max_depth + 1) std::abort();
  }
  if (tern::mime::serialize(m) != in) std::abort();
  // The IMAP views must be computable for any tree.
  auto bs = tern::mime::make_body_structure(m);
  (void)tern::mime::to_imap(bs);
  (void)tern::mime::to_imap(tern::mime::make_envelope(m, m.root()));
  return 0;
}
