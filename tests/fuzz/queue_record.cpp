// Fuzz target: the queue's envelope/state record parser reads every <spool>/<id>.env at start-up (a
// damaged disk or a hand-edited file must never crash the daemon). A record that parses must serialise
// back to a record that parses to the same thing.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/queue/spool_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = tern::queue::parse_record(in);
  if (!r) return 0;
  if (r->recipients.empty() || !tern::queue::valid_queue_id(r->id)) std::abort();
  auto text = tern::queue::serialize_record(*r);
  auto back = tern::queue::parse_record(text);
  if (!back || tern::queue::serialize_record(*back) != text) std::abort();
  return 0;
}
