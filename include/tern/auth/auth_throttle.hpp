// Abuse control for logins (what operators otherwise add Fail2Ban for): failed attempts are counted
// per client IP and per account; each failure earns an exponentially growing delay before the
// failure reply, and too many failures lock the IP (or account) out for a while. Allowlisted
// networks are never delayed or locked. Every failure is logged as one line naming IP, protocol and
// account (event "auth.failed").
//
// Addresses are compared in canonical form (::ffff:a.b.c.d counts as a.b.c.d); networks are
// tern::net::IpNetwork.
//
// Pure and clock-injected: the caller passes `now`; nothing sleeps. The server applies `delay` with
// a timer (never by blocking a thread), and calls check() BEFORE running the password hash, so a
// locked-out attacker costs no hashing CPU. Thread-safe (one mutex; O(1) per call, amortised).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <vector>

#include <asio/ip/address.hpp>

#include "tern/net/address.hpp"

namespace tern::auth {

using Clock = std::chrono::steady_clock;

struct AuthThrottleOptions {
  std::chrono::milliseconds base_delay{1000};        // delay after the first failure
  std::chrono::milliseconds max_delay{30000};        // delays double up to this
  unsigned ip_lockout_after = 10;                    // failures from one IP before it is locked out (0: never)
  unsigned account_lockout_after = 20;               // failures on one account before it is locked out (0: never)
  std::chrono::milliseconds lockout{15 * 60 * 1000}; // how long a lockout lasts
  std::chrono::milliseconds forget_after{60 * 60 * 1000};  // counters reset after this long without failures
  std::size_t max_entries = 100000;                  // memory bound: oldest entries are dropped first
  std::vector<net::IpNetwork> allowlist;             // never delayed or locked
};

struct ThrottleDecision {
  bool allowed = true;                 // false: refuse without checking the password
  std::chrono::milliseconds delay{0};  // wait this long before sending the (failure) reply
  std::chrono::milliseconds retry_after{0};  // when locked: remaining lockout
  std::string reason;                  // when locked: "too many failed logins from 192.0.2.1"
};

class AuthThrottle {
 public:
  explicit AuthThrottle(AuthThrottleOptions options = {});
  ~AuthThrottle();

  // Before verifying credentials. `account` may be empty when not known yet.
  ThrottleDecision check(const asio::ip::address& ip, std::string_view account, Clock::time_point now);
  // After a failed attempt; returns the delay to apply before the failure reply. Logs one line.
  ThrottleDecision record_failure(const asio::ip::address& ip, std::string_view account, std::string_view protocol,
                                  Clock::time_point now, std::string_view reason = {});
  // After a successful login: the account's counter and the IP's counter are cleared.
  void record_success(const asio::ip::address& ip, std::string_view account, Clock::time_point now);

  std::size_t tracked() const;  // entries held (for metrics and tests)
  const AuthThrottleOptions& options() const noexcept { return opts_; }

 private:
  struct State;
  AuthThrottleOptions opts_;
  std::unique_ptr<State> state_;
};

}  // namespace tern::auth
