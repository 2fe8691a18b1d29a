// tern::dns::Resolver — the DNS lookups outbound delivery needs (MX, A, AAAA, TXT, TLSA), each answer
// with the DNSSEC `secure` flag (RFC 4035 4.3: the validator proved the whole chain). Failures are
// Result errors that keep the distinctions delivery acts on:
//   NXDOMAIN  (RFC 1035 4.1.1 rcode 3)   category not_found, code kNxDomain  -> the domain does not exist
//   no data   (RFC 2308 2.2: name exists, no record of that type) not_found, kNoData -> e.g. implicit MX
//   temporary (SERVFAIL, timeout, no server reachable) category temporary, kServFail -> defer
//   bogus     (DNSSEC validation failed, RFC 4035 5.5) category temporary, kBogus  -> defer, never use
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include "tern/core/result.hpp"

namespace tern::dns {

inline constexpr int kNxDomain = 1;
inline constexpr int kNoData = 2;
inline constexpr int kServFail = 3;
inline constexpr int kBogus = 4;

inline bool is_nxdomain(const Error& e) noexcept { return e.category == ErrorCategory::not_found && e.code == kNxDomain; }
inline bool is_no_data(const Error& e) noexcept { return e.category == ErrorCategory::not_found && e.code == kNoData; }
inline bool is_temporary(const Error& e) noexcept { return e.category == ErrorCategory::temporary; }

struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;  // lower case, without the trailing dot; "" for the root "." (null MX, RFC 7505)
};

// RFC 6698 2.1
struct TlsaRecord {
  std::uint8_t usage = 0;     // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  std::uint8_t selector = 0;  // 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t matching = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
  std::vector<std::uint8_t> data;
};

template <class T>
struct Answer {
  std::vector<T> records;
  bool secure = false;  // DNSSEC-validated
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Names are domain names with or without the trailing dot.
  virtual asio::awaitable<Result<Answer<MxRecord>>> mx(const std::string& domain) = 0;
  virtual asio::awaitable<Result<Answer<asio::ip::address>>> a(const std::string& host) = 0;
  virtual asio::awaitable<Result<Answer<asio::ip::address>>> aaaa(const std::string& host) = 0;
  // One string per TXT record, its character-strings concatenated (RFC 7208 3.3 style).
  virtual asio::awaitable<Result<Answer<std::string>>> txt(const std::string& name) = 0;
  // `name` is the full owner, e.g. "_25._tcp.mx.example.com" (RFC 6698 3).
  virtual asio::awaitable<Result<Answer<TlsaRecord>>> tlsa(const std::string& name) = 0;
};

}  // namespace tern::dns
