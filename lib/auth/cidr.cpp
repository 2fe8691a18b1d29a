#include "tern/auth/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

namespace tern::auth {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (auto pct = text.find('%'); pct != std::string_view::npos) text = text.substr(0, pct);
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress ip;
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    ip.v4_ = true;
    std::memcpy(ip.bytes_.data(), &a4, 4);
    return ip;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return std::nullopt;
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(&a6, mapped, 12) == 0) {
    ip.v4_ = true;
    std::memcpy(ip.bytes_.data(), reinterpret_cast<const std::uint8_t*>(&a6) + 12, 4);
    return ip;
  }
  ip.v4_ = false;
  std::memcpy(ip.bytes_.data(), &a6, 16);
  return ip;
}

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress ip;
  ip.bytes_[0] = a;
  ip.bytes_[1] = b;
  ip.bytes_[2] = c;
  ip.bytes_[3] = d;
  return ip;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return fail(ErrorCategory::invalid_argument, fmt::format("'{}' is not an IP address or network", text));
  unsigned max = ip->is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return fail(ErrorCategory::invalid_argument, fmt::format("'{}': bad prefix length", text));
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return fail(ErrorCategory::invalid_argument, fmt::format("'{}': bad prefix length", text));
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    // "::ffff:10.0.0.0/104" style prefixes on mapped addresses count in IPv6 bits.
    if (text.find(':') != std::string_view::npos && ip->is_v4()) {
      if (prefix < 96) return fail(ErrorCategory::invalid_argument, fmt::format("'{}': bad prefix length", text));
      prefix -= 96;
    }
    if (prefix > max) return fail(ErrorCategory::invalid_argument, fmt::format("'{}': prefix longer than {}", text, max));
  }
  Cidr c;
  c.net_ = *ip;
  c.prefix_ = prefix;
  auto masked = ip->bytes();
  bool host_bits = false;
  for (unsigned bit = prefix; bit < max; ++bit) {
    auto m = static_cast<std::uint8_t>(0x80 >> (bit % 8));
    if (masked[bit / 8] & m) host_bits = true;
    masked[bit / 8] = static_cast<std::uint8_t>(masked[bit / 8] & ~m);
  }
  if (host_bits) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(ip->is_v4() ? AF_INET : AF_INET6, masked.data(), buf, sizeof buf);
    return fail(ErrorCategory::invalid_argument,
                fmt::format("'{}' has host bits set; the network is {}/{}", text, buf, prefix));
  }
  return c;
}

bool Cidr::contains(const IpAddress& ip) const noexcept {
  if (ip.is_v4() != net_.is_v4()) return false;
  const auto& a = ip.bytes();
  const auto& n = net_.bytes();
  unsigned full = prefix_ / 8, rest = prefix_ % 8;
  if (std::memcmp(a.data(), n.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (n[full] & mask);
}

std::string Cidr::str() const { return fmt::format("{}/{}", net_.str(), prefix_); }

Result<NetworkList> NetworkList::parse(const std::vector<std::string>& items) {
  NetworkList l;
  for (const auto& i : items) {
    auto c = Cidr::parse(i);
    if (!c) return fail(c.error());
    l.nets_.push_back(*c);
  }
  return l;
}

bool NetworkList::contains(const IpAddress& ip) const noexcept {
  for (const auto& n : nets_)
    if (n.contains(ip)) return true;
  return false;
}

}  // namespace tern::auth
