#include "tern/net/listener.hpp"

#include <chrono>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "tern/net/proxy_protocol.hpp"

namespace tern::net {

std::uint64_t ConnectionRegistry::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mutex_);
  auto id = next_++;
  live_.emplace(id, c);
  return id;
}

void ConnectionRegistry::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  live_.erase(id);
}

std::size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

void ConnectionRegistry::post_each(const std::function<void(Connection&)>& fn) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, weak] : live_) {
    if (auto c = weak.lock()) asio::post(c->executor(), [c, fn] { fn(*c); });
  }
}

Listener::Listener(asio::io_context& accept_context, IoContextPool& pool, std::shared_ptr<Service> service,
                   ListenerOptions options, std::shared_ptr<ConnectionLimiter> limiter, TlsProvider tls,
                   ConnectionRegistry& registry)
    : accept_context_(accept_context),
      pool_(pool),
      service_(std::move(service)),
      options_(std::move(options)),
      limiter_(std::move(limiter)),
      tls_(std::move(tls)),
      registry_(registry),
      acceptor_(accept_context) {}

Status Listener::open() {
  asio::ip::tcp::endpoint ep(options_.address.address, options_.address.port);
  asio::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec && ep.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(ErrorCategory::io,
                fmt::format("cannot listen on {} for {}: {}", options_.address.to_string(), service_->name(), ec.message()),
                ec.value());
  auto local = acceptor_.local_endpoint(ec);
  bound_ = ListenAddress{local.address(), local.port()};
  return {};
}

void Listener::start() {
  asio::co_spawn(accept_context_, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
}

void Listener::stop() {
  asio::post(accept_context_, [self = shared_from_this()] {
    asio::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

asio::awaitable<void> Listener::accept_loop() {
  for (;;) {
    asio::error_code ec;
    auto& ctx = pool_.next();
    asio::ip::tcp::socket socket = co_await acceptor_.async_accept(ctx, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      // EMFILE and friends: log, pause briefly so a full fd table does not spin the loop.
      log::warn("listener.accept_failed", {{"service", service_->name()}, {"error", ec.message()}});
      asio::steady_timer pause(accept_context_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(socket), std::string(service_->name()), options_.timeouts);
    asio::co_spawn(ctx, [self = shared_from_this(), conn] { return self->run_connection(conn); }, asio::detached);
  }
}

// Reads the PROXY header by peeking, then consumes exactly its length, so nothing of the protocol after it
// (a TLS ClientHello, a pipelined command) is swallowed.
asio::awaitable<bool> Listener::read_proxy_header(Connection& c) {
  auto& sock = c.socket();
  std::string buf(kMaxProxyHeader, '\0');
  std::size_t seen = 0;
  auto deadline = std::chrono::steady_clock::now() + c.timeouts().handshake;
  for (;;) {
    asio::error_code ec;
    asio::steady_timer guard(sock.get_executor());
    guard.expires_at(deadline);
    guard.async_wait([&sock](const asio::error_code& e) {
      if (!e) { asio::error_code i; sock.cancel(i); }
    });
    co_await sock.async_wait(asio::socket_base::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    guard.cancel();
    if (ec) co_return false;
    std::size_t n = sock.receive(asio::buffer(buf), asio::socket_base::message_peek, ec);
    if (ec || n == 0) co_return false;
    auto parsed = parse_proxy_header(std::string_view(buf.data(), n));
    if (parsed.status == ProxyParse::invalid) {
      c.log().warn("proxy.invalid_header", {{"service", c.service()}, {"error", parsed.error}});
      co_return false;
    }
    if (parsed.status == ProxyParse::done) {
      std::string sink(parsed.consumed, '\0');
      asio::read(sock, asio::buffer(sink), ec);
      if (ec) co_return false;
      if (!parsed.header.local)
        c.set_proxied_addresses(parsed.header.source, parsed.header.source_port, parsed.header.destination,
                                parsed.header.destination_port);
      co_return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    if (n == seen) {  // readable but no new bytes yet: wait a little instead of spinning
      asio::steady_timer pause(sock.get_executor(), std::chrono::milliseconds(5));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    seen = n;
  }
}

asio::awaitable<void> Listener::run_connection(std::shared_ptr<Connection> c) {
  auto started = std::chrono::steady_clock::now();
  auto id = registry_.add(c);
  const auto& log = c->log();
  if (options_.proxy_protocol && !co_await read_proxy_header(*c)) {
    c->close();
    registry_.remove(id);
    co_return;
  }
  auto remote = format_endpoint(c->remote_address(), c->remote_port());
  log.info("connection.open", {{"service", c->service()}, {"remote", remote},
                               {"local", format_endpoint(c->local_address(), c->local_port())}});
  ConnectionLimiter::Refusal why{};
  auto ticket = limiter_->try_acquire(c->remote_address(), why);
  bool tls_ok = true;
  if (service_->implicit_tls()) {
    auto tls = tls_ ? tls_() : nullptr;
    if (!tls) {
      log.error("tls.unavailable", {{"service", c->service()}});
      tls_ok = false;
    } else if (auto st = co_await c->start_tls(std::move(tls)); !st) {
      log.info("tls.handshake_failed", {{"service", c->service()}, {"remote", remote}, {"error", st.error().message}});
      tls_ok = false;
    } else {
      auto info = c->tls_info();
      log.info("tls.established", {{"version", info.version}, {"cipher", info.cipher}, {"sni", info.server_name}});
    }
  }
  if (tls_ok && !ticket) {
    auto reason = why == ConnectionLimiter::Refusal::per_ip ? RefusalReason::too_many_connections_from_ip
                                                            : RefusalReason::too_many_connections;
    log.warn("connection.refused", {{"service", c->service()}, {"remote", remote},
                                    {"reason", reason == RefusalReason::too_many_connections_from_ip
                                                   ? "too many connections from this address"
                                                   : "too many connections"}});
    auto text = service_->refusal(reason);
    if (!text.empty()) co_await c->write(text);
  } else if (tls_ok) {
    co_await service_->serve(c);
  }
  c->close();
  registry_.remove(id);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  log.info("connection.closed", {{"service", c->service()}, {"remote", remote}, {"duration_ms", ms}});
}

}  // namespace tern::net
