// IP addresses, CIDR networks and listen addresses ("127.0.0.1:2525", "[::1]:143").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>

#include "tern/core/result.hpp"

namespace tern::net {

// An IPv4 or IPv6 network such as "10.0.0.0/8" or "::1/128". A bare address is a host network.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks, as a dual-stack socket reports them.
class IpNetwork {
 public:
  static Result<IpNetwork> parse(std::string_view text);
  bool contains(const asio::ip::address& a) const noexcept;
  std::string to_string() const;

 private:
  asio::ip::address base_;
  unsigned prefix_ = 0;
};

// True if `a` is in any of `nets`.
bool in_networks(const std::vector<IpNetwork>& nets, const asio::ip::address& a) noexcept;

// Unwraps ::ffff:a.b.c.d to a.b.c.d so logs and limits see one address per client.
asio::ip::address canonical(const asio::ip::address& a);

// The network `a` belongs to, as text: "192.0.2.0/24" for (a, 24, 64), "2001:db8:1:2::/64" for an IPv6
// address; a full-length prefix gives the bare address ("192.0.2.7"). Used to count clients per network
// (rate limits, greylisting). The address is canonicalised first (::ffff:a.b.c.d counts as IPv4).
std::string network_key(const asio::ip::address& a, unsigned v4_prefix, unsigned v6_prefix);

struct ListenAddress {
  asio::ip::address address;
  std::uint16_t port = 0;  // 0: the kernel picks a free port (tests)
  std::string to_string() const;
};

// "IPv4:port" or "[IPv6]:port".
Result<ListenAddress> parse_listen_address(std::string_view text);

// "1.2.3.4:25" or "[::1]:25".
std::string format_endpoint(const asio::ip::address& a, std::uint16_t port);

}  // namespace tern::net
