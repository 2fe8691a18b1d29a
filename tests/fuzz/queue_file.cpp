// Fuzz target: the head of a queue file (<spool>/<id>.qf: the record, then exactly `size` octets of
// message), read at start-up and by `ternctl queue list`. A damaged file must never crash the reader, and
// a head that parses must describe the file exactly: the record ends where the message starts, and the
// message fills the rest of the file.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/queue/spool_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto h = tern::queue::parse_queue_file_head(in, size);
  if (!h) return 0;
  if (h->body_offset != tern::queue::record_length(in) || h->body_offset + h->rec.size != size) std::abort();
  // Written back, the same record heads the same message.
  std::string again = tern::queue::serialize_record(h->rec) + std::string(in.substr(h->body_offset));
  auto back = tern::queue::parse_queue_file_head(again, again.size());
  if (!back || back->rec.size != h->rec.size || again.substr(back->body_offset) != in.substr(h->body_offset)) std::abort();
  return 0;
}
