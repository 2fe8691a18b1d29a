// Fuzz target: the PROXY protocol v1/v2 header parser sees the first bytes of every proxied connection.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/net/proxy_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = tern::net::parse_proxy_header(in);
  if (p.status == tern::net::ProxyParse::done && (p.consumed == 0 || p.consumed > size)) std::abort();
  // A prefix of a header may never be reported complete with more bytes than it has.
  for (std::size_t n = 0; n < size && n < 64; ++n) {
    auto q = tern::net::parse_proxy_header(in.substr(0, n));
    if (q.status == tern::net::ProxyParse::done && q.consumed > n) std::abort();
  }
  return 0;
}
