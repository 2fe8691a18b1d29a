#include "tern/server/server.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/redirect_error.hpp>

#include "tern/core/thread_name.hpp"
#include "tern/directory/directory_config.hpp"
#include "tern/net/connection_limiter.hpp"
#include "tern/server/store_sink.hpp"
#include "tern/store/maildir_store.hpp"
#include "tern/net/io_pool.hpp"
#include "tern/net/listener.hpp"
#include "tern/net/worker_pool.hpp"
#include "tern/queue/no_route_transport.hpp"
#include "tern/dns/unbound_resolver.hpp"
#include "tern/queue/smtp_transport.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern {

struct Server::Impl {
  ServerConfig config;
  ServerOptions options;
  // The outbound queue outlives the contexts and the pool that run its deliveries (declared first).
  std::unique_ptr<dns::UnboundResolver> resolver;  // used by the SmtpTransport below (declared before it)
  queue::SmtpTransport* smtp_transport = nullptr;  // `transport` when delivery is configured
  std::shared_ptr<queue::Transport> transport;
  std::unique_ptr<queue::Queue> queue;
  // Declared before `control`: the control context (accept loops) holds operations whose sockets belong
  // to the I/O contexts, so it must be destroyed first.
  std::unique_ptr<net::WorkerPool> workers;
  std::unique_ptr<net::IoContextPool> io;
  asio::io_context control{1};  // accept loops, signals, shutdown sequencing
  std::shared_ptr<net::ConnectionLimiter> limiter;
  net::ConnectionRegistry registry;
  std::shared_ptr<directory::Directory> directory;
  std::shared_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<auth::AuthThrottle> auth_throttle;
  std::unique_ptr<smtp::RateLimiter> smtp_rate_limiter;
  std::unique_ptr<mailauth::DkimKeyring> dkim;
  std::unique_ptr<mailauth::DisclaimerStore> disclaimers;
  std::shared_ptr<const mailauth::SrsCodec> srs;  // when [srs] enabled and mail is accepted
  std::unique_ptr<smtp::Greylist> smtp_greylist;
  std::shared_ptr<smtp::MessageSink> message_sink;
  std::shared_ptr<store::MailStore> mail_store;
  std::vector<std::shared_ptr<net::Listener>> listeners;
  std::unique_ptr<asio::signal_set> signals;
  std::thread control_thread;

  mutable std::mutex tls_mutex;
  std::shared_ptr<net::TlsContextSet> tls;

  std::mutex state_mutex;
  std::condition_variable state_cv;
  bool started = false;
  bool stopping = false;
  bool stopped = false;

  std::filesystem::path greylist_file() const { return config.data_dir / "greylist.state"; }
  void save_greylist() {
    if (!smtp_greylist || !config.smtp.greylist.enabled) return;
    if (auto st = smtp_greylist->save(greylist_file(), smtp::Greylist::Clock::now(), std::chrono::system_clock::now()); !st)
      log::warn("greylist.save_failed", {{"file", greylist_file().string()}, {"error", st.error().message}});
  }
  asio::awaitable<void> save_greylist_periodically() {
    asio::steady_timer timer(control);
    for (;;) {
      timer.expires_after(std::chrono::minutes(5));
      asio::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      save_greylist();
    }
  }

  // Queued mail for domains served here (bounces to local senders) goes to the store, not the Transport.
  queue::LocalRoute local_route() {
    queue::LocalRoute route;
    route.is_local = [this](std::string_view domain) {
      if (srs && !config.srs.domain.empty() && domain == config.srs.domain) return true;
      auto snap = directory->snapshot();
      return snap && (*snap)->find_domain(domain) != nullptr;
    };
    route.deliver = [this](const std::string& address_in, std::string_view message) -> queue::RecipientStatus {
      using queue::RecipientOutcome;
      std::string address = address_in;
      auto parts = mime::split_address(address);
      if (srs && parts && mailauth::SrsCodec::is_srs(parts->local)) {
        // A DSN of ours for forwarded mail goes to the SRS sender: undo the rewrite (docs/srs.md) as the SMTP
        // service does for bounces that come back from outside.
        auto reversed = srs->reverse(address, static_cast<std::int64_t>(std::time(nullptr)));
        if (!reversed)
          return {RecipientOutcome::failed, 550, "5.1.1",
                  "<" + address + "> is not a valid bounce address here: " + reversed.error().message, ""};
        address = *reversed;
        std::string domain = mime::address_domain(address);
        auto snap = directory->snapshot();
        if (!snap) return {RecipientOutcome::deferred, 451, "4.3.0", "cannot read the directory", ""};
        if (!(*snap)->find_domain(domain)) {
          // `message` starts with the Return-Path line the queue added: it becomes the envelope again.
          std::string_view body = message;
          std::string return_path;
          if (body.starts_with("Return-Path: <")) {
            auto end = body.find(">\r\n");
            if (end != std::string_view::npos) {
              return_path = std::string(body.substr(14, end - 14));
              body.remove_prefix(end + 3);
            }
          }
          smtp::QueuedEnvelope env;
          env.return_path = return_path;
          env.recipients.push_back({address, "", ""});
          auto id = queue->enqueue(env, body);
          if (!id)
            return {RecipientOutcome::deferred, 451, "4.3.0", "cannot queue it for <" + address + ">: " + id.error().message, ""};
          log::info("queue.srs_reversed", {{"rcpt", address_in}, {"to", address}, {"queue_id", *id}});
          return {RecipientOutcome::delivered, 250, "2.0.0", "sent on to <" + address + "> (SRS), queue id " + *id, ""};
        }
      }
      auto res = directory->resolve(address, std::string_view{});
      if (!res)
        return {RecipientOutcome::deferred, 451, "4.3.0", "cannot look up the recipient: " + res.error().message, ""};
      if (res->status != directory::ResolveStatus::deliver) {
        auto r = res->reply();
        return {r.code >= 500 ? RecipientOutcome::failed : RecipientOutcome::deferred, r.code, r.enhanced, r.text, ""};
      }
      auto mailboxes = res->mailboxes();
      if (mailboxes.empty())
        return {RecipientOutcome::failed, 550, "5.1.1", "<" + address + "> has no local mailbox", ""};
      for (const auto& mbox : mailboxes) {
        auto st = message_sink->deliver_local(smtp::LocalDelivery{mbox, "INBOX", false}, message);
        if (st) continue;
        if (st.error().category == ErrorCategory::limit)
          return {RecipientOutcome::failed, 552, "5.2.2", "mailbox of <" + address + "> is full", ""};
        if (st.error().category == ErrorCategory::not_found)
          return {RecipientOutcome::failed, 550, "5.1.1", "mailbox of <" + address + "> is gone", ""};
        return {RecipientOutcome::deferred, 451, "4.3.0", "local delivery failed: " + st.error().message, ""};
      }
      return {RecipientOutcome::delivered, 250, "2.0.0", "delivered to the local mailbox", ""};
    };
    return route;
  }

  std::shared_ptr<net::TlsContextSet> current_tls() const {
    std::lock_guard lock(tls_mutex);
    return tls;
  }

  void watch_signals() {
    signals->async_wait([this](const asio::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log::info("server.reload", {{"signal", "SIGHUP"}});
        if (config.tls.configured()) {
          auto loaded = net::TlsContextSet::load(config.tls);
          if (!loaded) {
            log::error("tls.reload_failed", {{"error", loaded.error().message}});
          } else {
            std::lock_guard lock(tls_mutex);
            tls = *loaded;
            log::info("tls.reloaded", {{"cert", config.tls.cert.string()}});
          }
        }
        watch_signals();
        return;
      }
      log::info("server.signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      begin_stop(config.limits.shutdown_grace);
    });
  }

  void begin_stop(std::chrono::milliseconds grace) {
    {
      std::lock_guard lock(state_mutex);
      if (stopping || !started) return;
      stopping = true;
    }
    asio::co_spawn(control, shutdown(grace), asio::detached);
  }

  // Stop accepting; ask sessions to finish; after the grace period close what is left.
  asio::awaitable<void> shutdown(std::chrono::milliseconds grace) {
    auto t0 = std::chrono::steady_clock::now();
    log::info("server.draining", {{"connections", registry.size()},
                                  {"grace_ms", static_cast<long long>(grace.count())}});
    for (auto& l : listeners) l->stop();
    registry.post_each([](net::Connection& c) { c.begin_drain(); });
    asio::steady_timer tick(control);
    auto deadline = t0 + grace;
    while (registry.size() > 0 && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(20));
      asio::error_code ec;
      co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::size_t forced = registry.size();
    if (forced > 0) {
      registry.post_each([](net::Connection& c) { c.close(); });
      // Give the sessions a moment to unwind after their sockets closed.
      auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (registry.size() > 0 && std::chrono::steady_clock::now() < hard) {
        tick.expires_after(std::chrono::milliseconds(20));
        asio::error_code ec;
        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    log::info("server.stopped", {{"forced_closes", forced}, {"drain_ms", ms}});
    if (signals) {
      asio::error_code ignored;
      signals->cancel(ignored);
    }
    if (queue) queue->stop();
    save_greylist();
    control.stop();
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  {
    std::lock_guard lock(impl_->state_mutex);
    if (impl_->started && !impl_->stopped) impl_->control.stop();
  }
  if (impl_->control_thread.joinable()) impl_->control_thread.join();
  if (impl_->io) {
    impl_->io->stop();
    impl_->io->join();
  }
  // Idle outbound sessions hold sockets of the I/O contexts: close them while the contexts still exist.
  if (impl_->smtp_transport) impl_->smtp_transport->close_idle();
  // A lookup still running on the resolver's threads (ub_resolve blocks until it answers or gives up)
  // finishes by posting to its I/O context: join those threads now, while the stopped contexts exist.
  impl_->resolver.reset();
  // Jobs posted to the pool after it stopped (a delivery's outcome settling at shutdown) are destroyed
  // with it; each holds a work guard on an I/O context: destroy the pool now, while the contexts exist.
  impl_->workers.reset();
}

Result<std::unique_ptr<Server>> Server::create(ServerConfig config, ServerOptions options) {
  ConfigDiagnostics diag;
  validate_server_config(config, options.services, diag);
  if (!diag.ok()) return fail(diag.to_error());
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->options = std::move(options);
  if (impl->config.tls.configured()) {
    auto tls = net::TlsContextSet::load(impl->config.tls);
    if (!tls) return fail(tls.error());
    impl->tls = *tls;
  }
  impl->directory = impl->options.directory;
  if (!impl->directory) {
    auto dir = directory::open_directory(impl->config.directory, impl->config.data_dir);
    if (!dir) return fail(dir.error());
    impl->directory = std::move(*dir);
  }
  impl->authenticator = impl->options.authenticator;
  if (!impl->authenticator)
    impl->authenticator =
        std::make_shared<auth::DirectoryAuthenticator>(*impl->directory, impl->config.auth.authenticator);
  impl->auth_throttle = std::make_unique<auth::AuthThrottle>(impl->config.auth.throttle);
  impl->smtp_rate_limiter = std::make_unique<smtp::RateLimiter>(impl->config.smtp.rate_limit);
  impl->smtp_greylist = std::make_unique<smtp::Greylist>(impl->config.smtp.greylist);
  if (impl->config.smtp.greylist.enabled) {
    // What senders already proved survives a restart (saved every few minutes and at shutdown).
    auto loaded = impl->smtp_greylist->load(impl->greylist_file(), smtp::Greylist::Clock::now(),
                                            std::chrono::system_clock::now());
    if (loaded) log::info("greylist.loaded", {{"triplets", *loaded}, {"file", impl->greylist_file().string()}});
    else log::warn("greylist.load_failed", {{"file", impl->greylist_file().string()}, {"error", loaded.error().message}});
  }
  // The outbound queue belongs to the process that accepts mail (one owner per spool: tern-imapd running
  // beside tern-smtpd on the same data_dir must not take it).
  bool accepts_mail = std::any_of(impl->config.listen.begin(), impl->config.listen.end(), [](const ListenConfig& l) {
    return l.service == "smtp" || l.service == "submission" || l.service == "submissions" || l.service == "lmtp";
  });
  if (accepts_mail) {
    impl->transport = impl->options.transport;
    if (!impl->transport) {
      // MX delivery, smart hosts and LMTP per [delivery]/[[relay]]/[transport] (docs/delivery.md).
      auto resolver = dns::UnboundResolver::create(impl->config.dns);
      if (!resolver) return fail(resolver.error());
      impl->resolver = std::move(*resolver);
      auto delivery = impl->config.delivery;
      if (delivery.helo_name.empty()) delivery.helo_name = impl->config.hostname;
      auto smtp_transport = std::make_shared<queue::SmtpTransport>(std::move(delivery), *impl->resolver);
      impl->smtp_transport = smtp_transport.get();
      impl->transport = std::move(smtp_transport);
    }
    if (!impl->transport) impl->transport = std::make_shared<queue::NoRouteTransport>();
    auto spool = impl->config.queue.spool_dir.empty() ? impl->config.data_dir / "queue" : impl->config.queue.spool_dir;
    impl->queue = std::make_unique<queue::Queue>(impl->config.queue, spool, impl->config.hostname, *impl->transport);
    if (auto st = impl->queue->open(); !st) return fail(st.error());
    if (impl->config.srs.enabled) {
      // docs/srs.md: the secret file is created on first start (like postsrsd); every line verifies.
      auto& file = impl->config.srs.secret_file;
      if (file.empty()) file = impl->config.data_dir / "srs.secret";  // a ServerConfig built in code
      auto secrets = mailauth::load_srs_secrets(file, true);
      if (!secrets) return fail(ErrorCategory::config, "[srs] secret_file: " + secrets.error().message);
      impl->srs = std::make_shared<const mailauth::SrsCodec>(std::move(*secrets), impl->config.srs.hash_length,
                                                             impl->config.srs.max_age_days);
    }
  }
  impl->mail_store = impl->options.mail_store;
  if (!impl->mail_store) impl->mail_store = std::make_shared<store::MaildirStore>(impl->config.data_dir);
  impl->message_sink = impl->options.message_sink;
  if (!impl->message_sink) {
    impl->dkim = std::make_unique<mailauth::DkimKeyring>(impl->config.dkim);
    auto sink = std::make_shared<StoreSink>(impl->mail_store,
                                            *impl->directory, impl->queue.get());
    sink->set_dkim(impl->dkim.get());
    auto disclaimer_config = impl->config.disclaimer;
    if (disclaimer_config.dir.empty()) disclaimer_config.dir = impl->config.data_dir / "disclaimer";  // built in code
    impl->disclaimers = std::make_unique<mailauth::DisclaimerStore>(std::move(disclaimer_config));
    sink->set_disclaimers(impl->disclaimers.get());
    impl->message_sink = std::move(sink);
  }
  if (impl->queue) impl->queue->set_local_route(impl->local_route());
  std::size_t threads = impl->config.io_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  impl->io = std::make_unique<net::IoContextPool>(threads);
  impl->workers = std::make_unique<net::WorkerPool>(impl->config.worker_threads);
  impl->limiter = std::make_shared<net::ConnectionLimiter>(
      net::ConnectionLimiter::Limits{impl->config.limits.max_connections, impl->config.limits.max_connections_per_ip});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::start() {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.state_mutex);
    if (d.started) return fail(ErrorCategory::invalid_argument, "server already started");
  }
  net::TlsProvider tls = [&d] { return d.current_tls(); };
  ServiceEnvironment env{d.config,        *d.workers,         tls, *d.directory, *d.authenticator, *d.auth_throttle,
                         d.options.smtp_hooks, d.message_sink};
  env.smtp_rate_limiter = d.smtp_rate_limiter.get();
  env.smtp_greylist = d.smtp_greylist.get();
  env.srs = d.srs;
  env.mail_store = d.mail_store;
  net::ConnectionTimeouts timeouts;
  timeouts.idle = d.config.limits.idle_timeout;
  timeouts.transfer = d.config.limits.transfer_timeout;
  timeouts.handshake = d.config.limits.handshake_timeout;
  timeouts.write = d.config.limits.transfer_timeout;
  std::vector<std::shared_ptr<net::Listener>> listeners;
  for (const auto& l : d.config.listen) {
    auto service = d.options.services.create(env, l);
    if (!service) return fail(service.error());
    auto listener = std::make_shared<net::Listener>(d.control, *d.io, *service,
                                                    net::ListenerOptions{l.address, l.proxy_protocol, timeouts},
                                                    d.limiter, tls, d.registry);
    if (auto st = listener->open(); !st) return st;
    listeners.push_back(std::move(listener));
  }
  d.listeners = std::move(listeners);
  if (d.options.handle_signals) {
    d.signals = std::make_unique<asio::signal_set>(d.control, SIGTERM, SIGINT, SIGHUP);
    d.watch_signals();
  }
  for (auto& l : d.listeners) {
    l->start();
    log::info("listener.started", {{"service", l->service().name()}, {"address", l->bound().to_string()},
                                   {"tls", l->service().implicit_tls() ? "implicit" : "starttls"}});
  }
  if (d.config.smtp.greylist.enabled) asio::co_spawn(d.control, d.save_greylist_periodically(), asio::detached);
  if (d.queue) {
    d.queue->set_workers(d.workers.get());
    asio::co_spawn(d.io->at(0), d.queue->run(), asio::detached);
  }
  d.io->start();
  {
    std::lock_guard lock(d.state_mutex);
    d.started = true;
  }
  d.control_thread = std::thread([&d] {
    set_thread_name("tern-control");
    d.control.run();
    // Sessions are done (or were closed): stop the I/O threads and the worker pool.
    d.io->release_work();
    d.io->stop();
    d.io->join();
    d.workers->stop();
    std::lock_guard lock(d.state_mutex);
    d.stopped = true;
    d.state_cv.notify_all();
  });
  return {};
}

void Server::wait() {
  std::unique_lock lock(impl_->state_mutex);
  impl_->state_cv.wait(lock, [&] { return impl_->stopped || !impl_->started; });
}

void Server::stop(std::chrono::milliseconds grace) { impl_->begin_stop(grace); }
void Server::stop() { impl_->begin_stop(impl_->config.limits.shutdown_grace); }

Status Server::reload_tls() {
  if (!impl_->config.tls.configured()) return fail(ErrorCategory::config, "no TLS certificate is configured");
  auto loaded = net::TlsContextSet::load(impl_->config.tls);
  if (!loaded) return fail(loaded.error());
  std::lock_guard lock(impl_->tls_mutex);
  impl_->tls = *loaded;
  return {};
}

std::vector<BoundListener> Server::listeners() const {
  std::vector<BoundListener> out;
  for (const auto& l : impl_->listeners) out.push_back(BoundListener{std::string(l->service().name()), l->bound()});
  return out;
}

const ServerConfig& Server::config() const noexcept { return impl_->config; }
std::size_t Server::connection_count() const { return impl_->registry.size(); }
queue::Queue* Server::queue() { return impl_->queue.get(); }

}  // namespace tern
