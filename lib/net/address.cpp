#include "tern/net/address.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace tern::net {

Result<IpNetwork> IpNetwork::parse(std::string_view text) {
  IpNetwork n;
  auto slash = text.find('/');
  std::string addr(text.substr(0, slash));
  asio::error_code ec;
  n.base_ = asio::ip::make_address(addr, ec);
  if (ec) return fail(ErrorCategory::invalid_argument, fmt::format("'{}' is not an IP address or network", text));
  unsigned max = n.base_.is_v4() ? 32 : 128;
  n.prefix_ = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    unsigned v = 0;
    auto [ptr, err] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (err != std::errc() || ptr != p.data() + p.size() || p.empty() || v > max)
      return fail(ErrorCategory::invalid_argument,
                  fmt::format("'{}' has an invalid prefix length (0 to {} allowed)", text, max));
    n.prefix_ = v;
  }
  return n;
}

static bool prefix_equal(const unsigned char* a, const unsigned char* b, unsigned bits) {
  unsigned full = bits / 8, rest = bits % 8;
  for (unsigned i = 0; i < full; ++i)
    if (a[i] != b[i]) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool IpNetwork::contains(const asio::ip::address& addr) const noexcept {
  asio::ip::address a = canonical(addr);
  if (base_.is_v4() && a.is_v4()) {
    auto x = base_.to_v4().to_bytes();
    auto y = a.to_v4().to_bytes();
    return prefix_equal(x.data(), y.data(), prefix_);
  }
  if (base_.is_v6() && a.is_v6()) {
    auto x = base_.to_v6().to_bytes();
    auto y = a.to_v6().to_bytes();
    return prefix_equal(x.data(), y.data(), prefix_);
  }
  return false;
}

std::string IpNetwork::to_string() const { return fmt::format("{}/{}", base_.to_string(), prefix_); }

bool in_networks(const std::vector<IpNetwork>& nets, const asio::ip::address& a) noexcept {
  for (const auto& n : nets)
    if (n.contains(a)) return true;
  return false;
}

asio::ip::address canonical(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::string network_key(const asio::ip::address& address, unsigned v4_prefix, unsigned v6_prefix) {
  auto a = canonical(address);
  if (a.is_v4()) {
    v4_prefix = std::min(v4_prefix, 32u);
    if (v4_prefix == 32) return a.to_string();
    std::uint32_t bits = a.to_v4().to_uint();
    std::uint32_t mask = v4_prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - v4_prefix);
    return fmt::format("{}/{}", asio::ip::make_address_v4(bits & mask).to_string(), v4_prefix);
  }
  v6_prefix = std::min(v6_prefix, 128u);
  if (v6_prefix == 128) return a.to_string();
  auto bytes = a.to_v6().to_bytes();
  for (unsigned i = 0; i < 16; ++i) {
    unsigned keep = v6_prefix > i * 8 ? std::min(8u, v6_prefix - i * 8) : 0;
    bytes[i] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xFF << (8 - keep));
  }
  return fmt::format("{}/{}", asio::ip::make_address_v6(bytes).to_string(), v6_prefix);
}

std::string format_endpoint(const asio::ip::address& a, std::uint16_t port) {
  if (a.is_v6()) return fmt::format("[{}]:{}", a.to_string(), port);
  return fmt::format("{}:{}", a.to_string(), port);
}

std::string ListenAddress::to_string() const { return format_endpoint(address, port); }

Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCategory::invalid_argument,
                fmt::format("'{}' is not a listen address: use IPv4:port or [IPv6]:port", text));
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  ListenAddress out;
  asio::error_code ec;
  out.address = asio::ip::make_address(std::string(host), ec);
  if (ec) return bad();
  unsigned p = 0;
  auto [ptr, err] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || err != std::errc() || ptr != port.data() + port.size() || p > 65535)
    return fail(ErrorCategory::invalid_argument, fmt::format("'{}' has an invalid port (0 to 65535)", text));
  out.port = static_cast<std::uint16_t>(p);
  return out;
}

}  // namespace tern::net
