// Fuzz target: Cloudron CSV/JSON mailbox imports are uploaded by admins; the parsers are bounded
// and whatever parses renders back to the same records. First byte selects CSV or JSON.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/directory/mailbox_transfer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::directory;
  if (size == 0) return 0;
  auto format = data[0] & 1 ? TransferFormat::json : TransferFormat::csv;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto recs = parse_mailboxes(in, format);
  if (!recs) return 0;
  DirectorySnapshot snap;
  (void)import_mailboxes(snap, *recs);
  // Round trip only for records without characters the formats cannot carry unchanged.
  for (const auto& r : *recs)
    for (const auto& a : r.aliases)
      if (a.empty() || a.find(' ') != std::string::npos) return 0;
  auto again = parse_mailboxes(render_mailboxes(*recs, format), format);
  if (!again) std::abort();
  if (format == TransferFormat::json && !(*again == *recs)) std::abort();
  return 0;
}
