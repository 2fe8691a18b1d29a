// The listener roles Tern itself implements. Each module's service is added here as it lands.
#include "tern/server/service_registry.hpp"
#include "tern/auth/sasl_server.hpp"
#include "tern/imap/imap_service.hpp"
#include "tern/smtp/smtp_service.hpp"

namespace tern {

void register_builtin_services(ServiceRegistry& registry) {
  for (const char* name : {"smtp", "submission", "submissions", "lmtp"}) {
    registry.add(name, [](ServiceEnvironment& env, const ListenConfig& listen) -> Result<std::shared_ptr<net::Service>> {
      smtp::SmtpServiceDeps deps;
      // [smtp] hostname overrides [server] hostname for greetings, EHLO and Received (engine default: "localhost").
      deps.hostname = env.config.smtp.protocol.hostname != smtp::ServerConfig{}.hostname ? env.config.smtp.protocol.hostname
                                                                                         : env.config.hostname;
      deps.settings = env.config.smtp;
      deps.internal_networks = env.config.internal_networks;
      deps.tls = env.tls;
      deps.workers = &env.workers;
      deps.directory = &env.directory;
      deps.authenticator = &env.authenticator;
      deps.throttle = &env.auth_throttle;
      deps.scram = auth::scram_usable(env.config.auth.password_scheme);
      deps.sink = env.message_sink;
      deps.hooks = env.smtp_hooks;
      deps.rate_limiter = env.smtp_rate_limiter;
      deps.greylist = env.smtp_greylist;
      deps.srs = env.srs;
      deps.srs_domain = env.config.srs.domain;
      return std::make_shared<smtp::SmtpService>(*smtp::parse_role(listen.service), std::move(deps));
    });
  }
  for (const char* name : {"imap", "imaps"}) {
    registry.add(name, [](ServiceEnvironment& env, const ListenConfig& listen) -> Result<std::shared_ptr<net::Service>> {
      imap::ImapServiceDeps deps;
      deps.hostname = env.config.hostname;
      deps.settings = env.config.imap;
      deps.internal_networks = env.config.internal_networks;
      deps.tls = env.tls;
      deps.workers = &env.workers;
      deps.directory = &env.directory;
      deps.authenticator = &env.authenticator;
      deps.throttle = &env.auth_throttle;
      deps.scram = auth::scram_usable(env.config.auth.password_scheme);
      deps.store = env.mail_store;
      if (!deps.store) return fail(ErrorCategory::config, "the imap listener needs a mail store");
      return std::make_shared<imap::ImapService>(listen.service == "imaps", std::move(deps));
    });
  }
}

}  // namespace tern
