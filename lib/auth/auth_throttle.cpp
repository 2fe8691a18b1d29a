#include "tern/auth/auth_throttle.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tern/core/log.hpp"
#include "tern/directory/address.hpp"

namespace tern::auth {

namespace {

struct Entry {
  unsigned failures = 0;
  Clock::time_point last_failure{};
  Clock::time_point locked_until{};
};

using ms = std::chrono::milliseconds;

ms delay_for(const AuthThrottleOptions& o, unsigned failures) {
  if (failures == 0) return ms(0);
  ms d = o.base_delay;
  for (unsigned i = 1; i < failures && d < o.max_delay; ++i) d *= 2;
  return std::min(d, o.max_delay);
}

}  // namespace

struct AuthThrottle::State {
  mutable std::mutex mu;
  std::unordered_map<std::string, Entry> entries;  // "ip:<addr>" / "acct:<login>"

  Entry* find(const std::string& key, Clock::time_point now, const AuthThrottleOptions& o) {
    auto it = entries.find(key);
    if (it == entries.end()) return nullptr;
    if (now - it->second.last_failure >= o.forget_after && now >= it->second.locked_until) {
      entries.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  void bound(Clock::time_point now, const AuthThrottleOptions& o) {
    if (entries.size() <= o.max_entries) return;
    std::erase_if(entries, [&](const auto& kv) {
      return now - kv.second.last_failure >= o.forget_after && now >= kv.second.locked_until;
    });
    if (entries.size() <= o.max_entries) return;
    // Still too many: drop the oldest tenth (amortises the scan).
    std::vector<std::pair<Clock::time_point, std::string>> age;
    age.reserve(entries.size());
    for (const auto& [k, e] : entries) age.emplace_back(e.last_failure, k);
    std::size_t drop = std::max<std::size_t>(entries.size() - o.max_entries, entries.size() / 10);
    std::nth_element(age.begin(), age.begin() + static_cast<std::ptrdiff_t>(drop - 1), age.end());
    for (std::size_t i = 0; i < drop; ++i) entries.erase(age[i].second);
  }
};

namespace {
std::string ip_key(const asio::ip::address& ip) { return "ip:" + net::canonical(ip).to_string(); }
std::string ip_str(const asio::ip::address& ip) { return net::canonical(ip).to_string(); }
std::string acct_key(std::string_view a) { return "acct:" + directory::to_lower(a); }
}  // namespace

AuthThrottle::AuthThrottle(AuthThrottleOptions options) : opts_(std::move(options)), state_(std::make_unique<State>()) {}
AuthThrottle::~AuthThrottle() = default;

ThrottleDecision AuthThrottle::check(const asio::ip::address& ip, std::string_view account, Clock::time_point now) {
  ThrottleDecision d;
  if (net::in_networks(opts_.allowlist, ip)) return d;
  std::lock_guard lock(state_->mu);
  if (Entry* e = state_->find(ip_key(ip), now, opts_); e && now < e->locked_until) {
    d.allowed = false;
    d.retry_after = std::chrono::duration_cast<ms>(e->locked_until - now);
    d.reason = "too many failed logins from " + ip_str(ip);
    return d;
  }
  if (!account.empty()) {
    if (Entry* e = state_->find(acct_key(account), now, opts_); e && now < e->locked_until) {
      d.allowed = false;
      d.retry_after = std::chrono::duration_cast<ms>(e->locked_until - now);
      d.reason = "too many failed logins for " + directory::to_lower(account);
    }
  }
  return d;
}

ThrottleDecision AuthThrottle::record_failure(const asio::ip::address& ip, std::string_view account, std::string_view protocol,
                                              Clock::time_point now, std::string_view reason) {
  ThrottleDecision d;
  if (net::in_networks(opts_.allowlist, ip)) {
    log::warn("auth.failed", {{"ip", ip_str(ip)}, {"protocol", protocol}, {"account", account}, {"allowlisted", "yes"},
                              {"reason", reason}});
    return d;
  }
  unsigned ip_failures = 0, acct_failures = 0;
  bool locked = false;
  {
    std::lock_guard lock(state_->mu);
    auto bump = [&](const std::string& key, unsigned lockout_after) {
      Entry* e = state_->find(key, now, opts_);
      if (!e) e = &state_->entries[key];
      ++e->failures;
      e->last_failure = now;
      if (lockout_after && e->failures >= lockout_after && now >= e->locked_until) {
        e->locked_until = now + opts_.lockout;
        e->failures = 0;  // after the lockout the count starts again
        locked = true;
        return lockout_after;
      }
      return e->failures;
    };
    ip_failures = bump(ip_key(ip), opts_.ip_lockout_after);
    if (!account.empty()) acct_failures = bump(acct_key(account), opts_.account_lockout_after);
    state_->bound(now, opts_);
  }
  d.delay = delay_for(opts_, std::max(ip_failures, acct_failures));
  if (locked) {
    d.allowed = false;
    d.retry_after = opts_.lockout;
    d.reason = "locked out after too many failed logins";
  }
  log::warn("auth.failed", {{"ip", ip_str(ip)}, {"protocol", protocol}, {"account", account},
                            {"failures_ip", ip_failures}, {"failures_account", acct_failures},
                            {"delay_ms", static_cast<long long>(d.delay.count())}, {"locked", locked ? "yes" : "no"},
                            {"reason", reason}});
  return d;
}

void AuthThrottle::record_success(const asio::ip::address& ip, std::string_view account, Clock::time_point now) {
  std::lock_guard lock(state_->mu);
  // A lockout in force stays; plain counters go.
  for (const auto& key : {ip_key(ip), acct_key(account)}) {
    auto it = state_->entries.find(key);
    if (it == state_->entries.end()) continue;
    if (now >= it->second.locked_until) state_->entries.erase(it);
    else it->second.failures = 0;
  }
}

std::size_t AuthThrottle::tracked() const {
  std::lock_guard lock(state_->mu);
  return state_->entries.size();
}

}  // namespace tern::auth
