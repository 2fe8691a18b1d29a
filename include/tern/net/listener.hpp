// A TCP listener for one service: accepts, applies connection limits and the PROXY protocol, does the
// implicit-TLS handshake where the service wants it, then runs the service's session coroutine.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "tern/net/address.hpp"
#include "tern/net/connection.hpp"
#include "tern/net/connection_limiter.hpp"
#include "tern/net/io_pool.hpp"
#include "tern/net/service.hpp"
#include "tern/net/tls.hpp"

namespace tern::net {

// Every live connection of a server, so a graceful shutdown can drain and then close them.
class ConnectionRegistry {
 public:
  std::uint64_t add(const std::shared_ptr<Connection>& c);
  void remove(std::uint64_t id);
  std::size_t size() const;
  // Posts fn(connection) to each live connection's own executor.
  void post_each(const std::function<void(Connection&)>& fn) const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> live_;
};

struct ListenerOptions {
  ListenAddress address;
  bool proxy_protocol = false;  // expect a HAProxy PROXY v1/v2 header first
  ConnectionTimeouts timeouts;
};

using TlsProvider = std::function<std::shared_ptr<TlsContextSet>()>;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& accept_context, IoContextPool& pool, std::shared_ptr<Service> service,
           ListenerOptions options, std::shared_ptr<ConnectionLimiter> limiter, TlsProvider tls,
           ConnectionRegistry& registry);
  // Binds and listens (IPv6 listeners are v6-only so IPv4 and IPv6 can be listed separately).
  Status open();
  void start();  // begin accepting
  void stop();   // close the acceptor; live connections continue
  ListenAddress bound() const { return bound_; }
  const Service& service() const noexcept { return *service_; }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> run_connection(std::shared_ptr<Connection> c);
  asio::awaitable<bool> read_proxy_header(Connection& c);

  asio::io_context& accept_context_;
  IoContextPool& pool_;
  std::shared_ptr<Service> service_;
  ListenerOptions options_;
  std::shared_ptr<ConnectionLimiter> limiter_;
  TlsProvider tls_;
  ConnectionRegistry& registry_;
  asio::ip::tcp::acceptor acceptor_;
  ListenAddress bound_;
};

}  // namespace tern::net
