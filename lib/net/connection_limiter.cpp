#include "tern/net/connection_limiter.hpp"

#include "tern/net/address.hpp"

namespace tern::net {

std::unique_ptr<ConnectionLimiter::Ticket> ConnectionLimiter::try_acquire(const asio::ip::address& address,
                                                                         Refusal& why) {
  std::string key = canonical(address).to_string();
  std::lock_guard lock(mutex_);
  if (total_ >= limits_.max_total) { why = Refusal::total; return nullptr; }
  auto& n = per_ip_[key];
  if (n >= limits_.max_per_ip) {
    if (n == 0) per_ip_.erase(key);
    why = Refusal::per_ip;
    return nullptr;
  }
  ++n;
  ++total_;
  why = Refusal::none;
  return std::make_unique<Ticket>(shared_from_this(), std::move(key));
}

void ConnectionLimiter::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  --total_;
  auto it = per_ip_.find(key);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

std::size_t ConnectionLimiter::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t ConnectionLimiter::count(const asio::ip::address& address) const {
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(canonical(address).to_string());
  return it == per_ip_.end() ? 0 : it->second;
}

void ConnectionLimiter::set_limits(Limits limits) {
  std::lock_guard lock(mutex_);
  limits_ = limits;
}

}  // namespace tern::net
