// Which listener roles a server can run, and how to build each from the configuration.
// The built-in roles (SMTP, submission, LMTP, IMAP, ...) register themselves here as they exist;
// a host product adds its own with add() before Server::start().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tern/auth/auth_throttle.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/core/result.hpp"
#include "tern/directory/directory.hpp"
#include "tern/net/listener.hpp"
#include "tern/net/service.hpp"
#include "tern/net/worker_pool.hpp"
#include "tern/server/server_config.hpp"
#include "tern/smtp/hooks.hpp"
#include "tern/smtp/message_sink.hpp"
#include "tern/store/mail_store.hpp"

namespace tern {

// Server-wide parts a service may use; owned by the Server and alive while it runs.
struct ServiceEnvironment {
  const ServerConfig& config;
  net::WorkerPool& workers;
  net::TlsProvider tls;  // the current certificates (changes on reload); nullptr result if TLS is not configured
  directory::Directory& directory;        // BLOCKING calls: run them on `workers`
  auth::Authenticator& authenticator;     // BLOCKING calls: run them on `workers`
  auth::AuthThrottle& auth_throttle;      // failed-login delays and lockouts, shared by every protocol
  std::shared_ptr<const smtp::Hooks> smtp_hooks;  // may be null
  std::shared_ptr<smtp::MessageSink> message_sink;
  std::shared_ptr<store::MailStore> mail_store;    // where IMAP (and POP3) read mail
  smtp::RateLimiter* smtp_rate_limiter = nullptr;  // shared by every SMTP listener; may be null
  smtp::Greylist* smtp_greylist = nullptr;         // shared by every SMTP listener; may be null
  std::shared_ptr<const mailauth::SrsCodec> srs;   // [srs] with its secrets loaded; null: no SRS
};

using ServiceFactory =
    std::function<Result<std::shared_ptr<net::Service>>(ServiceEnvironment& env, const ListenConfig& listen)>;

class ServiceRegistry {
 public:
  // A registry holding every built-in role of this build.
  static ServiceRegistry with_builtins();

  void add(std::string name, ServiceFactory factory) { factories_[std::move(name)] = std::move(factory); }
  bool has(std::string_view name) const { return factories_.find(std::string(name)) != factories_.end(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, f] : factories_) out.push_back(n);
    return out;
  }
  Result<std::shared_ptr<net::Service>> create(ServiceEnvironment& env, const ListenConfig& listen) const;

 private:
  std::map<std::string, ServiceFactory> factories_;
};

// Adds the roles implemented by Tern's own modules (defined in lib/server/builtin_services.cpp).
void register_builtin_services(ServiceRegistry& registry);

}  // namespace tern
