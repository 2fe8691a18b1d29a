// tern::Server composes services from a ServerConfig: it owns the io_contexts (one per core), the
// blocking-work pool, the listeners, TLS certificates and the lifecycle (start, reload, graceful stop).
//
//   auto config = tern::load_server_config("tern.toml");
//   auto server = tern::Server::create(*config);
//   (*server)->start();   // listeners bound, threads running
//   (*server)->wait();    // until stop() or, with handle_signals, SIGTERM/SIGINT
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/net/address.hpp"
#include "tern/queue/queue.hpp"
#include "tern/queue/transport.hpp"
#include "tern/server/server_config.hpp"
#include "tern/server/service_registry.hpp"
#include "tern/smtp/hooks.hpp"
#include "tern/smtp/message_sink.hpp"

namespace tern {

struct ServerOptions {
  // SIGTERM/SIGINT: graceful stop; SIGHUP: reload TLS certificates. Daemons turn this on; a host product
  // usually keeps its own signal handling and calls stop()/reload_tls() itself.
  bool handle_signals = false;
  // Roles available to [[listen]] blocks; default: every built-in one.
  ServiceRegistry services = ServiceRegistry::with_builtins();
  // A host's own account source and password checker; default: built from [directory] and [auth].
  std::shared_ptr<directory::Directory> directory;
  std::shared_ptr<auth::Authenticator> authenticator;
  // Hooks on the SMTP message path (connect, helo, auth, mail, rcpt, data, delivered); see smtp/hooks.hpp.
  std::shared_ptr<const smtp::Hooks> smtp_hooks;
  // Where accepted mail goes; default: StoreSink over the MaildirStore in <data_dir>/mail.
  std::shared_ptr<smtp::MessageSink> message_sink;
  // Where mail lives (IMAP reads it, the default sink delivers into it); default: MaildirStore in
  // <data_dir>/mail. A host with its own message_sink should pass the store that sink writes to.
  std::shared_ptr<store::MailStore> mail_store;
  // How queued mail leaves (MX, smart host, LMTP); default: queue::NoRouteTransport (everything stays
  // deferred with "no route" until delivery is configured). The outbound queue is built over [queue]
  // spool_dir (default <data_dir>/queue) when a listener accepts mail.
  std::shared_ptr<queue::Transport> transport;
};

struct BoundListener {
  std::string service;
  net::ListenAddress address;  // the actual port when the config said :0
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> create(ServerConfig config, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener and starts the threads. Fails (and binds nothing) if any listener cannot bind.
  Status start();
  // Blocks until the server has stopped.
  void wait();
  // Graceful stop: stop accepting, let sessions finish their transaction up to `grace`, then close the rest.
  // Returns at once; wait() returns when it is done. Safe to call from any thread, more than once.
  void stop(std::chrono::milliseconds grace);
  void stop();  // with the configured limits.shutdown_grace
  // Reloads the TLS certificates: new connections use the new ones, existing ones keep theirs.
  Status reload_tls();

  std::vector<BoundListener> listeners() const;
  const ServerConfig& config() const noexcept;
  std::size_t connection_count() const;
  // The outbound queue (for hosts that bring their own MessageSink, and for tools); nullptr when no
  // listener accepts mail (smtp, submission, submissions, lmtp), e.g. in tern-imapd.
  queue::Queue* queue();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern
