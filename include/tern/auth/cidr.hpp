// IP addresses and CIDR networks for allowlists ([auth] allowlist, [server] internal_networks).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as the IPv4 address they carry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::auth {

class IpAddress {
 public:
  // "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "fe80::1%eth0" (zone ignored).
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

  bool is_v4() const noexcept { return v4_; }
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }  // v4: first 4 bytes
  std::string str() const;
  bool operator==(const IpAddress&) const = default;

 private:
  bool v4_ = true;
  std::array<std::uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits must be zero.
  static Result<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const noexcept;
  std::string str() const;

 private:
  IpAddress net_;
  unsigned prefix_ = 0;
};

class NetworkList {
 public:
  static Result<NetworkList> parse(const std::vector<std::string>& items);
  bool contains(const IpAddress& ip) const noexcept;
  bool empty() const noexcept { return nets_.empty(); }
  void add(Cidr c) { nets_.push_back(c); }

 private:
  std::vector<Cidr> nets_;
};

}  // namespace tern::auth
