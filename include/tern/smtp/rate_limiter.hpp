// tern::smtp::RateLimiter — messages and recipients per minute, per client network (unauthenticated
// sessions) and per login (authenticated sessions): what operators otherwise get from Postfix's anvil
// (smtpd_client_message_rate_limit, smtpd_client_recipient_rate_limit) or Rspamd's ratelimit module.
//
// Token buckets: a limit of N per minute lets a client burst N, then refills N/60 per second. IPv4 clients
// are counted per address, IPv6 clients per /64 (one host usually owns a whole /64). Pure and
// clock-injected (the caller passes `now`); thread-safe (one mutex, O(1) per call); memory-bounded (full
// buckets carry no information and are dropped first, then the oldest).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

namespace tern::smtp {

struct RateLimit {
  std::uint32_t messages_per_minute = 0;    // 0: unlimited
  std::uint32_t recipients_per_minute = 0;  // 0: unlimited
};

struct RateLimitSettings {
  RateLimit per_ip{60, 300};     // unauthenticated sessions (MTA port), outside internal_networks
  RateLimit per_user{120, 600};  // authenticated sessions, per login
  std::size_t max_entries = 100000;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimitSettings settings = {});
  ~RateLimiter();

  // Counts one message (MAIL FROM) / one recipient (RCPT TO). Returns 0 when allowed, otherwise how long
  // until it would be allowed (nothing is counted then).
  std::chrono::seconds take_message_from_ip(const asio::ip::address& ip, Clock::time_point now);
  std::chrono::seconds take_recipient_from_ip(const asio::ip::address& ip, Clock::time_point now);
  std::chrono::seconds take_message_from_user(std::string_view login, Clock::time_point now);
  std::chrono::seconds take_recipient_from_user(std::string_view login, Clock::time_point now);

  const RateLimitSettings& settings() const noexcept { return settings_; }
  std::size_t entries() const;

 private:
  struct State;
  std::chrono::seconds take(std::string key, std::uint32_t per_minute, Clock::time_point now);
  RateLimitSettings settings_;
  std::unique_ptr<State> state_;
};

}  // namespace tern::smtp
