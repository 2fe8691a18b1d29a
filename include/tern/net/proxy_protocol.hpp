// HAProxy PROXY protocol v1 (text) and v2 (binary) header parser, sans-I/O.
// Spec: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt (v1 §2.1, v2 §2.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

namespace tern::net {

struct ProxyHeader {
  // LOCAL (v2) or UNKNOWN (v1): the connection is the proxy's own (health check); keep socket addresses.
  bool local = false;
  asio::ip::address source, destination;
  std::uint16_t source_port = 0, destination_port = 0;
};

struct ProxyParse {
  enum Status { need_more, done, invalid } status = need_more;
  std::size_t consumed = 0;  // header length when done: exactly these bytes belong to the header
  ProxyHeader header;
  std::string error;  // when invalid: why, for the log
};

// Largest header accepted: v1 is at most 107 octets (§2.1); v2 TLVs are bounded here to 1 KiB.
inline constexpr std::size_t kMaxProxyHeader = 16 + 1024;

// Looks at the bytes received so far (from the start of the connection) without consuming them.
ProxyParse parse_proxy_header(std::string_view data);

}  // namespace tern::net
