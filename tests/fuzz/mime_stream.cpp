// Fuzz target: MessageParser fed in chunks must give exactly the tree parse() gives for the whole buffer.
// The first two bytes choose the chunking (a seed and a maximum chunk size), the rest is the message.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/mime/message_parser.hpp"

namespace {

void append(std::string& o, std::size_t v) { o += std::to_string(v); o += ' '; }

std::string describe(const tern::mime::Message& m) {
  std::string o;
  append(o, m.size);
  for (const auto& p : m.parts) {
    for (std::size_t v : {p.header_start, p.header_end, p.body_start, p.body_end, p.header_lines, p.body_lines,
                          p.preamble_end, p.epilogue_start, p.depth, static_cast<std::size_t>(p.parent + 1),
                          static_cast<std::size_t>(p.is_message), p.children.size(), p.headers.size()})
      append(o, v);
    o += p.number + '|' + p.content_type.mime_type() + '|' + p.transfer_encoding + '|' + p.disposition.type + '|';
    for (const auto& prm : p.content_type.params) o += prm.name + '=' + prm.value + ';';
    for (const auto& h : p.headers) {
      append(o, h.offset);
      o.append(h.raw);
      o += '|';
      o.append(h.name);
      o += '|';
      o.append(h.value);
      o += '\n';
    }
  }
  for (const auto& d : m.defects) {
    append(o, static_cast<std::size_t>(d.kind));
    append(o, d.offset);
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::uint32_t seed = data[0];
  const std::size_t max_chunk = 1 + (data[1] % 64);
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  tern::mime::ParseLimits limits;
  limits.max_parts = 50;
  limits.max_depth = 8;
  limits.max_headers = 20;
  limits.max_header_line = 200;
  const std::string whole = describe(tern::mime::parse(in, limits));
  tern::mime::MessageParser p(limits);
  std::size_t i = 0;
  while (i < in.size()) {
    seed = seed * 1103515245u + 12345u;
    std::size_t n = 1 + (seed >> 16) % max_chunk;
    if (n > in.size() - i) n = in.size() - i;
    std::string chunk(in.substr(i, n));  // the parser must not keep pointers into a chunk
    p.feed(chunk);
    i += n;
  }
  if (p.peak_buffered_bytes() > 2048 + in.size()) std::abort();
  tern::mime::Message m = p.finish();
  if (!m.source.empty() || describe(m) != whole) std::abort();
  return 0;
}
