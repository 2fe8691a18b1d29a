#include "tern/smtp/rate_limiter.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tern/net/address.hpp"

namespace tern::smtp {

namespace {
struct Bucket {
  double tokens = 0;                  // what is left of the burst
  RateLimiter::Clock::time_point at;  // when `tokens` was computed
  std::uint32_t capacity = 0;
};
}  // namespace

struct RateLimiter::State {
  std::mutex mutex;
  std::unordered_map<std::string, Bucket> buckets;
};

RateLimiter::RateLimiter(RateLimitSettings settings) : settings_(settings), state_(std::make_unique<State>()) {}
RateLimiter::~RateLimiter() = default;

std::size_t RateLimiter::entries() const {
  std::lock_guard lock(state_->mutex);
  return state_->buckets.size();
}

std::chrono::seconds RateLimiter::take(std::string key, std::uint32_t per_minute, Clock::time_point now) {
  if (per_minute == 0) return std::chrono::seconds{0};
  const double refill_per_second = per_minute / 60.0;
  std::lock_guard lock(state_->mutex);
  auto& buckets = state_->buckets;
  auto [it, fresh] = buckets.try_emplace(std::move(key));
  Bucket& b = it->second;
  if (fresh) b = Bucket{static_cast<double>(per_minute), now, per_minute};
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min<double>(per_minute, b.tokens + std::max(0.0, elapsed) * refill_per_second);
  b.at = now;
  b.capacity = per_minute;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
  } else {
    double wait = (1.0 - b.tokens) / refill_per_second;
    return std::chrono::seconds{std::max<long>(1, static_cast<long>(wait + 0.999))};
  }
  if (buckets.size() > settings_.max_entries) {
    // Full buckets carry no information: drop them; if that is not enough, drop the least recently used.
    for (auto i = buckets.begin(); i != buckets.end();) {
      double t = i->second.tokens + std::chrono::duration<double>(now - i->second.at).count() * i->second.capacity / 60.0;
      if (i != it && t >= i->second.capacity) i = buckets.erase(i);
      else ++i;
    }
    if (buckets.size() > settings_.max_entries) {
      std::vector<std::pair<Clock::time_point, std::string>> by_age;
      for (const auto& [k, v] : buckets) by_age.emplace_back(v.at, k);
      std::sort(by_age.begin(), by_age.end());
      std::size_t drop = buckets.size() - settings_.max_entries + settings_.max_entries / 10;
      for (std::size_t i = 0; i < drop && i < by_age.size(); ++i) buckets.erase(by_age[i].second);
    }
  }
  return std::chrono::seconds{0};
}

std::chrono::seconds RateLimiter::take_message_from_ip(const asio::ip::address& ip, Clock::time_point now) {
  return take("m/" + net::network_key(ip, 32, 64), settings_.per_ip.messages_per_minute, now);
}
std::chrono::seconds RateLimiter::take_recipient_from_ip(const asio::ip::address& ip, Clock::time_point now) {
  return take("r/" + net::network_key(ip, 32, 64), settings_.per_ip.recipients_per_minute, now);
}
std::chrono::seconds RateLimiter::take_message_from_user(std::string_view login, Clock::time_point now) {
  return take("M/" + std::string(login), settings_.per_user.messages_per_minute, now);
}
std::chrono::seconds RateLimiter::take_recipient_from_user(std::string_view login, Clock::time_point now) {
  return take("R/" + std::string(login), settings_.per_user.recipients_per_minute, now);
}

}  // namespace tern::smtp
