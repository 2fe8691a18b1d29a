// Per-IP and global connection limits. A Ticket holds one slot until it is destroyed.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <asio/ip/address.hpp>

namespace tern::net {

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  struct Limits {
    std::size_t max_total = 2000;
    std::size_t max_per_ip = 50;
  };
  enum class Refusal { none, total, per_ip };

  class Ticket {
   public:
    Ticket(std::shared_ptr<ConnectionLimiter> owner, std::string key) : owner_(std::move(owner)), key_(std::move(key)) {}
    ~Ticket() { if (owner_) owner_->release(key_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    std::shared_ptr<ConnectionLimiter> owner_;
    std::string key_;
  };

  explicit ConnectionLimiter(Limits limits) : limits_(limits) {}
  // A slot for `address`, or the reason there is none.
  std::unique_ptr<Ticket> try_acquire(const asio::ip::address& address, Refusal& why);
  std::size_t total() const;
  std::size_t count(const asio::ip::address& address) const;
  void set_limits(Limits limits);

 private:
  void release(const std::string& key);
  mutable std::mutex mutex_;
  Limits limits_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_ip_;
};

}  // namespace tern::net
