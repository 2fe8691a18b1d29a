// Fuzz target: RFC 5321 paths and mailboxes. Whatever parses formats back to text that parses to the same
// mailbox; IDNA conversions of a parsed domain never crash and round-trip for valid U-labels; split_address
// (the split of stored addresses every module uses) gives back the parsed domain.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/mime/smtp_address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace tern::mime;
  PathOptions o;
  o.allow_null = data[0] & 1;
  o.allow_postmaster = data[0] & 2;
  o.allow_utf8 = data[0] & 4;
  o.allow_route = data[0] & 8;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  auto p = parse_smtp_path(in, o);
  if (!p) {
    if (p.value.null || !p.value.mailbox.local_part.empty()) std::abort();
  } else {
    if (p.consumed > in.size() || p.consumed > 256) std::abort();
    if (!p.value.null && !p.value.postmaster) {
      const SmtpMailbox& m = p.value.mailbox;
      if (m.needs_smtputf8() && !o.allow_utf8) std::abort();
      auto again = parse_smtp_path(p.value.format(), o);
      if (!again || again.value.mailbox.local_part != m.local_part || again.value.mailbox.domain != m.domain ||
          again.value.mailbox.kind != m.kind)
        std::abort();
      if (auto a = domain_to_ascii(m.domain)) {
        if (auto u = domain_to_unicode(*a); u && canonical_domain(*u) != *a) std::abort();
      }
      (void)split_subaddress(m.local_part, "+-");
      // What address() writes (and SMTP, the queue and the directory store) splits back at the right '@'.
      const std::string written = m.address();
      auto parts = split_address(written);  // views into `written`
      if (!parts || parts->domain != m.domain) std::abort();
      if (address_domain(written) != canonical_domain(m.domain)) std::abort();
    }
  }
  // Stored addresses of any shape: a split covers the input around one '@'.
  if (auto parts = split_address(in)) {
    if (parts->local.empty() || parts->domain.empty() || parts->local.size() + 1 + parts->domain.size() != in.size())
      std::abort();
  }
  (void)address_domain(in);
  auto mb = parse_smtp_mailbox(in, o.allow_utf8);
  if (mb && parse_smtp_mailbox(mb.value.address(), o.allow_utf8).value.local_part != mb.value.local_part) std::abort();
  return 0;
}
