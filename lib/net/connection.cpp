#include "tern/net/connection.hpp"

#include <openssl/ssl.h>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "tern/net/address.hpp"

namespace tern::net {

Connection::Connection(asio::ip::tcp::socket socket, std::string service, ConnectionTimeouts timeouts)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), service_(std::move(service)), timeouts_(timeouts) {
  asio::error_code ec;
  auto r = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_address_ = canonical(r.address());
    remote_port_ = r.port();
  }
  auto l = socket_.local_endpoint(ec);
  if (!ec) {
    local_address_ = canonical(l.address());
    local_port_ = l.port();
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

Connection::~Connection() = default;

void Connection::set_proxied_addresses(const asio::ip::address& remote, std::uint16_t remote_port,
                                       const asio::ip::address& local, std::uint16_t local_port) {
  remote_address_ = canonical(remote);
  remote_port_ = remote_port;
  local_address_ = canonical(local);
  local_port_ = local_port;
}

// A timer that closes the socket when an operation takes too long: the pending operation then fails
// and the caller sees ETIMEDOUT.
void Connection::arm(std::chrono::milliseconds t) {
  timed_out_ = false;
  timer_.expires_after(t);
  timer_.async_wait([self = weak_from_this()](const asio::error_code& ec) {
    if (ec) return;
    if (auto c = self.lock()) {
      c->timed_out_ = true;
      asio::error_code ignored;
      c->socket_.cancel(ignored);
    }
  });
}

void Connection::disarm() { timer_.cancel(); }

void Connection::begin_drain() {
  draining_ = true;
  if (idle_read_pending_) {
    asio::error_code ignored;
    socket_.cancel(ignored);
  }
}

void Connection::interrupt_idle_read() {
  if (idle_read_pending_) {
    interrupted_ = true;
    asio::error_code ignored;
    socket_.cancel(ignored);
  }
}

void Connection::close() noexcept {
  asio::error_code ignored;
  timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

asio::awaitable<Result<std::size_t>> Connection::read_some(std::span<char> buffer, ReadMode mode) {
  if (mode == ReadMode::idle && draining_)
    co_return fail(ErrorCategory::temporary, "server is shutting down", ESHUTDOWN);
  arm(mode == ReadMode::idle ? timeouts_.idle : timeouts_.transfer);
  idle_read_pending_ = mode == ReadMode::idle;
  asio::error_code ec;
  std::size_t n = 0;
  auto buf = asio::buffer(buffer.data(), buffer.size());
  if (tls_) n = co_await tls_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
  else n = co_await socket_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
  idle_read_pending_ = false;
  disarm();
  bool interrupted = std::exchange(interrupted_, false);
  if (!ec) co_return n;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return std::size_t{0};
  if (timed_out_) co_return fail(ErrorCategory::temporary, "timed out waiting for the client", ETIMEDOUT);
  if (ec == asio::error::operation_aborted && draining_ && mode == ReadMode::idle)
    co_return fail(ErrorCategory::temporary, "server is shutting down", ESHUTDOWN);
  if (ec == asio::error::operation_aborted && interrupted)
    co_return fail(ErrorCategory::temporary, "interrupted by a notification", EINTR);
  co_return fail(ErrorCategory::io, ec.message(), ec.value());
}

asio::awaitable<bool> Connection::peer_spoke_within(std::chrono::milliseconds wait) {
  asio::error_code ec;
  if (wait.count() > 0 && !tls_) {
    arm(wait);
    co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
  }
  auto n = socket_.available(ec);
  co_return !ec && n > 0;
}

asio::awaitable<Status> Connection::write(std::string_view data) {
  arm(timeouts_.write);
  asio::error_code ec;
  auto buf = asio::buffer(data.data(), data.size());
  if (tls_) co_await asio::async_write(*tls_, buf, asio::redirect_error(asio::use_awaitable, ec));
  else co_await asio::async_write(socket_, buf, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  if (!ec) co_return Status{};
  if (timed_out_) co_return fail(ErrorCategory::temporary, "timed out writing to the client", ETIMEDOUT);
  co_return fail(ErrorCategory::io, ec.message(), ec.value());
}

asio::awaitable<Status> Connection::start_tls(const std::shared_ptr<TlsContextSet>& contexts) {
  if (tls_) co_return fail(ErrorCategory::protocol, "TLS is already active on this connection");
  tls_contexts_ = contexts;
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, tls_contexts_->server_context());
  arm(timeouts_.handshake);
  asio::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  if (ec) {
    if (timed_out_) co_return fail(ErrorCategory::tls, "TLS handshake timed out", ETIMEDOUT);
    co_return fail(ErrorCategory::tls, "TLS handshake failed: " + ec.message(), ec.value());
  }
  tls_done_ = true;
  co_return Status{};
}

TlsInfo Connection::tls_info() const {
  TlsInfo info;
  if (!tls_active()) return info;
  SSL* ssl = tls_->native_handle();
  info.active = true;
  info.version = SSL_get_version(ssl);
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (c) {
    info.cipher = SSL_CIPHER_get_name(c);
    info.bits = SSL_CIPHER_get_bits(c, nullptr);
  }
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.server_name = sni;
  return info;
}

}  // namespace tern::net

namespace tern::net {

std::string Connection::tls_exporter_binding() const {
  if (!tls_active()) return {};
  SSL* ssl = tls_->native_handle();
  if (SSL_version(ssl) != TLS1_3_VERSION) return {};
  std::string out(32, '\0');
  static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
  if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(), kLabel,
                                 sizeof kLabel - 1, nullptr, 0, 0) != 1)
    return {};
  return out;
}

}  // namespace tern::net
