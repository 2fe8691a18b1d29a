// One accepted client connection: plain TCP that may become TLS (implicit, or in-protocol STARTTLS).
// A protocol session is a coroutine that reads bytes, feeds its sans-I/O engine and writes the output.
// All calls must be made on the connection's executor (one io_context; connections never migrate).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include "tern/core/log.hpp"
#include "tern/core/result.hpp"
#include "tern/net/tls.hpp"

namespace tern::net {

struct TlsInfo {
  bool active = false;
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
  std::string server_name;  // SNI the client sent, if any
};

struct ConnectionTimeouts {
  std::chrono::milliseconds idle{std::chrono::minutes(5)};         // waiting for the next command
  std::chrono::milliseconds transfer{std::chrono::minutes(10)};    // mid-transaction reads (RFC 5321 §4.5.3.2.5)
  std::chrono::milliseconds handshake{std::chrono::seconds(30)};   // TLS handshake
  std::chrono::milliseconds write{std::chrono::minutes(5)};
};

// Why a read may stop: idle reads are interrupted when the server drains (graceful shutdown);
// transfer reads (inside a transaction or literal) are left to finish.
enum class ReadMode { idle, transfer };

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, std::string service, ConnectionTimeouts timeouts);
  ~Connection();

  // Reads at least one byte. 0 means the peer closed the connection. Errors: temporary/ETIMEDOUT on a
  // timeout, temporary/ESHUTDOWN when the server is draining (idle reads only), io otherwise.
  asio::awaitable<Result<std::size_t>> read_some(std::span<char> buffer, ReadMode mode = ReadMode::idle);
  // Writes everything or fails.
  asio::awaitable<Status> write(std::string_view data);
  // Whether the peer sends anything within `wait` (0: whether bytes are already waiting), without
  // consuming them. For pregreet tests: a client must wait for the server's greeting.
  asio::awaitable<bool> peer_spoke_within(std::chrono::milliseconds wait);
  // Server-side TLS handshake on this connection (implicit TLS or after STARTTLS was accepted).
  asio::awaitable<Status> start_tls(const std::shared_ptr<TlsContextSet>& contexts);

  bool tls_active() const noexcept { return tls_ != nullptr && tls_done_; }
  TlsInfo tls_info() const;
  // RFC 9266 tls-exporter channel binding (TLS 1.3 only; empty otherwise), for SCRAM-*-PLUS.
  std::string tls_exporter_binding() const;
  // True once the server began a graceful shutdown: finish the current transaction, then say goodbye.
  bool draining() const noexcept { return draining_; }
  // Called on this connection's executor by the server when draining starts.
  void begin_drain();
  // Wakes a pending idle read_some, which then fails with temporary/EINTR (IMAP IDLE: a change to
  // announce). Call on the connection's executor; does nothing when no idle read is pending.
  void interrupt_idle_read();
  // Closes the socket now; pending operations complete with errors.
  void close() noexcept;

  const std::string& service() const noexcept { return service_; }
  const asio::ip::address& remote_address() const noexcept { return remote_address_; }
  std::uint16_t remote_port() const noexcept { return remote_port_; }
  const asio::ip::address& local_address() const noexcept { return local_address_; }
  std::uint16_t local_port() const noexcept { return local_port_; }
  // Replace the peer's addresses with those a PROXY protocol header carried.
  void set_proxied_addresses(const asio::ip::address& remote, std::uint16_t remote_port,
                             const asio::ip::address& local, std::uint16_t local_port);
  const log::SessionLog& log() const noexcept { return log_; }
  asio::ip::tcp::socket& socket() noexcept { return socket_; }
  asio::any_io_executor executor() { return socket_.get_executor(); }
  ConnectionTimeouts& timeouts() noexcept { return timeouts_; }

 private:
  void arm(std::chrono::milliseconds t);
  void disarm();

  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::shared_ptr<TlsContextSet> tls_contexts_;  // keeps SNI contexts alive for this connection
  bool tls_done_ = false;
  asio::steady_timer timer_;
  bool timed_out_ = false;
  bool draining_ = false;
  bool idle_read_pending_ = false;
  bool interrupted_ = false;
  std::string service_;
  ConnectionTimeouts timeouts_;
  asio::ip::address remote_address_, local_address_;
  std::uint16_t remote_port_ = 0, local_port_ = 0;
  log::SessionLog log_;
};

}  // namespace tern::net
