// What runs on an accepted connection: SMTP, IMAP, ... or a host product's own protocol.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "tern/net/connection.hpp"

namespace tern::net {

enum class RefusalReason {
  too_many_connections,          // the global limit is reached
  too_many_connections_from_ip,  // this client's address has too many open
  shutting_down,
};

class Service {
 public:
  virtual ~Service() = default;
  // The config name of the listener role ("smtp", "submissions", "imap", ...).
  virtual std::string_view name() const = 0;
  // True for roles that start TLS at once (submissions, imaps, pop3s).
  virtual bool implicit_tls() const = 0;
  // Runs the protocol on one connection until it ends; called on the connection's executor.
  virtual asio::awaitable<void> serve(std::shared_ptr<Connection> connection) = 0;
  // What to say before closing a connection that is refused, e.g. "421 4.7.0 Too many connections\r\n".
  virtual std::string refusal(RefusalReason why) const = 0;
};

}  // namespace tern::net
