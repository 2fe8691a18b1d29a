// Fuzz target: the transport map value parser (parse_route). Checks it stays bounded and that every
// accepted route is well formed (host/port where the kind needs them).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/queue/smtp_transport.hpp"

using namespace tern::queue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_route(in);
  if (!r) return 0;
  if (in.size() > 512) std::abort();
  switch (r->kind) {
    case RouteKind::mx:
      if (!r->host.empty() || r->port != 0) std::abort();
      break;
    case RouteKind::smtp:
    case RouteKind::lmtp:
      if (r->host.empty() || r->host.size() > 255) std::abort();
      if (r->kind == RouteKind::lmtp && r->port == 0) std::abort();
      break;
    case RouteKind::relay:
      if (r->relay.empty() || r->relay.size() > 64) std::abort();
      break;
  }
  return 0;
}
