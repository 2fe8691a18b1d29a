#include "tern/net/proxy_protocol.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <vector>

namespace tern::net {
namespace {

constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr std::size_t kV1Max = 107;

ProxyParse invalid(std::string why) {
  ProxyParse p;
  p.status = ProxyParse::invalid;
  p.error = std::move(why);
  return p;
}

bool parse_port(std::string_view s, std::uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (err != std::errc() || ptr != s.data() + s.size() || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

ProxyParse parse_v1(std::string_view data) {
  auto crlf = data.find("\r\n");
  if (crlf == std::string_view::npos) {
    if (data.size() >= kV1Max) return invalid("PROXY v1 header longer than 107 octets");
    ProxyParse p;
    return p;  // need more
  }
  if (crlf + 2 > kV1Max) return invalid("PROXY v1 header longer than 107 octets");
  std::string_view line = data.substr(0, crlf);
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= line.size()) {
    auto sp = line.find(' ', pos);
    if (sp == std::string_view::npos) sp = line.size();
    parts.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  ProxyParse p;
  p.consumed = crlf + 2;
  if (parts.size() >= 2 && parts[1] == "UNKNOWN") {
    p.status = ProxyParse::done;
    p.header.local = true;
    return p;
  }
  if (parts.size() != 6 || (parts[1] != "TCP4" && parts[1] != "TCP6"))
    return invalid("malformed PROXY v1 header");
  asio::error_code e1, e2;
  p.header.source = asio::ip::make_address(std::string(parts[2]), e1);
  p.header.destination = asio::ip::make_address(std::string(parts[3]), e2);
  if (e1 || e2) return invalid("PROXY v1 header has an invalid address");
  bool v4 = parts[1] == "TCP4";
  if (p.header.source.is_v4() != v4 || p.header.destination.is_v4() != v4)
    return invalid("PROXY v1 address family does not match the protocol");
  if (!parse_port(parts[4], p.header.source_port) || !parse_port(parts[5], p.header.destination_port))
    return invalid("PROXY v1 header has an invalid port");
  p.status = ProxyParse::done;
  return p;
}

ProxyParse parse_v2(std::string_view data) {
  ProxyParse p;
  if (data.size() < 16) return p;
  auto u8 = [&](std::size_t i) { return static_cast<unsigned char>(data[i]); };
  unsigned ver_cmd = u8(12), fam = u8(13);
  std::size_t len = (static_cast<std::size_t>(u8(14)) << 8) | u8(15);
  if ((ver_cmd >> 4) != 2) return invalid("unsupported PROXY protocol version");
  if (16 + len > kMaxProxyHeader) return invalid("PROXY v2 header too long");
  if (data.size() < 16 + len) return p;
  p.consumed = 16 + len;
  unsigned cmd = ver_cmd & 0x0f;
  if (cmd == 0x0) {  // LOCAL
    p.status = ProxyParse::done;
    p.header.local = true;
    return p;
  }
  if (cmd != 0x1) return invalid("unknown PROXY v2 command");
  const unsigned char* a = reinterpret_cast<const unsigned char*>(data.data()) + 16;
  switch (fam) {
    case 0x11:  // TCP over IPv4
    case 0x12: {  // UDP over IPv4 (addresses are still meaningful)
      if (len < 12) return invalid("PROXY v2 IPv4 address block too short");
      asio::ip::address_v4::bytes_type s, d;
      std::memcpy(s.data(), a, 4);
      std::memcpy(d.data(), a + 4, 4);
      p.header.source = asio::ip::address_v4(s);
      p.header.destination = asio::ip::address_v4(d);
      p.header.source_port = static_cast<std::uint16_t>((a[8] << 8) | a[9]);
      p.header.destination_port = static_cast<std::uint16_t>((a[10] << 8) | a[11]);
      break;
    }
    case 0x21:
    case 0x22: {
      if (len < 36) return invalid("PROXY v2 IPv6 address block too short");
      asio::ip::address_v6::bytes_type s, d;
      std::memcpy(s.data(), a, 16);
      std::memcpy(d.data(), a + 16, 16);
      p.header.source = asio::ip::address_v6(s);
      p.header.destination = asio::ip::address_v6(d);
      p.header.source_port = static_cast<std::uint16_t>((a[32] << 8) | a[33]);
      p.header.destination_port = static_cast<std::uint16_t>((a[34] << 8) | a[35]);
      break;
    }
    default:  // UNSPEC or UNIX: accept, keep the socket's own addresses (spec §2.2)
      p.header.local = true;
  }
  p.status = ProxyParse::done;
  return p;
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view data) {
  std::size_t n = std::min(data.size(), kV2Signature.size());
  if (data.substr(0, n) == kV2Signature.substr(0, n)) {
    if (data.size() < kV2Signature.size()) return ProxyParse{};
    return parse_v2(data);
  }
  constexpr std::string_view v1 = "PROXY ";
  n = std::min(data.size(), v1.size());
  if (data.substr(0, n) != v1.substr(0, n)) return invalid("connection did not start with a PROXY protocol header");
  if (data.size() < v1.size()) return ProxyParse{};
  return parse_v1(data);
}

}  // namespace tern::net
